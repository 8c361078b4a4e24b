/// Everything a quantized FULLY_CONNECTED needs besides its tensors (input rows of
/// `accumulationDepth` values, filter `[outputDepth, accumulationDepth]`).
struct FullyConnectedParameters: Sendable, Equatable {
    var batches: Int
    var accumulationDepth: Int
    var outputDepth: Int
    var inputOffset: Int32
    /// Minus the filter zero point (0 for per-channel weights, which are symmetric).
    var filterOffset: Int32
    var outputOffset: Int32
    /// `inputScale * filterScale[c] / outputScale` in double, per output channel.
    var effectiveScales: [Double]
    var activation: ActivationRange

    var multiplyAccumulates: Int { batches * outputDepth * accumulationDepth }
}

extension ReferenceKernels {
    /// Int8 fully connected layer.
    ///
    /// Reproduces TFLite `reference_integer_ops::FullyConnected` and
    /// `FullyConnectedPerChannel` in the overloads that LiteRT's reference kernel calls
    /// (those taking the float scales, since 2025): the int32 accumulator of
    /// `(filter - filterZeroPoint) * (input - inputZeroPoint)` plus bias is requantized in
    /// double, `round(acc * inputScale * filterScale / outputScale)` (half away from zero),
    /// not with the fixed-point multiplier of the optimized kernels.
    static func fullyConnected(
        _ p: FullyConnectedParameters,
        input: UnsafeBufferPointer<Int8>,
        filter: UnsafeBufferPointer<Int8>,
        bias: UnsafeBufferPointer<Int32>?,
        output: UnsafeMutableBufferPointer<Int8>
    ) {
        let minimum = Double(p.activation.minimum), maximum = Double(p.activation.maximum)
        for batch in 0..<p.batches {
            let inputBase = batch * p.accumulationDepth
            for outChannel in 0..<p.outputDepth {
                let filterBase = outChannel * p.accumulationDepth
                var acc: Int32 = 0
                for d in 0..<p.accumulationDepth {
                    let inputValue = Int32(input[inputBase + d])
                    let filterValue = Int32(filter[filterBase + d])
                    acc = acc &+ (filterValue &+ p.filterOffset) &* (inputValue &+ p.inputOffset)
                }
                if let bias { acc = acc &+ bias[outChannel] }
                // round() then the zero point and the clamp; done in double so that absurd
                // scales saturate instead of overflowing int32.
                let scaled = (Double(acc) * p.effectiveScales[outChannel]).rounded(.toNearestOrAwayFromZero)
                let clamped = min(max(scaled + Double(p.outputOffset), minimum), maximum)
                output[batch * p.outputDepth + outChannel] = Int8(clamped)
            }
        }
    }
}
