/// Everything CONCATENATION needs besides its tensors: the tensors seen as `outerCount`
/// rows, each input contributing `copyCounts[i]` consecutive elements to every row.
struct ConcatenationParameters: Sendable, Equatable {
    /// Factors of `round(q * scale + bias) + outputZeroPoint` for one requantized input.
    struct Requantization: Sendable, Equatable {
        var scale: Float
        var bias: Float
    }

    var outerCount: Int
    /// Per input: its size along the axis times the size of the dimensions after it.
    var copyCounts: [Int]
    /// Per input, for uint8 inputs whose quantization differs from the output's; nil copies.
    var requantization: [Requantization?]
    var outputZeroPoint: Int32

    /// Elements of one output row.
    var rowLength: Int { copyCounts.reduce(0, +) }

    /// The float factors TFLite's `ConcatenationWithScaling` uses for one input:
    /// `scale = inputScale * (1 / outputScale)`, `bias = -inputZeroPoint * scale`, in
    /// float; nil when scale and zero point equal the output's (a plain copy).
    static func requantization(inputScale: Float, inputZeroPoint: Int32, outputScale: Float,
                               outputZeroPoint: Int32) -> Requantization? {
        if inputZeroPoint == outputZeroPoint && inputScale == outputScale { return nil }
        let scale = inputScale * (1 / outputScale)
        return Requantization(scale: scale, bias: -Float(inputZeroPoint) * scale)
    }
}

extension ReferenceKernels {
    /// Writes input `index` of a concatenation into its slots of every output row.
    ///
    /// Reproduces TFLite `reference_ops::Concatenation` (int8: a copy; LiteRT's int8 kernel
    /// refuses differing quantization) and `ConcatenationWithScaling` (uint8: inputs whose
    /// scale or zero point differ from the output's are requantized in float, rounded half
    /// away from zero and clamped to the type). Call it once per input.
    static func concatenate<T: FixedWidthInteger>(
        _ p: ConcatenationParameters, index: Int, input: UnsafeBufferPointer<T>, output: UnsafeMutableBufferPointer<T>
    ) {
        let count = p.copyCounts[index]
        let rowLength = p.rowLength
        var offsetInRow = 0
        for i in 0..<index { offsetInRow += p.copyCounts[i] }
        for row in 0..<p.outerCount {
            let source = row * count
            let destination = row * rowLength + offsetInRow
            if let factors = p.requantization[index] {
                for j in 0..<count {
                    let rounded = (Float(input[source + j]) * factors.scale + factors.bias).rounded(.toNearestOrAwayFromZero)
                    // Clamped before converting: C++ would convert out-of-range values undefinedly.
                    let value = Int32(min(max(rounded, -2_147_483_520), 2_147_483_520)) &+ p.outputZeroPoint
                    output[destination + j] = T(truncatingIfNeeded: min(max(value, Int32(T.min)), Int32(T.max)))
                }
            } else {
                for j in 0..<count { output[destination + j] = input[source + j] }
            }
        }
    }
}
