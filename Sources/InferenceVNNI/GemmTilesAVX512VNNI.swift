// The GEMM microkernel of the Inference target, compiled for AVX-512 VNNI: a separate module
// because Swift has no per-function target attributes, and the Inference target itself must
// run on any AVX2 CPU. With `-mavx512vnni -mavx512bw -mavx512vl` LLVM turns the same
// `vpmaddwd` + `vpaddd` pattern into one `vpdpwssd` per row and k-pair, with the row's input
// pair as an embedded broadcast (`{1to16}`) on a 16-lane zmm: 5 instructions per k-pair of a
// 4x16 tile instead of 22. Only called after `avx512VNNIAvailable` (cpuid) says so.
#if arch(x86_64)
import CCPUFeatures

/// Whether this CPU and OS run this module's kernels (AVX-512 F/BW/VL/VNNI), read once.
public let avx512VNNIAvailable: Bool = edgecam_cpu_supports_avx512_vnni() != 0

/// Bytes of one k-pair of a packed 16-column panel: 16 interleaved (k, k + 1) int16 weight
/// pairs, the x86 layout of Inference's `PackedGemmWeights`.
private let panelPairBytes = 64

/// Computes the int32 4x16 GEMM tiles of the column blocks `blocks` for 4 packed rows and
/// stores them at `accumulators`: per block (in order from `blocks.lowerBound`), 256 bytes,
/// row 0's 16 sums, then rows 1, 2, 3.
///
/// Same arithmetic as Inference's `gemm4x16Int16Pairs` (wrapping int32, `bias + Σ_k row[k] *
/// weight[k][column]`): `rows` holds 4 rows of `rowStride` int32 words, each two int16
/// inputs (k, k+1); block `b`'s panel is at `panels + b * kPairs * 64`, its 16 int32 biases
/// at `biases + b * 64`. `vpdpwssd` does not saturate, like `vpmaddwd` + `vpaddd`.
public func gemm4x16TilesAVX512VNNI(
    rows: UnsafePointer<Int32>, rowStride: Int, kPairs: Int, panels: UnsafeRawPointer, biases: UnsafeRawPointer,
    blocks: Range<Int>, into accumulators: UnsafeMutableRawPointer
) {
    let panelBytes = kPairs * panelPairBytes
    let row1 = rows + rowStride, row2 = row1 + rowStride, row3 = row2 + rowStride
    var block = blocks.lowerBound
    var out = accumulators
    // Two blocks at a time: 8 independent accumulators hide the latency of `vpdpwssd`.
    while block + 2 <= blocks.upperBound {
        let biasA = biases.loadUnaligned(fromByteOffset: block * 64, as: SIMD16<Int32>.self)
        let biasB = biases.loadUnaligned(fromByteOffset: block * 64 + 64, as: SIMD16<Int32>.self)
        var a0 = biasA, a1 = biasA, a2 = biasA, a3 = biasA
        var b0 = biasB, b1 = biasB, b2 = biasB, b3 = biasB
        var weightsA = panels + block * panelBytes
        var weightsB = weightsA + panelBytes
        for pair in 0..<kPairs {
            let wA = weightsA.loadUnaligned(as: SIMD32<Int16>.self)
            let wB = weightsB.loadUnaligned(as: SIMD32<Int16>.self)
            let x0 = rows[pair], x1 = row1[pair], x2 = row2[pair], x3 = row3[pair]
            a0 &+= multiplyPair(x0, wA)
            b0 &+= multiplyPair(x0, wB)
            a1 &+= multiplyPair(x1, wA)
            b1 &+= multiplyPair(x1, wB)
            a2 &+= multiplyPair(x2, wA)
            b2 &+= multiplyPair(x2, wB)
            a3 &+= multiplyPair(x3, wA)
            b3 &+= multiplyPair(x3, wB)
            weightsA += panelPairBytes
            weightsB += panelPairBytes
        }
        out.storeBytes(of: a0, as: SIMD16<Int32>.self)
        out.storeBytes(of: a1, toByteOffset: 64, as: SIMD16<Int32>.self)
        out.storeBytes(of: a2, toByteOffset: 128, as: SIMD16<Int32>.self)
        out.storeBytes(of: a3, toByteOffset: 192, as: SIMD16<Int32>.self)
        out.storeBytes(of: b0, toByteOffset: 256, as: SIMD16<Int32>.self)
        out.storeBytes(of: b1, toByteOffset: 320, as: SIMD16<Int32>.self)
        out.storeBytes(of: b2, toByteOffset: 384, as: SIMD16<Int32>.self)
        out.storeBytes(of: b3, toByteOffset: 448, as: SIMD16<Int32>.self)
        block += 2
        out += 512
    }
    if block < blocks.upperBound {
        let bias = biases.loadUnaligned(fromByteOffset: block * 64, as: SIMD16<Int32>.self)
        var a0 = bias, a1 = bias, a2 = bias, a3 = bias
        var weights = panels + block * panelBytes
        for pair in 0..<kPairs {
            let w = weights.loadUnaligned(as: SIMD32<Int16>.self)
            a0 &+= multiplyPair(rows[pair], w)
            a1 &+= multiplyPair(row1[pair], w)
            a2 &+= multiplyPair(row2[pair], w)
            a3 &+= multiplyPair(row3[pair], w)
            weights += panelPairBytes
        }
        out.storeBytes(of: a0, as: SIMD16<Int32>.self)
        out.storeBytes(of: a1, toByteOffset: 64, as: SIMD16<Int32>.self)
        out.storeBytes(of: a2, toByteOffset: 128, as: SIMD16<Int32>.self)
        out.storeBytes(of: a3, toByteOffset: 192, as: SIMD16<Int32>.self)
    }
}

/// Pairwise dot products of the broadcast input pair with 16 weight pairs: one `vpdpwssd`
/// (with the accumulate). Written lane by lane for the reason given in Inference's
/// SIMDLaneConversions.swift (the stdlib's generic conversions can stay calls).
@inline(__always)
private func multiplyPair(_ pair: Int32, _ w: SIMD32<Int16>) -> SIMD16<Int32> {
    let x = widened(unsafeBitCast(SIMD16<Int32>(repeating: pair), to: SIMD32<Int16>.self))
    let p = x &* widened(w)
    return SIMD16<Int32>(
        p[0] &+ p[1], p[2] &+ p[3], p[4] &+ p[5], p[6] &+ p[7],
        p[8] &+ p[9], p[10] &+ p[11], p[12] &+ p[13], p[14] &+ p[15],
        p[16] &+ p[17], p[18] &+ p[19], p[20] &+ p[21], p[22] &+ p[23],
        p[24] &+ p[25], p[26] &+ p[27], p[28] &+ p[29], p[30] &+ p[31])
}

@inline(__always)
private func widened(_ v: SIMD32<Int16>) -> SIMD32<Int32> {
    SIMD32<Int32>(
        Int32(v[0]), Int32(v[1]), Int32(v[2]), Int32(v[3]), Int32(v[4]), Int32(v[5]), Int32(v[6]), Int32(v[7]),
        Int32(v[8]), Int32(v[9]), Int32(v[10]), Int32(v[11]), Int32(v[12]), Int32(v[13]), Int32(v[14]), Int32(v[15]),
        Int32(v[16]), Int32(v[17]), Int32(v[18]), Int32(v[19]), Int32(v[20]), Int32(v[21]), Int32(v[22]), Int32(v[23]),
        Int32(v[24]), Int32(v[25]), Int32(v[26]), Int32(v[27]), Int32(v[28]), Int32(v[29]), Int32(v[30]), Int32(v[31]))
}
#endif
