/// Everything AVERAGE_POOL_2D or MAX_POOL_2D needs besides its NHWC tensors.
struct PoolParameters: Sendable, Equatable {
    var batches: Int
    var inputHeight: Int
    var inputWidth: Int
    var depth: Int
    var filterHeight: Int
    var filterWidth: Int
    var outputHeight: Int
    var outputWidth: Int
    var strideHeight: Int
    var strideWidth: Int
    var paddingTop: Int
    var paddingLeft: Int
    var activation: ActivationRange
}

extension ReferenceKernels {
    /// Int8 average pool over the window points inside the image (padding is not counted).
    ///
    /// Reproduces TFLite `reference_integer_ops::AveragePool`: the int32 sum divided by
    /// the number of points, rounding half away from zero (`(sum ± count/2) / count` with
    /// C's truncating division), then clamped. Returns false, as TFLite does, when a
    /// window covers no input point.
    @discardableResult
    static func averagePool2D(
        _ p: PoolParameters, input: UnsafeBufferPointer<Int8>, output: UnsafeMutableBufferPointer<Int8>
    ) -> Bool {
        for batch in 0..<p.batches {
            for outY in 0..<p.outputHeight {
                for outX in 0..<p.outputWidth {
                    let inXOrigin = outX * p.strideWidth - p.paddingLeft
                    let inYOrigin = outY * p.strideHeight - p.paddingTop
                    let filterXStart = max(0, -inXOrigin), filterXEnd = min(p.filterWidth, p.inputWidth - inXOrigin)
                    let filterYStart = max(0, -inYOrigin), filterYEnd = min(p.filterHeight, p.inputHeight - inYOrigin)
                    for channel in 0..<p.depth {
                        var acc: Int32 = 0
                        var count: Int32 = 0
                        if filterYStart < filterYEnd && filterXStart < filterXEnd {
                            for filterY in filterYStart..<filterYEnd {
                                for filterX in filterXStart..<filterXEnd {
                                    let inY = inYOrigin + filterY, inX = inXOrigin + filterX
                                    acc &+= Int32(input[((batch * p.inputHeight + inY) * p.inputWidth + inX) * p.depth + channel])
                                    count += 1
                                }
                            }
                        }
                        if count == 0 { return false }
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count
                        acc = min(max(acc, p.activation.minimum), p.activation.maximum)
                        output[((batch * p.outputHeight + outY) * p.outputWidth + outX) * p.depth + channel] =
                            Int8(truncatingIfNeeded: acc)
                    }
                }
            }
        }
        return true
    }

    /// Int8 max pool over the window points inside the image.
    ///
    /// Reproduces TFLite `reference_integer_ops::MaxPool` (an empty window gives -128 before
    /// the clamp).
    static func maxPool2D(
        _ p: PoolParameters, input: UnsafeBufferPointer<Int8>, output: UnsafeMutableBufferPointer<Int8>
    ) {
        let minimum = Int8(truncatingIfNeeded: p.activation.minimum)
        let maximum = Int8(truncatingIfNeeded: p.activation.maximum)
        for batch in 0..<p.batches {
            for outY in 0..<p.outputHeight {
                for outX in 0..<p.outputWidth {
                    let inXOrigin = outX * p.strideWidth - p.paddingLeft
                    let inYOrigin = outY * p.strideHeight - p.paddingTop
                    let filterXStart = max(0, -inXOrigin), filterXEnd = min(p.filterWidth, p.inputWidth - inXOrigin)
                    let filterYStart = max(0, -inYOrigin), filterYEnd = min(p.filterHeight, p.inputHeight - inYOrigin)
                    for channel in 0..<p.depth {
                        var value = Int8.min
                        if filterYStart < filterYEnd && filterXStart < filterXEnd {
                            for filterY in filterYStart..<filterYEnd {
                                for filterX in filterXStart..<filterXEnd {
                                    let inY = inYOrigin + filterY, inX = inXOrigin + filterX
                                    value = max(value, input[((batch * p.inputHeight + inY) * p.inputWidth + inX) * p.depth + channel])
                                }
                            }
                        }
                        value = min(max(value, minimum), maximum)
                        output[((batch * p.outputHeight + outY) * p.outputWidth + outX) * p.depth + channel] = value
                    }
                }
            }
        }
    }
}
