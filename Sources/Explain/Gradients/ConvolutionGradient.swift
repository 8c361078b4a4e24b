import Inference

/// Input gradients of the linear layers (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) in float32.
///
/// Every function *accumulates* into `inputGradient` (`+=`), so a tensor read by several
/// operators sums its gradients without extra buffers. Weights are dequantized real values in
/// TFLite layouts. Bias gradients are never needed by explanations, so none are computed.
enum ConvolutionGradient {
    /// CONV_2D: weights `[outC, kH, kW, inC]`.
    static func input(outputGradient dy: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
                      geometry g: WindowGeometry2D, inputChannels inC: Int, outputChannels outC: Int,
                      into dx: UnsafeMutableBufferPointer<Float>, pool: WorkerPool? = nil) {
        if g.filterHeight == 1, g.filterWidth == 1, g.strideHeight == 1, g.strideWidth == 1, g.padTop == 0, g.padLeft == 0,
           g.inputHeight == g.outputHeight, g.inputWidth == g.outputWidth {
            pointwiseInput(outputGradient: dy, weights: weights, pixels: g.batch * g.inputHeight * g.inputWidth,
                           inputChannels: inC, outputChannels: outC, into: dx, pool: pool)
            return
        }
        guard let w = weights.baseAddress, let d = dx.baseAddress else { return }
        for n in 0..<g.batch {
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    let dyBase = ((n * g.outputHeight + oy) * g.outputWidth + ox) * outC
                    for ky in 0..<g.filterHeight {
                        let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
                        guard iy >= 0, iy < g.inputHeight else { continue }
                        for kx in 0..<g.filterWidth {
                            let ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth
                            guard ix >= 0, ix < g.inputWidth else { continue }
                            let dxBase = ((n * g.inputHeight + iy) * g.inputWidth + ix) * inC
                            for oc in 0..<outC {
                                let gradient = dy[dyBase + oc]
                                if gradient == 0 { continue }
                                let wBase = ((oc * g.filterHeight + ky) * g.filterWidth + kx) * inC
                                VectorLoops.axpy(gradient, w + wBase, d + dxBase, count: inC)
                            }
                        }
                    }
                }
            }
        }
    }

    /// A 1x1, stride-1 CONV_2D is the matrix product `dX[P × inC] += dY[P × outC] · W[outC × inC]`
    /// (most of a MobileNet/EfficientNet's work). Blocked so a tile of `dX` (8 pixels × 256
    /// channels, 8 KB) stays in L1 while the weights stream past once per 8 pixels instead of once
    /// per pixel; zero gradients (common after ReLU gates) are skipped.
    static func pointwiseInput(outputGradient dy: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
                               pixels: Int, inputChannels inC: Int, outputChannels outC: Int,
                               into dx: UnsafeMutableBufferPointer<Float>, pool: WorkerPool? = nil) {
        let rowBlock = 8
        let blocks = (pixels + rowBlock - 1) / rowBlock
        // Split pixel blocks over the pool's threads (each task writes its own rows of dX) when
        // the product is big enough to pay for the hand-off.
        let threads = pool?.threadCount ?? 1
        let tasks = threads > 1 && pixels * inC * outC >= 1 << 18 ? min(blocks, threads * 4) : 1
        let body = { (task: Int) in
            let first = blocks * task / tasks * rowBlock, last = min(blocks * (task + 1) / tasks * rowBlock, pixels)
            pointwiseRows(dy, weights, rows: first..<last, inC: inC, outC: outC, dx)
        }
        if let pool, tasks > 1 { pool.parallelFor(tasks, body) } else { body(0) }
    }

    private static func pointwiseRows(_ dy: UnsafeBufferPointer<Float>, _ weights: UnsafeBufferPointer<Float>,
                                      rows: Range<Int>, inC: Int, outC: Int, _ dx: UnsafeMutableBufferPointer<Float>) {
        guard let w = weights.baseAddress, let d = dx.baseAddress else { return }
        let rowBlock = 8, columnBlock = 256
        for p0 in stride(from: rows.lowerBound, to: rows.upperBound, by: rowBlock) {
            let pixels = rows.upperBound
            let p1 = min(p0 + rowBlock, pixels)
            for c0 in stride(from: 0, to: inC, by: columnBlock) {
                let c1 = min(c0 + columnBlock, inC)
                for oc in 0..<outC {
                    let wBase = oc * inC
                    for p in p0..<p1 {
                        let gradient = dy[p * outC + oc]
                        if gradient == 0 { continue }
                        VectorLoops.axpy(gradient, w + wBase + c0, d + p * inC + c0, count: c1 - c0)
                    }
                }
            }
        }
    }

    /// DEPTHWISE_CONV_2D: weights `[1, kH, kW, inC * multiplier]`; output channel `ic * multiplier + m`.
    static func depthwiseInput(outputGradient dy: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
                               geometry g: WindowGeometry2D, inputChannels inC: Int, depthMultiplier: Int,
                               into dx: UnsafeMutableBufferPointer<Float>) {
        let outC = inC * depthMultiplier
        guard let w = weights.baseAddress, let d = dx.baseAddress, let y = dy.baseAddress else { return }
        for n in 0..<g.batch {
            for oy in 0..<g.outputHeight {
                for ox in 0..<g.outputWidth {
                    let dyBase = ((n * g.outputHeight + oy) * g.outputWidth + ox) * outC
                    for ky in 0..<g.filterHeight {
                        let iy = oy * g.strideHeight - g.padTop + ky * g.dilationHeight
                        guard iy >= 0, iy < g.inputHeight else { continue }
                        for kx in 0..<g.filterWidth {
                            let ix = ox * g.strideWidth - g.padLeft + kx * g.dilationWidth
                            guard ix >= 0, ix < g.inputWidth else { continue }
                            let dxBase = ((n * g.inputHeight + iy) * g.inputWidth + ix) * inC
                            let wBase = (ky * g.filterWidth + kx) * outC
                            if depthMultiplier == 1 {
                                VectorLoops.multiplyAdd(y + dyBase, w + wBase, d + dxBase, count: inC)
                                continue
                            }
                            for ic in 0..<inC {
                                var sum: Float = 0
                                for m in 0..<depthMultiplier {
                                    let oc = ic * depthMultiplier + m
                                    sum += dy[dyBase + oc] * weights[wBase + oc]
                                }
                                dx[dxBase + ic] += sum
                            }
                        }
                    }
                }
            }
        }
    }

    /// FULLY_CONNECTED: weights `[outputs, inputs]`, input viewed as `[rows, inputs]`.
    /// Zero output gradients are skipped, so a one-hot seed (one class score) costs one weight row.
    static func fullyConnectedInput(outputGradient dy: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
                                    rows: Int, inputs: Int, outputs: Int,
                                    into dx: UnsafeMutableBufferPointer<Float>) {
        guard let w = weights.baseAddress, let d = dx.baseAddress else { return }
        for row in 0..<rows {
            for o in 0..<outputs {
                let gradient = dy[row * outputs + o]
                if gradient == 0 { continue }
                VectorLoops.axpy(gradient, w + o * inputs, d + row * inputs, count: inputs)
            }
        }
    }
}
