/// Input gradients of the ops that only move values: PAD, CONCATENATION (RESHAPE, SQUEEZE,
/// QUANTIZE and DEQUANTIZE pass gradients through unchanged and need no function).
enum LayoutGradient {
    /// PAD: the gradient of the unpadded region. `before[d]` is the padding in front of dimension `d`.
    static func padInput(outputGradient dy: UnsafeBufferPointer<Float>, inputShape: [Int], before: [Int],
                         outputShape: [Int], into dx: UnsafeMutableBufferPointer<Float>) {
        let rank = inputShape.count
        var outputStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { outputStrides[d] = outputStrides[d + 1] * outputShape[d + 1] }
        let total = inputShape.reduce(1, *)
        guard total > 0 else { return }
        var index = [Int](repeating: 0, count: rank)
        var outputIndex = zip(before, outputStrides).reduce(0) { $0 + $1.0 * $1.1 }
        for flat in 0..<total {
            dx[flat] += dy[outputIndex]
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                outputIndex += outputStrides[d]
                if index[d] < inputShape[d] { break }
                outputIndex -= outputStrides[d] * index[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// CONCATENATION along `axis`: input `k` receives its slice of the output gradient.
    /// `axisSizes[k]` is input k's extent along the axis; `outer`/`inner` the element counts before/after it.
    static func concatenationInput(outputGradient dy: UnsafeBufferPointer<Float>, axisSizes: [Int], input k: Int,
                                   outer: Int, inner: Int, into dx: UnsafeMutableBufferPointer<Float>) {
        let total = axisSizes.reduce(0, +)
        let offset = axisSizes[..<k].reduce(0, +)
        let size = axisSizes[k]
        for o in 0..<outer {
            for a in 0..<size {
                let src = (o * total + offset + a) * inner, dst = (o * size + a) * inner
                for i in 0..<inner { dx[dst + i] += dy[src + i] }
            }
        }
    }
}
