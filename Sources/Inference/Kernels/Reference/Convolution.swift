/// Everything a quantized CONV_2D needs besides its tensors (NHWC input, OHWI filter).
struct Conv2DParameters: Sendable, Equatable {
    var batches: Int
    var inputHeight: Int
    var inputWidth: Int
    var inputDepth: Int
    var filterHeight: Int
    var filterWidth: Int
    /// Input channels per filter; `inputDepth / filterInputDepth` groups.
    var filterInputDepth: Int
    var outputHeight: Int
    var outputWidth: Int
    var outputDepth: Int
    var strideHeight: Int
    var strideWidth: Int
    var dilationHeight: Int
    var dilationWidth: Int
    var paddingTop: Int
    var paddingLeft: Int
    /// Minus the input zero point.
    var inputOffset: Int32
    /// The output zero point.
    var outputOffset: Int32
    /// Per output channel (per-tensor weights repeat one value).
    var outputMultipliers: [QuantizedMultiplier]
    var activation: ActivationRange

    /// Multiply-accumulates of one invocation: output elements × kernel elements each.
    var multiplyAccumulates: Int {
        batches * outputHeight * outputWidth * outputDepth * filterHeight * filterWidth * filterInputDepth
    }
}

extension ReferenceKernels {
    /// Int8 convolution with per-channel requantization.
    ///
    /// Reproduces TFLite `reference_integer_ops::ConvPerChannel` (int8 input, int8 filter,
    /// int32 bias): int32 accumulator of `filter * (input - inputZeroPoint)` over the
    /// window points inside the image (zero padding by omission), plus bias, then
    /// ``multiplyByQuantizedMultiplier(_:_:_:)``, the output zero point and the clamp.
    static func conv2D(
        _ p: Conv2DParameters,
        input: UnsafeBufferPointer<Int8>,
        filter: UnsafeBufferPointer<Int8>,
        bias: UnsafeBufferPointer<Int32>?,
        output: UnsafeMutableBufferPointer<Int8>
    ) {
        let groups = p.inputDepth / p.filterInputDepth
        let filtersPerGroup = p.outputDepth / groups
        for batch in 0..<p.batches {
            for outY in 0..<p.outputHeight {
                let inYOrigin = outY * p.strideHeight - p.paddingTop
                for outX in 0..<p.outputWidth {
                    let inXOrigin = outX * p.strideWidth - p.paddingLeft
                    let outputBase = ((batch * p.outputHeight + outY) * p.outputWidth + outX) * p.outputDepth
                    for outChannel in 0..<p.outputDepth {
                        let inputChannelBase = (outChannel / filtersPerGroup) * p.filterInputDepth
                        var acc: Int32 = 0
                        for filterY in 0..<p.filterHeight {
                            let inY = inYOrigin + p.dilationHeight * filterY
                            guard inY >= 0, inY < p.inputHeight else { continue }
                            for filterX in 0..<p.filterWidth {
                                let inX = inXOrigin + p.dilationWidth * filterX
                                guard inX >= 0, inX < p.inputWidth else { continue }
                                let inputBase = ((batch * p.inputHeight + inY) * p.inputWidth + inX) * p.inputDepth
                                    + inputChannelBase
                                let filterBase = ((outChannel * p.filterHeight + filterY) * p.filterWidth + filterX)
                                    * p.filterInputDepth
                                for inChannel in 0..<p.filterInputDepth {
                                    let inputValue = Int32(input[inputBase + inChannel])
                                    let filterValue = Int32(filter[filterBase + inChannel])
                                    acc = acc &+ filterValue &* (inputValue &+ p.inputOffset)
                                }
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
