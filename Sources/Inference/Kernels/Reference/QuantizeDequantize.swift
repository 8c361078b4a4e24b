/// Parameters of QUANTIZE from float32: the output's scale and zero point.
struct AffineQuantizeParameters: Sendable, Equatable {
    var scale: Float
    var zeroPoint: Int32
}

/// Parameters of QUANTIZE between integer types (a requantization).
struct RequantizeParameters: Sendable, Equatable {
    var inputZeroPoint: Int32
    var outputZeroPoint: Int32
    /// `QuantizeMultiplier(inputScale / outputScale)`, the division in double.
    var multiplier: QuantizedMultiplier
}

/// Parameters of DEQUANTIZE: the input's scale and zero point.
struct DequantizeParameters: Sendable, Equatable {
    var scale: Float
    var zeroPoint: Int32
}

extension ReferenceKernels {
    /// Float32 to int8/uint8. Reproduces TFLite `reference_ops::AffineQuantize`:
    /// `round(x / scale) + zeroPoint` with the division in float, rounding half away from
    /// zero, clamped to the type.
    static func quantize<T: FixedWidthInteger>(
        _ p: AffineQuantizeParameters, input: UnsafeBufferPointer<Float>, output: UnsafeMutableBufferPointer<T>
    ) {
        let minimum = Int32(T.min), maximum = Int32(T.max)
        for i in 0..<output.count {
            let rounded = (input[i] / p.scale).rounded(.toNearestOrAwayFromZero)
            // C++ converts out-of-range floats undefinedly (x86 gives INT32_MIN); NaN maps to
            // the zero point here. Clamping first keeps every finite value's result exact.
            let integer = rounded.isNaN ? 0 : Int32(min(max(rounded, -2_147_483_520), 2_147_483_520))
            let value = integer &+ p.zeroPoint
            output[i] = T(truncatingIfNeeded: min(max(value, minimum), maximum))
        }
    }

    /// Int8/uint8 to int8/uint8 with another scale or zero point. Reproduces TFLite
    /// `reference_ops::Requantize`: `MultiplyByQuantizedMultiplier(q - zi) + zo`, clamped
    /// (its int8↔uint8 "xor 0x80" fast path gives the same bytes).
    static func requantize<Input: FixedWidthInteger, Output: FixedWidthInteger>(
        _ p: RequantizeParameters, input: UnsafeBufferPointer<Input>, output: UnsafeMutableBufferPointer<Output>
    ) {
        let minimum = Int32(Output.min), maximum = Int32(Output.max)
        for i in 0..<output.count {
            let value = multiplyByQuantizedMultiplier(
                Int32(truncatingIfNeeded: input[i]) &- p.inputZeroPoint, p.multiplier.multiplier, p.multiplier.shift)
                &+ p.outputZeroPoint
            output[i] = Output(truncatingIfNeeded: min(max(value, minimum), maximum))
        }
    }

    /// Int8/uint8 to float32. Reproduces TFLite `reference_integer_ops::Dequantize` /
    /// `reference_ops::Dequantize`: `Float(Double(scale) * Double(q - zeroPoint))`.
    static func dequantize<T: FixedWidthInteger>(
        _ p: DequantizeParameters, input: UnsafeBufferPointer<T>, output: UnsafeMutableBufferPointer<Float>
    ) {
        let scale = Double(p.scale)
        for i in 0..<output.count {
            output[i] = Float(scale * Double(Int32(truncatingIfNeeded: input[i]) - p.zeroPoint))
        }
    }
}
