/// The clamp range of a quantized output after its fused activation.
struct ActivationRange: Sendable, Equatable {
    var minimum: Int32
    var maximum: Int32

    /// The whole range of the output type (no activation).
    static func full<T: FixedWidthInteger>(of type: T.Type) -> ActivationRange {
        ActivationRange(minimum: Int32(T.min), maximum: Int32(T.max))
    }

    /// The range of `activation` on an output quantized with `scale` and `zeroPoint`,
    /// within `[T.min, T.max]`; nil for activations without a quantized range (TANH,
    /// SIGN_BIT) or bounds that overflow int32.
    ///
    /// Reproduces TFLite `CalculateActivationRangeQuantized` of `kernel_util.cc`: each bound
    /// is `zeroPoint + round(f / scale)` with the division in float and rounding half away
    /// from zero.
    static func quantized<T: FixedWidthInteger>(
        _ activation: FusedActivation, scale: Float, zeroPoint: Int32, type: T.Type
    ) -> ActivationRange? {
        let qmin = Int32(T.min), qmax = Int32(T.max)
        func quantize(_ value: Float) -> Int32? {
            let scaled = (value / scale).rounded(.toNearestOrAwayFromZero)
            guard scaled >= Float(Int32.min), scaled <= Float(Int32.max),
                  let q = Int32(exactly: scaled) else { return nil }
            let (sum, overflow) = zeroPoint.addingReportingOverflow(q)
            return overflow ? nil : sum
        }
        switch activation {
        case .none:
            return ActivationRange(minimum: qmin, maximum: qmax)
        case .relu:
            guard let zero = quantize(0) else { return nil }
            return ActivationRange(minimum: max(qmin, zero), maximum: qmax)
        case .relu6:
            guard let zero = quantize(0), let six = quantize(6) else { return nil }
            return ActivationRange(minimum: max(qmin, zero), maximum: min(qmax, six))
        case .reluN1To1:
            guard let minusOne = quantize(-1), let one = quantize(1) else { return nil }
            return ActivationRange(minimum: max(qmin, minusOne), maximum: min(qmax, one))
        case .tanh, .signBit:
            return nil
        }
    }
}
