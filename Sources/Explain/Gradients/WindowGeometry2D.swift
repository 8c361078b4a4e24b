/// Where a 2-D sliding window (convolution, depthwise convolution, pool) reads its input,
/// over NHWC tensors.
///
/// Output pixel `(oy, ox)` reads input rows `oy * strideHeight - padTop + ky * dilationHeight`
/// for `ky` in `0..<filterHeight` (columns alike); taps outside the input read nothing, which
/// is what TFLite's int8 kernels do (they skip them, i.e. pad with the input zero point = real 0).
struct WindowGeometry2D: Sendable, Equatable {
    var batch: Int
    var inputHeight: Int, inputWidth: Int
    var outputHeight: Int, outputWidth: Int
    var filterHeight: Int, filterWidth: Int
    var strideHeight: Int, strideWidth: Int
    var dilationHeight: Int = 1, dilationWidth: Int = 1
    var padTop: Int, padLeft: Int

    /// TFLite's padding rule (`kernels/padding.h`): SAME gives `ceil(in / stride)` outputs and
    /// splits the total padding with the odd element at the end; VALID pads nothing.
    static func leadingPadding(same: Bool, inputSize: Int, outputSize: Int, filterSize: Int,
                               stride: Int, dilation: Int) -> Int {
        guard same else { return 0 }
        let effective = (filterSize - 1) * dilation + 1
        return max((outputSize - 1) * stride + effective - inputSize, 0) / 2
    }
}
