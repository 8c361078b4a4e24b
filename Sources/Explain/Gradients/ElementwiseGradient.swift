/// Input gradients of ADD, SUB and MUL with NumPy broadcasting, in float32.
///
/// A broadcast operand receives the sum of the gradients of every output element it fed.
enum ElementwiseGradient {
    /// How an operand's elements map onto the output: strides per output dimension (0 where broadcast).
    struct Broadcast: Sendable, Equatable {
        var outputShape: [Int]
        var strides1: [Int]
        var strides2: [Int]

        /// Nil when the shapes do not broadcast to each other.
        init?(_ shape1: [Int], _ shape2: [Int]) {
            let rank = max(shape1.count, shape2.count)
            let a = [Int](repeating: 1, count: rank - shape1.count) + shape1
            let b = [Int](repeating: 1, count: rank - shape2.count) + shape2
            var output = [Int](repeating: 1, count: rank)
            for d in 0..<rank {
                guard a[d] == b[d] || a[d] == 1 || b[d] == 1 else { return nil }
                output[d] = a[d] == 1 ? b[d] : a[d]
            }
            func strides(_ shape: [Int]) -> [Int] {
                var result = [Int](repeating: 0, count: rank)
                var elements = 1
                for d in stride(from: rank - 1, through: 0, by: -1) {
                    result[d] = shape[d] == 1 ? 0 : elements
                    elements *= shape[d]
                }
                return result
            }
            outputShape = output
            strides1 = strides(a)
            strides2 = strides(b)
        }

        /// Calls `body(output, index1, index2)` for every output element in row-major order.
        @inline(__always)
        func forEach(_ body: (Int, Int, Int) -> Void) {
            let rank = outputShape.count
            let total = outputShape.reduce(1, *)
            guard rank > 0 else { if total > 0 { body(0, 0, 0) }; return }
            var index = [Int](repeating: 0, count: rank)
            var i1 = 0, i2 = 0
            for flat in 0..<total {
                body(flat, i1, i2)
                var d = rank - 1
                while d >= 0 {
                    index[d] += 1
                    i1 += strides1[d]
                    i2 += strides2[d]
                    if index[d] < outputShape[d] { break }
                    i1 -= strides1[d] * index[d]
                    i2 -= strides2[d] * index[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }

    /// ADD (`sign` 1) or SUB (`sign` -1): dA += g, dB += sign * g, each summed over its broadcast dimensions.
    static func addInputs(outputGradient dy: UnsafeBufferPointer<Float>, broadcast: Broadcast, sign: Float,
                          into dx1: UnsafeMutableBufferPointer<Float>?, _ dx2: UnsafeMutableBufferPointer<Float>?) {
        if broadcast.strides1 == broadcast.strides2, let dx1, let dx2 {
            for i in 0..<dy.count { dx1[i] += dy[i]; dx2[i] += sign * dy[i] }
            return
        }
        broadcast.forEach { o, i1, i2 in
            dx1?[i1] += dy[o]
            dx2?[i2] += sign * dy[o]
        }
    }

    /// MUL: dA += g * B, dB += g * A.
    static func mulInputs(outputGradient dy: UnsafeBufferPointer<Float>, broadcast: Broadcast,
                          input1 x1: UnsafeBufferPointer<Float>, input2 x2: UnsafeBufferPointer<Float>,
                          into dx1: UnsafeMutableBufferPointer<Float>?, _ dx2: UnsafeMutableBufferPointer<Float>?) {
        broadcast.forEach { o, i1, i2 in
            dx1?[i1] += dy[o] * x2[i2]
            dx2?[i2] += dy[o] * x1[i1]
        }
    }
}
