/// A `[outputs][depth]` int8 weight matrix packed at load time for ``gemm4x16Int16Pairs``:
/// blocks of 16 output columns, each a panel of `kPairs` k-pairs of int16 weights, zero
/// padded past `depth` and past `outputs`; plus the per-column bias with the input offset
/// folded in.
///
/// Folding: the oracle accumulates `Σ_k w[k] * (x[k] + inputOffset) + bias` in wrapping
/// int32. Wrapping int32 arithmetic is arithmetic modulo 2^32, a ring, so the same sum
/// regrouped, `Σ_k w[k] * x[k] + (bias + inputOffset * Σ_k w[k])`, has the same bits
/// whatever the intermediate overflows. The inner loop is then a plain dot product.
struct PackedGemmWeights: @unchecked Sendable {
    // @unchecked: the storage is written only in init.
    let depth: Int
    let kPairs: Int
    let outputs: Int
    let blocks: Int
    private let panels: AlignedStorage
    private let foldedBias: AlignedStorage

    /// `filter` is row-major `[outputs][depth]` (OHWI for convolutions: depth = H*W*I).
    init(filter: UnsafeBufferPointer<Int8>, outputs: Int, depth: Int, bias: UnsafeBufferPointer<Int32>?, inputOffset: Int32) {
        self.depth = depth
        self.outputs = outputs
        kPairs = (depth + 1) / 2
        blocks = (outputs + 15) / 16
        panels = AlignedStorage(byteCount: blocks * kPairs * gemmPanelPairBytes)
        foldedBias = AlignedStorage(byteCount: blocks * 16 * 4)
        let packed = panels.pointer(as: Int16.self)
        let biases = foldedBias.pointer(as: Int32.self)
        for column in 0..<outputs {
            let block = column / 16, lane = column % 16
            var weightSum: Int32 = 0
            for pair in 0..<kPairs {
                let k = 2 * pair
                let first = filter[column * depth + k]
                let second: Int8 = k + 1 < depth ? filter[column * depth + k + 1] : 0
                weightSum = weightSum &+ Int32(first) &+ Int32(second)
                storePanelPair(packed + (block * kPairs + pair) * 32, column: lane,
                               first: Int16(first), second: Int16(second))
            }
            biases[column] = (bias?[column] ?? 0) &+ inputOffset &* weightSum
        }
    }

    /// The panel of the 16-column block `block`.
    @inline(__always)
    func panel(_ block: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(panels.bytes) + block * kPairs * gemmPanelPairBytes
    }

    /// The folded biases of all blocks: 16 int32 per block, block after block.
    var biases: UnsafeRawPointer { UnsafeRawPointer(foldedBias.bytes) }

    /// The folded biases of the 16 columns of `block`.
    @inline(__always)
    func bias(_ block: Int) -> SIMD16<Int32> {
        UnsafeRawPointer(foldedBias.bytes).loadUnaligned(fromByteOffset: block * 64, as: SIMD16<Int32>.self)
    }
}
