#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A 256-entry table mapping every int8 or uint8 input value to its output value.
struct LookupTable<T: FixedWidthInteger>: Sendable, Equatable where T: Sendable {
    /// Indexed by the input's bit pattern as UInt8 (TFLite's order: 0...127, -128...-1 for int8).
    var entries: [T]

    /// Reproduces TFLite `LUTPopulateInt8` of `common.h`: each input value dequantized in
    /// float (`inputScale * (q - zeroPoint)`), transformed in float, divided by the output
    /// scale (as a multiplication by its float inverse), rounded half away from zero,
    /// shifted by the output zero point and clamped.
    init(inputScale: Float, inputZeroPoint: Int32, outputScale: Float, outputZeroPoint: Int32,
         transform: (Float) -> Float) {
        var entries = [T](repeating: 0, count: 256)
        let inverseScale = 1 / outputScale
        for value in Int32(T.min)...Int32(T.max) {
            let dequantized = inputScale * Float(value - inputZeroPoint)
            let rescaled = (transform(dequantized) * inverseScale).rounded(.toNearestOrAwayFromZero)
            // Out-of-range floats would be undefined in C++; clamp them first.
            let quantized = Int32(min(max(rescaled, -2_147_483_520), 2_147_483_520)) &+ outputZeroPoint
            let clamped = T(truncatingIfNeeded: min(max(quantized, Int32(T.min)), Int32(T.max)))
            entries[Int(UInt8(truncatingIfNeeded: value))] = clamped
        }
        self.entries = entries
    }

    /// The logistic function in float, as TFLite's LOGISTIC table computes it:
    /// `1 / (1 + std::exp(-x))` on float.
    static func logistic(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}

/// Everything RELU, RELU6 and RELU_N1_TO_1 need: requantize and clamp.
struct ReluParameters: Sendable, Equatable {
    var inputZeroPoint: Int32
    var outputZeroPoint: Int32
    var multiplier: QuantizedMultiplier
    var activation: ActivationRange

    /// Reproduces TFLite `QuantizedReluX` of `activations.cc`: the bounds are
    /// `outputZeroPoint + Int32(roundf(bound / outputScale))` within the type, the upper one
    /// only when finite; the multiplier is `QuantizeMultiplier(inputScale / outputScale)`,
    /// the division done in float as the C++ does.
    static func make<T: FixedWidthInteger>(
        lower: Float, upper: Float?, inputScale: Float, inputZeroPoint: Int32,
        outputScale: Float, outputZeroPoint: Int32, type: T.Type
    ) -> ReluParameters? {
        func quantize(_ bound: Float) -> Int32? {
            let scaled = (bound / outputScale).rounded(.toNearestOrAwayFromZero)
            guard let q = Int32(exactly: scaled) else { return nil }
            return outputZeroPoint.addingReportingOverflow(q).overflow ? nil : outputZeroPoint &+ q
        }
        guard let lowerQ = quantize(lower) else { return nil }
        var maximum = Int32(T.max)
        if let upper {
            guard let upperQ = quantize(upper) else { return nil }
            maximum = min(maximum, upperQ)
        }
        return ReluParameters(
            inputZeroPoint: inputZeroPoint, outputZeroPoint: outputZeroPoint,
            multiplier: QuantizedMultiplier(Double(inputScale / outputScale)),
            activation: ActivationRange(minimum: max(Int32(T.min), lowerQ), maximum: maximum))
    }
}

/// Everything HARD_SWISH needs: TFLite's `HardSwishParams`.
struct HardSwishParameters: Sendable, Equatable {
    var inputZeroPoint: Int16
    var outputZeroPoint: Int16
    var reluishMultiplier: Int16
    var reluishExponent: Int
    var outputMultiplier: Int16
    var outputExponent: Int

    /// Reproduces TFLite `HardSwishPrepare` (`activations.cc`): scales computed in float,
    /// `hires = inputScale / 128`, output multiplier `hires / outputScale`, "reluish"
    /// multiplier `hires / (3 / 32768)`, each quantized to Q0.31 and rounded to Q0.15.
    /// Nil when the output multiplier exponent is positive (TFLite refuses it).
    init?(inputScale: Float, inputZeroPoint: Int32, outputScale: Float, outputZeroPoint: Int32) {
        let hiresInputScale: Float = (1.0 / 128.0) * inputScale
        let reluishScale: Float = 3.0 / 32768.0
        let output = QuantizedMultiplier(Double(hiresInputScale / outputScale))
        let reluish = QuantizedMultiplier(Double(hiresInputScale / reluishScale))
        guard output.shift <= 0, reluish.shift <= 31,
              let inputZero = Int16(exactly: inputZeroPoint), let outputZero = Int16(exactly: outputZeroPoint)
        else { return nil }
        self.inputZeroPoint = inputZero
        self.outputZeroPoint = outputZero
        self.outputMultiplier = downScaleInt32ToInt16Multiplier(output.multiplier)
        self.outputExponent = output.shift
        self.reluishMultiplier = downScaleInt32ToInt16Multiplier(reluish.multiplier)
        self.reluishExponent = reluish.shift
    }
}

extension ReferenceKernels {
    /// Applies a 256-entry table. Reproduces TFLite `LookupTable` as used by LOGISTIC for
    /// int8/uint8 (LiteRT's reference LOGISTIC uses the same float-built table).
    static func lookup<T: FixedWidthInteger>(
        _ table: LookupTable<T>, input: UnsafeBufferPointer<T>, output: UnsafeMutableBufferPointer<T>
    ) {
        table.entries.withUnsafeBufferPointer { entries in
            for i in 0..<output.count { output[i] = entries[Int(UInt8(truncatingIfNeeded: input[i]))] }
        }
    }

    /// Quantized ReLU family. Reproduces TFLite `reference_ops::ReluX(ReluParams)`:
    /// `outputZeroPoint + MultiplyByQuantizedMultiplier(q - inputZeroPoint)`, clamped.
    static func relu<T: FixedWidthInteger>(
        _ p: ReluParameters, input: UnsafeBufferPointer<T>, output: UnsafeMutableBufferPointer<T>
    ) {
        for i in 0..<output.count {
            let value = p.outputZeroPoint &+ multiplyByQuantizedMultiplier(
                Int32(input[i]) &- p.inputZeroPoint, p.multiplier.multiplier, p.multiplier.shift)
            output[i] = T(truncatingIfNeeded: min(max(value, p.activation.minimum), p.activation.maximum))
        }
    }

    /// Quantized hard swish, `x * relu6(x + 3) / 6`, in 16-bit fixed point.
    ///
    /// Reproduces TFLite `reference_ops::HardSwish(const HardSwishParams&, ...)` of
    /// `reference/hard_swish.h`, including its int16 wrap-arounds and saturations.
    static func hardSwish<T: FixedWidthInteger>(
        _ p: HardSwishParameters, input: UnsafeBufferPointer<T>, output: UnsafeMutableBufferPointer<T>
    ) {
        @inline(__always)
        func saturatingLeftShift(_ value: Int16, _ amount: Int) -> Int16 {
            let result = Int64(value) * (Int64(1) << amount)
            return Int16(min(max(result, Int64(Int16.min)), Int64(Int16.max)))
        }
        @inline(__always)
        func saturatingDoublingHighMul(_ a: Int16, _ b: Int16) -> Int16 {
            if a == b && a == .min { return .max }
            return Int16(truncatingIfNeeded: (Int32(a) * Int32(b)) / (1 << 15))
        }
        for i in 0..<output.count {
            let inputValue = Int16(truncatingIfNeeded: Int32(input[i]) - Int32(p.inputZeroPoint))
            let inputOnHiresScale = inputValue &* (1 << 7)
            let inputOnPreshiftOutputScale = saturatingRoundingDoublingHighMul(inputOnHiresScale, p.outputMultiplier)
            var reluish = inputOnHiresScale
            if p.reluishExponent > 0 {
                reluish = saturatingLeftShift(reluish, p.reluishExponent - 1)
            }
            reluish = saturatingRoundingDoublingHighMul(reluish, p.reluishMultiplier)
            if p.reluishExponent > 0 {
                reluish = saturatingLeftShift(reluish, 1)
            }
            if p.reluishExponent < 0 {
                reluish = roundingDivideByPOT(reluish, -p.reluishExponent)
            }
            // Maps [-1, 1] in Q0.15 to [0, 1]: (reluish + 2^15) >> 1 in int arithmetic.
            reluish = Int16(truncatingIfNeeded: (Int32(reluish) + (1 << 15)) >> 1)
            let preshiftOutput = saturatingDoublingHighMul(reluish, inputOnPreshiftOutputScale)
            var value = roundingDivideByPOT(preshiftOutput, -p.outputExponent)
            value = value &+ p.outputZeroPoint
            value = min(value, Int16(T.max))
            value = max(value, Int16(T.min))
            output[i] = T(truncatingIfNeeded: value)
        }
    }
}
