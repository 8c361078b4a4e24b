/// The int32 accumulators of one 4-row x 16-column GEMM tile.
struct GemmTile4x16 {
    var row0: SIMD16<Int32>
    var row1: SIMD16<Int32>
    var row2: SIMD16<Int32>
    var row3: SIMD16<Int32>
}

/// The int32 accumulators of one 4-row x 8-column tile: the first 8 columns of a panel,
/// for a last column block of at most 8 columns.
struct GemmTile4x8 {
    var row0: SIMD8<Int32>
    var row1: SIMD8<Int32>
    var row2: SIMD8<Int32>
    var row3: SIMD8<Int32>
}

/// Bytes of one k-pair of a packed 16-column panel: 32 int16 weights.
let gemmPanelPairBytes = 64

#if arch(arm64)
/// GEMM microkernel, 4 rows x 16 columns, NEON shape (`smull`/`smlal` by element).
///
/// Layout: `rows` holds 4 rows of `rowStride` int32 words, each word two int16 inputs
/// (k, k+1) in its low and high half; `panel` holds, per k-pair, the 16 columns' int16
/// weights for k, then the 16 for k+1 (``PackedGemmWeights``, arm64 layout).
/// Returns `bias + Σ_k row[k] * weight[k][column]` in wrapping int32, the oracle
/// `ReferenceKernels.conv2D`'s accumulator with the input offset folded into `bias`.
@inline(__always)
func gemm4x16Int16Pairs(
    rows: UnsafePointer<Int32>, rowStride: Int, kPairs: Int, panel: UnsafeRawPointer, bias: SIMD16<Int32>
) -> GemmTile4x16 {
    var tile = GemmTile4x16(row0: bias, row1: bias, row2: bias, row3: bias)
    var weights = panel
    let row1 = rows + rowStride, row2 = row1 + rowStride, row3 = row2 + rowStride
    for pair in 0..<kPairs {
        let w0 = widenedToInt32(weights.loadUnaligned(as: SIMD16<Int16>.self))
        let w1 = widenedToInt32(weights.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self))
        tile.row0 &+= multiplyPair(rows[pair], w0, w1)
        tile.row1 &+= multiplyPair(row1[pair], w0, w1)
        tile.row2 &+= multiplyPair(row2[pair], w0, w1)
        tile.row3 &+= multiplyPair(row3[pair], w0, w1)
        weights += gemmPanelPairBytes
    }
    return tile
}

/// ``gemm4x16Int16Pairs(rows:rowStride:kPairs:panel:bias:)`` for a single row: GEMV
/// (fully connected with batch 1) and the last rows of a GEMM, without computing 3 unused rows.
@inline(__always)
func gemm1x16Int16Pairs(row: UnsafePointer<Int32>, kPairs: Int, panel: UnsafeRawPointer, bias: SIMD16<Int32>) -> SIMD16<Int32> {
    var acc = bias
    var weights = panel
    for pair in 0..<kPairs {
        let w0 = widenedToInt32(weights.loadUnaligned(as: SIMD16<Int16>.self))
        let w1 = widenedToInt32(weights.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self))
        acc &+= multiplyPair(row[pair], w0, w1)
        weights += gemmPanelPairBytes
    }
    return acc
}

/// ``gemm4x16Int16Pairs(rows:rowStride:kPairs:panel:bias:)`` for the first 8 columns of the
/// panel only: a last block of at most 8 columns then costs half the multiplies.
@inline(__always)
func gemm4x8Int16Pairs(
    rows: UnsafePointer<Int32>, rowStride: Int, kPairs: Int, panel: UnsafeRawPointer, bias: SIMD8<Int32>
) -> GemmTile4x8 {
    var tile = GemmTile4x8(row0: bias, row1: bias, row2: bias, row3: bias)
    var weights = panel
    let row1 = rows + rowStride, row2 = row1 + rowStride, row3 = row2 + rowStride
    for pair in 0..<kPairs {
        let w0 = widenedToInt32(weights.loadUnaligned(as: SIMD8<Int16>.self))
        let w1 = widenedToInt32(weights.loadUnaligned(fromByteOffset: 32, as: SIMD8<Int16>.self))
        tile.row0 &+= multiplyPair(rows[pair], w0, w1)
        tile.row1 &+= multiplyPair(row1[pair], w0, w1)
        tile.row2 &+= multiplyPair(row2[pair], w0, w1)
        tile.row3 &+= multiplyPair(row3[pair], w0, w1)
        weights += gemmPanelPairBytes
    }
    return tile
}

/// `x0 * w0 + x1 * w1` for the two int16 inputs packed in `pair` (two `smlal` by element).
@inline(__always)
private func multiplyPair(_ pair: Int32, _ w0: SIMD16<Int32>, _ w1: SIMD16<Int32>) -> SIMD16<Int32> {
    let x0 = Int32(Int16(truncatingIfNeeded: pair)), x1 = pair >> 16
    return w0 &* SIMD16<Int32>(repeating: x0) &+ w1 &* SIMD16<Int32>(repeating: x1)
}

/// ``multiplyPair(_:_:_:)`` for 8 columns.
@inline(__always)
private func multiplyPair(_ pair: Int32, _ w0: SIMD8<Int32>, _ w1: SIMD8<Int32>) -> SIMD8<Int32> {
    let x0 = Int32(Int16(truncatingIfNeeded: pair)), x1 = pair >> 16
    return w0 &* SIMD8<Int32>(repeating: x0) &+ w1 &* SIMD8<Int32>(repeating: x1)
}

/// Writes one k-pair of a panel: arm64 layout, the 16 weights of `k` then the 16 of `k + 1`.
@inline(__always)
func storePanelPair(_ destination: UnsafeMutablePointer<Int16>, column: Int, first: Int16, second: Int16) {
    destination[column] = first
    destination[16 + column] = second
}
#else
/// GEMM microkernel, 4 rows x 16 columns, x86 AVX2 shape (`vpmaddwd` on int16 k-pairs).
///
/// Layout: `rows` holds 4 rows of `rowStride` int32 words, each word two int16 inputs
/// (k, k+1) in its low and high half; `panel` holds, per k-pair, 16 (k, k+1) int16 weight
/// pairs, column-major (``PackedGemmWeights``). Each step broadcasts a row's input pair
/// and multiplies it with the panel pair: `pairwiseSums(w32(a) &* w32(b))` is exactly one
/// `vpmaddwd` per 8 columns (no saturation: |x·w| ≤ 2^14, so a pair sum
/// is at most 2^15). Returns `bias + Σ_k row[k] * weight[k][column]` in wrapping int32,
/// the oracle `ReferenceKernels.conv2D`'s accumulator with the input offset folded into `bias`.
@inline(__always)
func gemm4x16Int16Pairs(
    rows: UnsafePointer<Int32>, rowStride: Int, kPairs: Int, panel: UnsafeRawPointer, bias: SIMD16<Int32>
) -> GemmTile4x16 {
    var tile = GemmTile4x16(row0: bias, row1: bias, row2: bias, row3: bias)
    var weights = panel
    let row1 = rows + rowStride, row2 = row1 + rowStride, row3 = row2 + rowStride
    for pair in 0..<kPairs {
        let w = weights.loadUnaligned(as: SIMD32<Int16>.self)
        tile.row0 &+= multiplyPair(rows[pair], w)
        tile.row1 &+= multiplyPair(row1[pair], w)
        tile.row2 &+= multiplyPair(row2[pair], w)
        tile.row3 &+= multiplyPair(row3[pair], w)
        weights += gemmPanelPairBytes
    }
    return tile
}

/// ``gemm4x16Int16Pairs(rows:rowStride:kPairs:panel:bias:)`` for a single row: GEMV
/// (fully connected with batch 1) and the last rows of a GEMM, without computing 3 unused
/// rows. Two accumulators (even and odd k-pairs) halve the add dependency chain.
@inline(__always)
func gemm1x16Int16Pairs(row: UnsafePointer<Int32>, kPairs: Int, panel: UnsafeRawPointer, bias: SIMD16<Int32>) -> SIMD16<Int32> {
    var even = bias, odd = SIMD16<Int32>()
    var weights = panel
    var pair = 0
    while pair + 2 <= kPairs {
        even &+= multiplyPair(row[pair], weights.loadUnaligned(as: SIMD32<Int16>.self))
        odd &+= multiplyPair(row[pair + 1], weights.loadUnaligned(fromByteOffset: gemmPanelPairBytes, as: SIMD32<Int16>.self))
        weights += 2 * gemmPanelPairBytes
        pair += 2
    }
    if pair < kPairs { even &+= multiplyPair(row[pair], weights.loadUnaligned(as: SIMD32<Int16>.self)) }
    return even &+ odd
}

/// ``gemm4x16Int16Pairs(rows:rowStride:kPairs:panel:bias:)`` for the first 8 columns of the
/// panel only (the first 32 bytes of each k-pair): a last block of at most 8 columns then
/// costs 4 `vpmaddwd` per k-pair instead of 8.
@inline(__always)
func gemm4x8Int16Pairs(
    rows: UnsafePointer<Int32>, rowStride: Int, kPairs: Int, panel: UnsafeRawPointer, bias: SIMD8<Int32>
) -> GemmTile4x8 {
    var tile = GemmTile4x8(row0: bias, row1: bias, row2: bias, row3: bias)
    var weights = panel
    let row1 = rows + rowStride, row2 = row1 + rowStride, row3 = row2 + rowStride
    for pair in 0..<kPairs {
        let w = weights.loadUnaligned(as: SIMD16<Int16>.self)
        tile.row0 &+= multiplyPair(rows[pair], w)
        tile.row1 &+= multiplyPair(row1[pair], w)
        tile.row2 &+= multiplyPair(row2[pair], w)
        tile.row3 &+= multiplyPair(row3[pair], w)
        weights += gemmPanelPairBytes
    }
    return tile
}

/// Pairwise dot products of the broadcast input pair with 16 weight pairs (one `vpmaddwd` per 8).
@inline(__always)
private func multiplyPair(_ pair: Int32, _ w: SIMD32<Int16>) -> SIMD16<Int32> {
    let x = widenedToInt32(unsafeBitCast(SIMD16<Int32>(repeating: pair), to: SIMD32<Int16>.self))
    return pairwiseSums(x &* widenedToInt32(w))
}

/// ``multiplyPair(_:_:)`` for 8 weight pairs: one `vpmaddwd`.
@inline(__always)
private func multiplyPair(_ pair: Int32, _ w: SIMD16<Int16>) -> SIMD8<Int32> {
    let x = widenedToInt32(unsafeBitCast(SIMD8<Int32>(repeating: pair), to: SIMD16<Int16>.self))
    return pairwiseSums(x &* widenedToInt32(w))
}

/// Writes one k-pair of a panel: x86 layout, 16 interleaved (k, k + 1) pairs.
@inline(__always)
func storePanelPair(_ destination: UnsafeMutablePointer<Int16>, column: Int, first: Int16, second: Int16) {
    destination[2 * column] = first
    destination[2 * column + 1] = second
}
#endif
