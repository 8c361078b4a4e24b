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
        if isPointwise(g) {
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

    /// Whether a CONV_2D of geometry `g` is a 1x1, stride-1 matrix product (``PointwiseInputGradient``).
    static func isPointwise(_ g: WindowGeometry2D) -> Bool {
        g.filterHeight == 1 && g.filterWidth == 1 && g.strideHeight == 1 && g.strideWidth == 1 && g.padTop == 0
            && g.padLeft == 0 && g.inputHeight == g.outputHeight && g.inputWidth == g.outputWidth
    }

    /// A 1x1, stride-1 CONV_2D is the matrix product `dX[P × inC] += dY[P × outC] · W[outC × inC]`.
    /// Packs the weights on every call; the backward pass keeps a ``PointwiseInputGradient`` instead.
    static func pointwiseInput(outputGradient dy: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
                               pixels: Int, inputChannels inC: Int, outputChannels outC: Int,
                               into dx: UnsafeMutableBufferPointer<Float>, pool: WorkerPool? = nil) {
        PointwiseInputGradient(weights: weights, inputChannels: inC, outputChannels: outC)
            .accumulate(outputGradient: dy, pixels: pixels, into: dx, pool: pool)
    }

    /// DEPTHWISE_CONV_2D: weights `[1, kH, kW, inC * multiplier]`; output channel `ic * multiplier + m`.
    /// Plain scalar loops: the oracle of ``DepthwiseInputGradient``, which the backward pass runs.
    static func depthwiseInput(outputGradient dy: UnsafeBufferPointer<Float>, weights: UnsafeBufferPointer<Float>,
                               geometry g: WindowGeometry2D, inputChannels inC: Int, depthMultiplier: Int,
                               into dx: UnsafeMutableBufferPointer<Float>) {
        let outC = inC * depthMultiplier
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
