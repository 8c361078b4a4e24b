/// Everything a quantized SOFTMAX needs besides its tensors.
struct SoftmaxParameters: Sendable, Equatable {
    /// Integer bits of the scaled input differences fed to exp (TFLite's `kScaledDiffIntegerBits`).
    static let scaledDiffIntegerBits = 5
    /// Integer bits of the sum of exponentials (TFLite's `kAccumulationIntegerBits`).
    static let accumulationIntegerBits = 12

    /// Rows (all dimensions but the last).
    var outerCount: Int
    /// Length of the last dimension.
    var depth: Int
    /// `beta * inputScale` in Q5.26, as multiplier and left shift.
    var inputMultiplier: QuantizedMultiplier
    /// Differences from the row maximum below this contribute exactly 0.
    var diffMin: Int32

    /// Reproduces the reference branch of TFLite `SoftmaxPrepare` (`activations.cc`):
    /// `PreprocessSoftmaxScaling(beta, inputScale, 5)` and
    /// `diff_min = -CalculateInputRadius(5, leftShift)`. Nil where TFLite would abort.
    init?(outerCount: Int, depth: Int, beta: Float, inputScale: Float) {
        guard let multiplier = preprocessSoftmaxScaling(
            beta: Double(beta), inputScale: Double(inputScale), inputIntegerBits: Self.scaledDiffIntegerBits)
        else { return nil }
        self.outerCount = outerCount
        self.depth = depth
        self.inputMultiplier = multiplier
        let radius = calculateInputRadius(inputIntegerBits: Self.scaledDiffIntegerBits, inputLeftShift: multiplier.shift)
        self.diffMin = Int32(clamping: -radius)
    }
}

extension ReferenceKernels {
    /// Quantized softmax over the last dimension (int8 → int8 or uint8 → uint8), output
    /// scale 1/256 and zero point at the type's minimum.
    ///
    /// Reproduces TFLite `reference_ops::Softmax(const SoftmaxParams&, ..., InputT, OutputT)`
    /// of `reference/softmax.h`: differences from the row maximum rescaled to Q5.26,
    /// gemmlowp `exp_on_negative_values`, a Q12.19 sum, its reciprocal by `GetReciprocal`,
    /// and a rounding shift to 8 bits.
    static func softmax<T: FixedWidthInteger>(
        _ p: SoftmaxParameters, input: UnsafeBufferPointer<T>, output: UnsafeMutableBufferPointer<T>
    ) {
        let integerBits = SoftmaxParameters.scaledDiffIntegerBits
        let accumulationBits = SoftmaxParameters.accumulationIntegerBits
        @inline(__always)
        func expOfDifference(_ difference: Int32) -> Int32 {
            let rescaled = multiplyByQuantizedMultiplierGreaterThanOne(
                difference, p.inputMultiplier.multiplier, p.inputMultiplier.shift)
            return expOnNegativeValues(rescaled, integerBits: integerBits)
        }
        for row in 0..<p.outerCount {
            let base = row * p.depth
            var maxInRow = T.min
            for c in 0..<p.depth { maxInRow = max(maxInRow, input[base + c]) }
            let maximum = Int32(maxInRow)

            var sumOfExps: Int32 = 0
            for c in 0..<p.depth {
                let difference = Int32(input[base + c]) - maximum
                if difference >= p.diffMin {
                    sumOfExps = sumOfExps &+ rescaleFixedPoint(expOfDifference(difference), from: 0, to: accumulationBits)
                }
            }

            let (shiftedScale, bitsOverUnit) = reciprocal(sumOfExps, integerDigits: accumulationBits)
            let exponent = bitsOverUnit + 31 - T.bitWidth

            for c in 0..<p.depth {
                let difference = Int32(input[base + c]) - maximum
                if difference >= p.diffMin {
                    let expIn0 = expOfDifference(difference)
                    let unsaturated = roundingDivideByPOT(saturatingRoundingDoublingHighMul(shiftedScale, expIn0), exponent)
                    let shifted = unsaturated &+ Int32(T.min)
                    output[base + c] = T(truncatingIfNeeded: min(max(shifted, Int32(T.min)), Int32(T.max)))
                } else {
                    output[base + c] = T.min
                }
            }
        }
    }
}
