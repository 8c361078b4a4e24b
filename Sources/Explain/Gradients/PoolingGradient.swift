/// Input gradients of AVERAGE_POOL_2D, MAX_POOL_2D and MEAN in float32 (accumulating into `inputGradient`).
enum PoolingGradient {
    /// AVERAGE_POOL_2D: like TFLite, each window averages only its in-bounds taps.
    static func averagePoolInput(outputGradient dy: UnsafeBufferPointer<Float>, geometry g: WindowGeometry2D,
                                 channels: Int, into dx: UnsafeMutableBufferPointer<Float>) {
        for n in 0..<g.batch {
            for oy in 0..<g.outputHeight {
                let y0 = max(oy * g.strideHeight - g.padTop, 0)
                let y1 = min(oy * g.strideHeight - g.padTop + g.filterHeight, g.inputHeight)
                for ox in 0..<g.outputWidth {
                    let x0 = max(ox * g.strideWidth - g.padLeft, 0)
                    let x1 = min(ox * g.strideWidth - g.padLeft + g.filterWidth, g.inputWidth)
                    let count = (y1 - y0) * (x1 - x0)
                    guard count > 0 else { continue }
                    let dyBase = ((n * g.outputHeight + oy) * g.outputWidth + ox) * channels
                    let share = 1 / Float(count)
                    for iy in y0..<y1 {
                        for ix in x0..<x1 {
                            let dxBase = ((n * g.inputHeight + iy) * g.inputWidth + ix) * channels
                            for c in 0..<channels { dx[dxBase + c] += dy[dyBase + c] * share }
                        }
                    }
                }
            }
        }
    }

    /// MAX_POOL_2D: the gradient goes to the first (row-major) in-bounds tap holding the maximum.
    static func maxPoolInput(outputGradient dy: UnsafeBufferPointer<Float>, input x: UnsafeBufferPointer<Float>,
                             geometry g: WindowGeometry2D, channels: Int, into dx: UnsafeMutableBufferPointer<Float>) {
        for n in 0..<g.batch {
            for oy in 0..<g.outputHeight {
                let y0 = max(oy * g.strideHeight - g.padTop, 0)
                let y1 = min(oy * g.strideHeight - g.padTop + g.filterHeight, g.inputHeight)
                for ox in 0..<g.outputWidth {
                    let x0 = max(ox * g.strideWidth - g.padLeft, 0)
                    let x1 = min(ox * g.strideWidth - g.padLeft + g.filterWidth, g.inputWidth)
                    guard y1 > y0, x1 > x0 else { continue }
                    let dyBase = ((n * g.outputHeight + oy) * g.outputWidth + ox) * channels
                    for c in 0..<channels {
                        var best = -Float.infinity, bestIndex = -1
                        for iy in y0..<y1 {
                            for ix in x0..<x1 {
                                let index = ((n * g.inputHeight + iy) * g.inputWidth + ix) * channels + c
                                if x[index] > best || bestIndex < 0 { best = x[index]; bestIndex = index }
                            }
                        }
                        dx[bestIndex] += dy[dyBase + c]
                    }
                }
            }
        }
    }

    /// MEAN over `axes` of a tensor of `inputShape` (any rank ≤ 6): every input element
    /// receives its output's gradient divided by the number of reduced elements.
    static func meanInput(outputGradient dy: UnsafeBufferPointer<Float>, inputShape: [Int], axes: Set<Int>,
                          into dx: UnsafeMutableBufferPointer<Float>) {
        // Output strides over the input's dimensions (0 along reduced axes), keep_dims or not.
        var strides = [Int](repeating: 0, count: inputShape.count)
        var elements = 1
        var reduced = 1
        for d in stride(from: inputShape.count - 1, through: 0, by: -1) {
            if axes.contains(d) { reduced *= inputShape[d]; continue }
            strides[d] = elements
            elements *= inputShape[d]
        }
        let share = 1 / Float(max(reduced, 1))
        // The usual case, a global pool (axes 1, 2 of NHWC): a contiguous block of reduced axes
        // before the last one, so each reduced row gets `share * dy[outer row]` — one axpy per row.
        if let first = axes.min(), let last = axes.max(), last - first + 1 == axes.count, last < inputShape.count - 1,
           let d = dx.baseAddress, let y = dy.baseAddress {
            let outer = inputShape[..<first].reduce(1, *), inner = inputShape[(last + 1)...].reduce(1, *)
            guard dy.count >= outer * inner, dx.count >= outer * reduced * inner else { return }
            for o in 0..<outer {
                for r in 0..<reduced { VectorLoops.axpy(share, y + o * inner, d + (o * reduced + r) * inner, count: inner) }
            }
            return
        }
        var index = [Int](repeating: 0, count: inputShape.count)
        let total = inputShape.reduce(1, *)
        var outputIndex = 0
        for flat in 0..<total {
            dx[flat] += dy[outputIndex] * share
            // Odometer increment, keeping the output index in step.
            var d = inputShape.count - 1
            while d >= 0 {
                index[d] += 1
                outputIndex += strides[d]
                if index[d] < inputShape[d] { break }
                outputIndex -= strides[d] * index[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}
