import Foundation
import Testing
@testable import Inference

/// The integer arithmetic against cases derived by hand from the definitions in gemmlowp's
/// `fixedpoint.h` and TFLite's `common.h` / `quantization_util.cc`, and the documented
/// special cases of those sources.
@Suite struct FixedPointMathTests {
    @Test("SaturatingRoundingDoublingHighMul: Q0.31 products, ties, and the one saturating case")
    func doublingHighMul() {
        // 0.5 * 0.5 = 0.25 in Q0.31.
        #expect(saturatingRoundingDoublingHighMul(Int32(1) << 30, Int32(1) << 30) == 1 << 29)
        // gemmlowp documents the only overflow: min * min saturates to max.
        #expect(saturatingRoundingDoublingHighMul(Int32.min, Int32.min) == Int32.max)
        // (2^31-1)^2 * 2 / 2^32 = 2^31 - 2 + (2^30 + 1) / 2^31 → 2^31 - 2.
        #expect(saturatingRoundingDoublingHighMul(Int32.max, Int32.max) == Int32.max - 1)
        // 1 * 2^30 * 2 / 2^32 = 0.5: the positive nudge 2^30 gives (2^30 + 2^30) / 2^31 = 1.
        #expect(saturatingRoundingDoublingHighMul(1, Int32(1) << 30) == 1)
        // -0.5: the negative nudge 1 - 2^30 gives (-2^31 + 1) / 2^31, truncated to 0.
        #expect(saturatingRoundingDoublingHighMul(-1, Int32(1) << 30) == 0)
        // -1.5: (-3 * 2^30 + 1 - 2^30) / 2^31 = -2 + 2^-31, truncated to -1.
        #expect(saturatingRoundingDoublingHighMul(-3, Int32(1) << 30) == -1)
        // int16: 0.5 * 0.5 = 0.25 in Q0.15, and min * min saturates.
        #expect(saturatingRoundingDoublingHighMul(Int16(1) << 14, Int16(1) << 14) == 1 << 13)
        #expect(saturatingRoundingDoublingHighMul(Int16.min, Int16.min) == Int16.max)
    }

    @Test("RoundingDivideByPOT rounds to nearest with ties away from zero",
          arguments: [(5, 1, 3), (-5, 1, -3), (-4, 1, -2), (3, 2, 1), (-3, 2, -1), (6, 2, 2), (-6, 2, -2),
                      (7, 0, 7), (1, 1, 1), (-1, 1, -1), (1 << 20, 20, 1), ((1 << 19) - 1, 20, 0)])
    func roundingDivide(x: Int, exponent: Int, expected: Int) {
        #expect(roundingDivideByPOT(Int32(x), exponent) == Int32(expected))
    }

    @Test("the int16 RoundingDivideByPOT rounds the same way")
    func roundingDivideInt16() {
        #expect(roundingDivideByPOT(Int16(5), 1) == 3)
        #expect(roundingDivideByPOT(Int16(-5), 1) == -3)
        #expect(roundingDivideByPOT(Int16(-6), 2) == -2)
        #expect(roundingDivideByPOT(Int16.min, 15) == -1)
    }

    @Test("RoundingDivideByPOT by 31 maps the int32 extremes to -1 and 1")
    func roundingDivideExtremes() {
        #expect(roundingDivideByPOT(Int32.min, 31) == -1)
        #expect(roundingDivideByPOT(Int32.max, 31) == 1)
    }

    @Test("MultiplyByQuantizedMultiplier with 2^30 and shift 1 is the identity (TFLite's same-scale requantize case)")
    func identityMultiplier() {
        for x in stride(from: -40_000, through: 40_000, by: 37) {
            #expect(multiplyByQuantizedMultiplier(Int32(x), 1 << 30, 1) == Int32(x))
        }
        #expect(multiplyByQuantizedMultiplier(Int32.max / 2, 1 << 30, 1) == Int32.max / 2)
    }

    @Test("MultiplyByQuantizedMultiplier halves and quarters with double rounding")
    func fractionalMultipliers() {
        // 0.5 (2^30, shift 0): 3 → 1.5 → 2 in the high multiply; -3 → -1.5 → -1 (the nudge).
        #expect(multiplyByQuantizedMultiplier(3, 1 << 30, 0) == 2)
        #expect(multiplyByQuantizedMultiplier(-3, 1 << 30, 0) == -1)
        // 0.25 (2^30, shift -1): 10 → 5 (exact), then 5 / 2 = 2.5 → 3 away from zero.
        #expect(multiplyByQuantizedMultiplier(10, 1 << 30, -1) == 3)
        #expect(multiplyByQuantizedMultiplier(-10, 1 << 30, -1) == -3)
        // Smaller-than-one and greater-than-one variants agree with the general one.
        #expect(multiplyByQuantizedMultiplierSmallerThanOneExp(10, 1 << 30, -1) == 3)
        #expect(multiplyByQuantizedMultiplierGreaterThanOne(10, 1 << 30, 3) == 40)
    }

    @Test("QuantizeMultiplier splits a double into a Q0.31 significand and an exponent",
          arguments: [(0.5, Int32(1) << 30, 0), (1.0, Int32(1) << 30, 1), (0.75, Int32(3) << 29, 0),
                      (0.25, Int32(1) << 30, -1), (3.0, Int32(3) << 29, 2), (0.0, 0, 0)])
    func quantizeMultiplier(real: Double, multiplier: Int32, shift: Int) {
        #expect(QuantizedMultiplier(real) == QuantizedMultiplier(multiplier: multiplier, shift: shift))
    }

    @Test("QuantizeMultiplier renormalizes a significand that rounds up to 2^31 and flushes tiny values")
    func quantizeMultiplierEdges() {
        // frexp(1 - 2^-40) = (1 - 2^-40, 0); round((1 - 2^-40) * 2^31) = 2^31 → (2^30, 1).
        #expect(QuantizedMultiplier(1 - 0x1p-40) == QuantizedMultiplier(multiplier: 1 << 30, shift: 1))
        // 2^-40 has exponent -39 < -31: flushed to zero.
        #expect(QuantizedMultiplier(0x1p-40) == QuantizedMultiplier(multiplier: 0, shift: 0))
        #expect(QuantizedMultiplier.smallerThanOne(1.5) == nil)
        #expect(QuantizedMultiplier.greaterThanOne(0.5) == nil)
    }

    @Test("DownScaleInt32ToInt16Multiplier rounds to Q0.15 and saturates")
    func downScale() {
        #expect(downScaleInt32ToInt16Multiplier(1 << 30) == 1 << 14)
        #expect(downScaleInt32ToInt16Multiplier((1 << 30) + (1 << 15)) == (1 << 14) + 1)
        #expect(downScaleInt32ToInt16Multiplier(Int32.max) == Int16.max)
    }

    @Test("softmax scaling: beta 1 and input scale 1/16 give 2^22 in Q5.26 and a radius of 248")
    func softmaxScaling() throws {
        // beta * scale * 2^(31-5) = 2^22 → QuantizeMultiplier → (2^30, 23).
        let multiplier = try #require(preprocessSoftmaxScaling(beta: 1, inputScale: 0.0625, inputIntegerBits: 5))
        #expect(multiplier == QuantizedMultiplier(multiplier: 1 << 30, shift: 23))
        // floor((2^5 - 1) * 2^26 / 2^23) = 248.
        #expect(calculateInputRadius(inputIntegerBits: 5, inputLeftShift: 23) == 248)
        let parameters = try #require(SoftmaxParameters(outerCount: 1, depth: 10, beta: 1, inputScale: 0.0625))
        #expect(parameters.diffMin == -248)
    }

    @Test("exp_on_negative_values: exp(0) is One, and values follow exp within 1e-6")
    func expOnNegativeValues() {
        #expect(Inference.expOnNegativeValues(0, integerBits: 5) == Int32.max)
        for step in 1...2000 {
            let x = -Double(step) / 125  // down to -16
            let raw = Int32((x * 0x1p26).rounded())
            let result = Double(Inference.expOnNegativeValues(raw, integerBits: 5)) / 0x1p31
            #expect(abs(result - Foundation.exp(Double(raw) / 0x1p26)) < 1e-6, "x = \(x)")
        }
    }

    @Test("one_over_one_plus_x_for_x_in_0_1 follows 1/(1+x) within 1e-8")
    func reciprocalOfOnePlusX() {
        for step in 0..<1000 {
            let raw = Int32(Double(step) / 1000 * 0x1p31)
            let result = Double(oneOverOnePlusXForXIn01(raw)) / 0x1p31
            #expect(abs(result - 1 / (1 + Double(raw) / 0x1p31)) < 1e-8)
        }
    }

    @Test("MEAN folds the element count into the multiplier as QuantizedMeanOrSum does")
    func meanMultiplier() throws {
        // Scale ratio 1 → (2^30, 1); 49 elements: shift = 63 - clz64(49) = 5,
        // multiplier = (2^30 << 5) / 49 = 701219150, shift 1 - 5 = -4.
        let parameters = try #require(MeanParameters(
            inputShape: [1, 7, 7, 2], axes: [1, 2], inputZeroPoint: 0, outputZeroPoint: 0,
            scaleMultiplier: QuantizedMultiplier(1.0)))
        #expect(parameters.multiplier == QuantizedMultiplier(multiplier: 701_219_150, shift: -4))
        #expect(parameters.outputBaseOffsets == [0, 1])
        #expect(parameters.reducedOffsets.count == 49 && parameters.reducedOffsets.prefix(3) == [0, 2, 4])
    }

    @Test("SAME and VALID window geometry: output size and leading padding",
          arguments: [(Padding.same, 224, 3, 2, 1, 112, 0), (.same, 112, 3, 1, 1, 112, 1), (.valid, 7, 3, 2, 1, 3, 0),
                      (.same, 7, 5, 2, 1, 4, 2), (.same, 9, 3, 1, 2, 9, 2), (.valid, 11, 3, 1, 2, 7, 0),
                      (.same, 6, 2, 2, 1, 3, 0)])
    func windowGeometry(padding: Padding, input: Int, filter: Int, stride: Int, dilation: Int,
                        output: Int, leading: Int) throws {
        let geometry = try #require(WindowGeometry(padding: padding, inputSize: input, filterSize: filter,
                                                   stride: stride, dilation: dilation))
        #expect(geometry.outputSize == output)
        #expect(geometry.padding == leading)
    }

    @Test("activation ranges on an int8 output with scale 6/255 and zero point -128")
    func activationRanges() throws {
        let scale: Float = 6.0 / 255.0
        #expect(ActivationRange.quantized(.none, scale: scale, zeroPoint: -128, type: Int8.self)
            == ActivationRange(minimum: -128, maximum: 127))
        #expect(ActivationRange.quantized(.relu6, scale: scale, zeroPoint: -128, type: Int8.self)
            == ActivationRange(minimum: -128, maximum: 127))
        // RELU_N1_TO_1 with scale 1/64 and zero point 3: -1 → 3 - 64, 1 → 3 + 64.
        #expect(ActivationRange.quantized(.reluN1To1, scale: 1.0 / 64, zeroPoint: 3, type: Int8.self)
            == ActivationRange(minimum: -61, maximum: 67))
        #expect(ActivationRange.quantized(.tanh, scale: scale, zeroPoint: 0, type: Int8.self) == nil)
    }
}
