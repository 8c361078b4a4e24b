/// Per-channel requantization for accumulators known at load to stay in a range, in double
/// precision: the same bits as ``ChannelRequantization`` (and the oracle's
/// `multiplyByQuantizedMultiplier` + offset + clamp) in about two thirds of the instructions.
///
/// A depthwise accumulator is a bias plus at most a few dozen int8 × int8 products, so its
/// range `bias ± Σ_taps |w| · 255` is known per channel at load. Each lane is one of:
///
/// - **exact**: `|acc · 2^left| < 2^20` over the range and right shift `s ≤ 20`. Then the
///   64-bit product `p = acc · 2^left · M` has `|p| < 2^51` and every step of the reference
///   rounding is exact in a double. gemmlowp computes `h = floor((p + 2^30) / 2^31)` and then
///   rounds `h / 2^s` half away from zero; as ``ChannelRequantization/wideConstants(rightShift:outputOffset:)``
///   shows, that is one floor, `floor((p + 2^30 + 2^(s+30) - [p + 2^30 < 0] · 2^31) / 2^(31+s))`
///   (for `s = 0` simply `floor((p + 2^30) / 2^31)`). Dividing through by `2^(31+s)`, with
///   `v = acc · (2^left · M / 2^(31+s))` (an integer below 2^20 times a 31-bit significand
///   scaled by a power of two, so exact):
///
///       out = floor(v + 1/2 + 2^-(s+1) - [v < -2^-(s+1)] · 2^-s) + outputOffset
///
///   The floor is done by the rounding of an addition instead: `floor(y)` is `y - 1/2 + δ`
///   rounded to nearest, for `δ = 2^-(32+s)`, half the spacing of the values `y` can take
///   (multiples of `2^-(31+s)`), so that no tie occurs. The sum
///   `v + 2^-(s+1) + δ - [v < -2^-(s+1)] · 2^-s` is a multiple of `2^-(32+s)` below
///   `2^(20-s) + 1 ≤ 2^(21-s)` in magnitude: at most 53 significant bits, so it is exact.
/// - **constant**: the requantized, clamped output is the same at both ends of the range
///   (and the range does not wrap int32). The reference is monotone in `acc` there, so the
///   output is that value for every accumulator of the range: real models have such
///   channels (EfficientNet-Lite0's dead channels: bias 2^30, right shift 25–27).
/// - **uncovered**: neither; the lane's block is left to ``ChannelRequantization``.
///
/// Adding `1.5 · 2^52 + c` (`c` the output offset, or a constant lane's value) rounds the
/// sum to the nearest integer (the spacing of doubles there is 1) and leaves it, plus `c`,
/// in the low 32 bits of the significand; that is narrowed to int8 with saturation and
/// clamped to the activation range.
///
/// Lane order is the caller's: the constants of lane `l` of block `b` are those of
/// `multipliers[16 * b + l]`.
struct BoundedAccumulatorRequantization: @unchecked Sendable {
    // @unchecked: the storage is written only in init.
    /// Per block: 16 scales, 16 addends, 16 thresholds, 16 adjustments, 16 rounding addends
    /// (doubles, lane order).
    private let constants: AlignedStorage
    /// One byte per block: 1 when all its lanes are exact or constant.
    private let coveredBlocks: AlignedStorage
    /// Blocks whose every lane is covered.
    let coveredBlockCount: Int
    let minimum: Int8
    let maximum: Int8

    /// Bytes of one block's constants.
    static let blockBytes = 5 * 16 * 8
    /// Accumulators (after the left shift) of exact lanes stay strictly below this in magnitude.
    static let accumulatorLimit: Int64 = 1 << 20
    /// Largest right shift the double arithmetic is exact for.
    static let maximumRightShift = 20
    /// `1.5 · 2^52`: added to an integer-valued double below 2^31, it leaves the integer in
    /// the low 32 bits of the significand.
    static let magic: Double = 6_755_399_441_055_744

    /// `accumulatorRanges[i]` holds every accumulator lane `i` can see (in exact integers,
    /// before any int32 wrapping); `multipliers.count` must be a multiple of 16.
    init(_ multipliers: [QuantizedMultiplier], accumulatorRanges: [ClosedRange<Int64>], outputOffset: Int32,
         activation: ActivationRange) {
        let blocks = min(multipliers.count, accumulatorRanges.count) / 16
        constants = AlignedStorage(byteCount: blocks * Self.blockBytes)
        coveredBlocks = AlignedStorage(byteCount: blocks)
        var covered = 0
        for block in 0..<blocks {
            let table = constants.pointer(as: Double.self, byteOffset: block * Self.blockBytes)
            var all = true
            for l in 0..<16 {
                let q = multipliers[block * 16 + l], range = accumulatorRanges[block * 16 + l]
                let rightShift = q.shift > 0 ? 0 : -q.shift, leftShift = max(q.shift, 0)
                let largest = max(range.lowerBound.magnitude, range.upperBound.magnitude)
                if rightShift <= Self.maximumRightShift, leftShift < 20, largest < UInt64(Self.accumulatorLimit >> leftShift) {
                    // 2^left · M / 2^(31+s): a 31-bit significand times a power of two, exact.
                    table[l] = Double(q.multiplier) * Self.powerOfTwo(leftShift - 31 - rightShift)
                    let half = rightShift > 0 ? Self.powerOfTwo(-(rightShift + 1)) : 0
                    table[16 + l] = half + Self.powerOfTwo(-(rightShift + 32))
                    table[32 + l] = rightShift > 0 ? -half : -.infinity
                    table[48 + l] = rightShift > 0 ? Self.powerOfTwo(-rightShift) : 0
                    table[64 + l] = Self.magic + Double(outputOffset)
                } else if let value = Self.constantOutput(q, range, outputOffset: outputOffset, activation: activation) {
                    // v = acc · 0 = ±0, which rounds to 0, plus the value.
                    (table[l], table[16 + l], table[32 + l], table[48 + l]) = (0, 0, -.infinity, 0)
                    table[64 + l] = Self.magic + Double(value)
                } else {
                    all = false
                }
            }
            coveredBlocks.pointer(as: UInt8.self)[block] = all ? 1 : 0
            covered += all ? 1 : 0
        }
        coveredBlockCount = covered
        minimum = Int8(clamping: activation.minimum)
        maximum = Int8(clamping: activation.maximum)
    }

    /// The output every accumulator of `range` requantizes to, if they all give the same.
    /// The reference is monotone in the accumulator as long as neither it nor its left-shifted
    /// value wraps int32, so equal outputs at both ends mean equal outputs throughout.
    static func constantOutput(
        _ q: QuantizedMultiplier, _ range: ClosedRange<Int64>, outputOffset: Int32, activation: ActivationRange
    ) -> Int32? {
        let leftShift = max(q.shift, 0)
        guard q.shift >= -31, leftShift < 31,
              max(range.lowerBound.magnitude, range.upperBound.magnitude) < UInt64(1) << (31 - leftShift)
        else { return nil }
        func output(_ acc: Int64) -> Int32 {
            let scaled = multiplyByQuantizedMultiplier(Int32(acc), q.multiplier, q.shift) &+ outputOffset
            return min(max(scaled, activation.minimum), activation.maximum)
        }
        let low = output(range.lowerBound)
        return low == output(range.upperBound) ? low : nil
    }

    /// A stand-in of no blocks, for kernels that keep a non-optional value (unwrapping an
    /// optional in the hot loop costs a retain/release pair) but do not use it.
    init(unusedWith activation: ActivationRange) {
        constants = AlignedStorage(byteCount: 0)
        coveredBlocks = AlignedStorage(byteCount: 0)
        coveredBlockCount = 0
        (minimum, maximum) = (Int8(clamping: activation.minimum), Int8(clamping: activation.maximum))
    }

    /// Whether every lane of block `block` is covered (exact or constant).
    @inline(always)
    func covers(block: Int) -> Bool {
        coveredBlocks.bytes.load(fromByteOffset: block, as: UInt8.self) != 0
    }

    /// `2^exponent`, exactly (exponents here are within ±64).
    private static func powerOfTwo(_ exponent: Int) -> Double {
        Double(sign: .plus, exponent: exponent, significand: 1)
    }

    /// The int8 outputs of block `block`'s 16 lanes from their int32 accumulators (bias
    /// included); only for covered blocks.
    @inline(always)
    func requantize(_ acc: SIMD16<Int32>, block: Int) -> SIMD16<Int8> {
        let base = UnsafeRawPointer(constants.bytes) + block * Self.blockBytes
        let v = SIMD16<Int32>(
            lowHalf: SIMD8<Int32>(lowHalf: Self.rounded(acc.lowHalf.lowHalf, base),
                                  highHalf: Self.rounded(acc.lowHalf.highHalf, base + 32)),
            highHalf: SIMD8<Int32>(lowHalf: Self.rounded(acc.highHalf.lowHalf, base + 64),
                                   highHalf: Self.rounded(acc.highHalf.highHalf, base + 96)))
        // The activation range lies inside int8, so clamping after a saturating narrowing
        // (`vpackssdw`, `vpacksswb`) is the same as clamping before it.
        let bytes = SIMD16<Int8>(
            Int8(clamping: v[0]), Int8(clamping: v[1]), Int8(clamping: v[2]), Int8(clamping: v[3]),
            Int8(clamping: v[4]), Int8(clamping: v[5]), Int8(clamping: v[6]), Int8(clamping: v[7]),
            Int8(clamping: v[8]), Int8(clamping: v[9]), Int8(clamping: v[10]), Int8(clamping: v[11]),
            Int8(clamping: v[12]), Int8(clamping: v[13]), Int8(clamping: v[14]), Int8(clamping: v[15]))
        return Self.clamped(bytes, minimum, maximum)
    }

    /// Lane-wise `min(max(v, low), high)` (`vpmaxsb`, `vpminsb`).
    @inline(always)
    private static func clamped(_ v: SIMD16<Int8>, _ low: Int8, _ high: Int8) -> SIMD16<Int8> {
        // Comparisons written out: the generic `Swift.min`/`max` can stay calls in large callers.
        let raised = SIMD16<Int8>(
            v[0] < low ? low : v[0], v[1] < low ? low : v[1], v[2] < low ? low : v[2], v[3] < low ? low : v[3],
            v[4] < low ? low : v[4], v[5] < low ? low : v[5], v[6] < low ? low : v[6], v[7] < low ? low : v[7],
            v[8] < low ? low : v[8], v[9] < low ? low : v[9], v[10] < low ? low : v[10], v[11] < low ? low : v[11],
            v[12] < low ? low : v[12], v[13] < low ? low : v[13], v[14] < low ? low : v[14], v[15] < low ? low : v[15])
        return SIMD16<Int8>(
            raised[0] > high ? high : raised[0], raised[1] > high ? high : raised[1], raised[2] > high ? high : raised[2],
            raised[3] > high ? high : raised[3], raised[4] > high ? high : raised[4], raised[5] > high ? high : raised[5],
            raised[6] > high ? high : raised[6], raised[7] > high ? high : raised[7], raised[8] > high ? high : raised[8],
            raised[9] > high ? high : raised[9], raised[10] > high ? high : raised[10], raised[11] > high ? high : raised[11],
            raised[12] > high ? high : raised[12], raised[13] > high ? high : raised[13], raised[14] > high ? high : raised[14],
            raised[15] > high ? high : raised[15])
    }

    /// `round(v + addend - [v < threshold] · adjustment) + (magic - 1.5 · 2^52)` of 4 lanes,
    /// `v = acc · scale`, read out as int32; the five tables of a block are 128 bytes apart,
    /// `constants` points at these lanes' scales.
    @inline(always)
    private static func rounded(_ acc: SIMD4<Int32>, _ constants: UnsafeRawPointer) -> SIMD4<Int32> {
        let scale = constants.loadUnaligned(as: SIMD4<Double>.self)
        let addend = constants.loadUnaligned(fromByteOffset: 128, as: SIMD4<Double>.self)
        let threshold = constants.loadUnaligned(fromByteOffset: 256, as: SIMD4<Double>.self)
        let adjustment = constants.loadUnaligned(fromByteOffset: 384, as: SIMD4<Double>.self)
        let magic = constants.loadUnaligned(fromByteOffset: 512, as: SIMD4<Double>.self)
        let v = SIMD4<Double>(Double(acc[0]), Double(acc[1]), Double(acc[2]), Double(acc[3])) * scale
        // `v < threshold` as an all-ones mask selecting the adjustment (a compare and an and).
        let below = SIMD4<UInt64>(
            v[0] < threshold[0] ? ~0 : 0, v[1] < threshold[1] ? ~0 : 0, v[2] < threshold[2] ? ~0 : 0, v[3] < threshold[3] ? ~0 : 0)
        let adjust = unsafeBitCast(below & unsafeBitCast(adjustment, to: SIMD4<UInt64>.self), to: SIMD4<Double>.self)
        let bits = unsafeBitCast(v + addend - adjust + magic, to: SIMD4<Int64>.self)
        return SIMD4<Int32>(Int32(truncatingIfNeeded: bits[0]), Int32(truncatingIfNeeded: bits[1]),
                            Int32(truncatingIfNeeded: bits[2]), Int32(truncatingIfNeeded: bits[3]))
    }
}
