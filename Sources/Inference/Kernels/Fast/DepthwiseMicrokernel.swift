// The inner loop of ``FastDepthwiseConv2D``: 16 or 32 channels of one output pixel, its
// window's taps taken two at a time. Every shape computes `bias + Σ_taps x[tap][c] * w[tap][c]`
// in wrapping int32, exactly (every product is an int8 × int8 value, |x·w| ≤ 2^14).
//
// Weights are packed at load per 16-channel block, per tap pair: 32 int16 values, 64 bytes
// (``depthwisePairBytes``), laid out as the architecture's ``accumulateTapPair(_:_:_:_:)``
// wants them (``storeDepthwisePair(_:lane:first:second:)``). An odd last tap is paired with
// a tap of weight 0 whose pointer is any readable 16 bytes.

/// Bytes of one tap pair of a 16-channel block: 32 int16 weights.
let depthwisePairBytes = 64

/// `bias + Σ_pairs` of one 16-channel block starting at `channel`: the two taps of pair `p`
/// read the 16 bytes at address `base + taps[2p] + channel` and `base + taps[2p + 1] + channel`,
/// and `weights` is the block's packed pairs.
///
/// Addresses are integers: interior windows pass their top-left element as `base` and the
/// op's fixed tap offsets; windows across the border pass `base = 0` and absolute addresses
/// (some of them in the zero-point row), so that one kernel serves both without pointer
/// arithmetic across allocations.
@inline(always)
func depthwise16TapPairs(
    base: Int, taps: UnsafePointer<Int>, pairs: Int, channel: Int, weights: UnsafeRawPointer, bias: SIMD16<Int32>
) -> SIMD16<Int32> {
    var acc = bias
    var w = weights
    let start = base &+ channel
    for pair in 0..<pairs {
        accumulateTapPair(&acc, load16(start &+ taps[2 * pair]), load16(start &+ taps[2 * pair + 1]), w)
        w += depthwisePairBytes
    }
    return acc
}

/// ``depthwise16TapPairs(base:taps:pairs:channel:weights:bias:)`` for two blocks at once
/// (starting at `channel0` and `channel1`, packed weights `weightStride` bytes apart), so that
/// each tap offset is loaded once per 32 channels.
@inline(always)
func depthwise32TapPairs(
    base: Int, taps: UnsafePointer<Int>, pairs: Int, channel0: Int, channel1: Int,
    weights: UnsafeRawPointer, weightStride: Int, bias0: SIMD16<Int32>, bias1: SIMD16<Int32>
) -> (SIMD16<Int32>, SIMD16<Int32>) {
    var acc0 = bias0, acc1 = bias1
    let start0 = base &+ channel0, start1 = base &+ channel1
    @inline(always)
    func step(_ pair: Int) {
        let first = taps[2 &* pair], second = taps[2 &* pair &+ 1]
        let w = weights + pair &* depthwisePairBytes
        accumulateTapPair(&acc0, load16(start0 &+ first), load16(start0 &+ second), w)
        accumulateTapPair(&acc1, load16(start1 &+ first), load16(start1 &+ second), w + weightStride)
    }
    // Written out for 3x3 and 5x5 windows: LLVM does not unroll these loops by itself.
    switch pairs {
    case 5:
        step(0); step(1); step(2); step(3); step(4)
    case 13:
        step(0); step(1); step(2); step(3); step(4); step(5); step(6)
        step(7); step(8); step(9); step(10); step(11); step(12)
    default:
        for pair in 0..<pairs { step(pair) }
    }
    return (acc0, acc1)
}

/// The 16 bytes at `address` (never 0: addresses come from live buffers).
@inline(always)
private func load16(_ address: Int) -> SIMD16<Int8> {
    UnsafeRawPointer(bitPattern: address).unsafelyUnwrapped.loadUnaligned(as: SIMD16<Int8>.self)
}

#if arch(arm64)
/// One tap pair of a 16-channel block, NEON shape: per tap, the 16 int8 inputs are widened
/// (`sxtl`) and multiply-accumulated into int32 with the tap's int16 weights (`smlal`/`smlal2`).
/// `weights` holds the 16 weights of the first tap, then the 16 of the second.
@inline(always)
func accumulateTapPair(_ acc: inout SIMD16<Int32>, _ a: SIMD16<Int8>, _ b: SIMD16<Int8>, _ weights: UnsafeRawPointer) {
    let w0 = weights.loadUnaligned(as: SIMD16<Int16>.self), w1 = weights.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self)
    acc &+= widenedToInt32(widenedToInt16(a)) &* widenedToInt32(w0)
    acc &+= widenedToInt32(widenedToInt16(b)) &* widenedToInt32(w1)
}

/// Writes lane `lane` of one packed tap pair: arm64 layout, the 16 first-tap weights, then the 16 second-tap ones.
@inline(always)
func storeDepthwisePair(_ destination: UnsafeMutablePointer<Int16>, lane: Int, first: Int16, second: Int16) {
    destination[lane] = first
    destination[16 + lane] = second
}
#else
/// One tap pair of a 16-channel block, x86 AVX2 shape: the two taps' int8 inputs are
/// interleaved per channel (`vpunpck{l,h}bw`), sign-extended to int16 (`vpmovsxbw`) and
/// multiplied with the interleaved weight pairs by `vpmaddwd`, which adds each channel's two
/// products into its int32 lane: 32 multiply-accumulates in 2 `vpmaddwd`. No saturation: a
/// pair sum is at most 2 · 128 · 128 = 2^15. `weights` holds 16 interleaved (first, second)
/// int16 pairs.
///
/// Written as two separate 8-channel halves: built as one 32-lane vector, LLVM merges the
/// unpacks into cross-lane permutes that cost half as much again.
@inline(always)
func accumulateTapPair(_ acc: inout SIMD16<Int32>, _ a: SIMD16<Int8>, _ b: SIMD16<Int8>, _ weights: UnsafeRawPointer) {
    let low = SIMD16<Int8>(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
    let high = SIMD16<Int8>(a[8], b[8], a[9], b[9], a[10], b[10], a[11], b[11],
                            a[12], b[12], a[13], b[13], a[14], b[14], a[15], b[15])
    acc.lowHalf &+= multipliedPairSums(widenedToInt16(low), weights.loadUnaligned(as: SIMD16<Int16>.self))
    acc.highHalf &+= multipliedPairSums(widenedToInt16(high), weights.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self))
}

/// `x[0] * y[0] + x[1] * y[1], x[2] * y[2] + x[3] * y[3], …`: one `vpmaddwd`.
@inline(always)
private func multipliedPairSums(_ x: SIMD16<Int16>, _ y: SIMD16<Int16>) -> SIMD8<Int32> {
    let p = widenedToInt32(x) &* widenedToInt32(y)
    return SIMD8<Int32>(p[0] &+ p[1], p[2] &+ p[3], p[4] &+ p[5], p[6] &+ p[7],
                        p[8] &+ p[9], p[10] &+ p[11], p[12] &+ p[13], p[14] &+ p[15])
}

/// Writes lane `lane` of one packed tap pair: x86 layout, 16 interleaved (first, second) pairs.
@inline(always)
func storeDepthwisePair(_ destination: UnsafeMutablePointer<Int16>, lane: Int, first: Int16, second: Int16) {
    destination[2 * lane] = first
    destination[2 * lane + 1] = second
}
#endif
