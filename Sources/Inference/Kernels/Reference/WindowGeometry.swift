/// Output size and leading padding of one spatial dimension of a convolution or pool.
struct WindowGeometry: Sendable, Equatable {
    var outputSize: Int
    /// Padding before the first input element (TFLite's `padding_values.height/width`).
    var padding: Int

    /// Reproduces TFLite `ComputeOutSize` and `ComputePaddingWithOffset` of
    /// `kernels/padding.h`: SAME gives `ceil(in / stride)` outputs, VALID
    /// `(in + stride - effectiveFilter) / stride`; the total padding is split with the odd
    /// element at the end. Nil when the arguments are not positive.
    init?(padding: Padding, inputSize: Int, filterSize: Int, stride: Int, dilation: Int) {
        guard inputSize >= 0, filterSize > 0, stride > 0, dilation > 0 else { return nil }
        let effectiveFilterSize = (filterSize - 1) * dilation + 1
        let outputSize: Int
        switch padding {
        case .same: outputSize = (inputSize + stride - 1) / stride
        case .valid: outputSize = (inputSize + stride - effectiveFilterSize) / stride
        }
        guard outputSize >= 0 else { return nil }
        let totalPadding = max((outputSize - 1) * stride + effectiveFilterSize - inputSize, 0)
        self.outputSize = outputSize
        self.padding = totalPadding / 2
    }
}
