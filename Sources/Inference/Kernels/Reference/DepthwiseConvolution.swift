/// Everything a quantized DEPTHWISE_CONV_2D needs besides its tensors (NHWC input,
/// 1HWO filter with `O = inputDepth * depthMultiplier`).
struct DepthwiseConv2DParameters: Sendable, Equatable {
    var batches: Int
    var inputHeight: Int
    var inputWidth: Int
    var inputDepth: Int
    var depthMultiplier: Int
    var filterHeight: Int
    var filterWidth: Int
    var outputHeight: Int
    var outputWidth: Int
    var strideHeight: Int
    var strideWidth: Int
    var dilationHeight: Int
    var dilationWidth: Int
    var paddingTop: Int
    var paddingLeft: Int
    var inputOffset: Int32
    var outputOffset: Int32
    /// Per output channel.
    var outputMultipliers: [QuantizedMultiplier]
    var activation: ActivationRange

    var outputDepth: Int { inputDepth * depthMultiplier }

    /// Output elements × window elements.
    var multiplyAccumulates: Int { batches * outputHeight * outputWidth * outputDepth * filterHeight * filterWidth }
}

extension ReferenceKernels {
    /// Int8 depthwise convolution with per-channel requantization.
    ///
    /// Reproduces TFLite `reference_integer_ops::DepthwiseConvPerChannel`: output channel
    /// `m + inChannel * depthMultiplier` sums `filter * (input - inputZeroPoint)` over its
    /// window on input channel `inChannel`, then requantizes like ``conv2D(_:input:filter:bias:output:)``.
    static func depthwiseConv2D(
        _ p: DepthwiseConv2DParameters,
        input: UnsafeBufferPointer<Int8>,
        filter: UnsafeBufferPointer<Int8>,
        bias: UnsafeBufferPointer<Int32>?,
        output: UnsafeMutableBufferPointer<Int8>
    ) {
        let outputDepth = p.outputDepth
        for batch in 0..<p.batches {
            for outY in 0..<p.outputHeight {
                let inYOrigin = outY * p.strideHeight - p.paddingTop
                for outX in 0..<p.outputWidth {
                    let inXOrigin = outX * p.strideWidth - p.paddingLeft
                    let outputBase = ((batch * p.outputHeight + outY) * p.outputWidth + outX) * outputDepth
                    for inChannel in 0..<p.inputDepth {
                        for m in 0..<p.depthMultiplier {
                            let outChannel = m + inChannel * p.depthMultiplier
                            var acc: Int32 = 0
                            for filterY in 0..<p.filterHeight {
                                let inY = inYOrigin + p.dilationHeight * filterY
                                guard inY >= 0, inY < p.inputHeight else { continue }
                                for filterX in 0..<p.filterWidth {
                                    let inX = inXOrigin + p.dilationWidth * filterX
                                    guard inX >= 0, inX < p.inputWidth else { continue }
                                    let inputValue = Int32(
                                        input[((batch * p.inputHeight + inY) * p.inputWidth + inX) * p.inputDepth + inChannel])
                                    let filterValue = Int32(
                                        filter[(filterY * p.filterWidth + filterX) * outputDepth + outChannel])
                                    acc = acc &+ filterValue &* (inputValue &+ p.inputOffset)
                                }
                            }
                            if let bias { acc = acc &+ bias[outChannel] }
                            let requantize = p.outputMultipliers[outChannel]
                            acc = multiplyByQuantizedMultiplier(acc, requantize.multiplier, requantize.shift)
                            acc = acc &+ p.outputOffset
                            acc = min(max(acc, p.activation.minimum), p.activation.maximum)
                            output[outputBase + outChannel] = Int8(truncatingIfNeeded: acc)
                        }
                    }
                }
            }
        }
    }
}
