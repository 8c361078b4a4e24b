// Integer requantization arithmetic of TFLite's reference kernels.
//
// Each function reproduces one function of gemmlowp (`fixedpoint/fixedpoint.h`) or of
// TFLite (`kernels/internal/common.h`, `common.cc`, `quantization_util.cc`) bit for bit,
// in the default build of LiteRT: `TFLITE_SINGLE_ROUNDING` off, so requantization rounds
// twice: SaturatingRoundingDoublingHighMul (ties toward +infinity, because its negative
// nudge is 1 - 2^30 and the division truncates), then RoundingDivideByPOT (ties away from
// zero). Where C++ relies on two's-complement wrap-around the Swift code uses
// wrapping operators, so hostile values give the same bits instead of a trap.

/// `(a * b * 2) / 2^32` rounded to nearest, saturating the one overflowing case
/// `a == b == Int32.min`. Ties go toward +infinity: 0.5 → 1 but -0.5 → 0.
///
/// Reproduces gemmlowp `SaturatingRoundingDoublingHighMul(int32, int32)` (ARM `SQRDMULH`
/// except for the tie rule).
@inlinable
func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
    if a == b && a == .min { return .max }
    let product = Int64(a) * Int64(b)
    let nudge: Int64 = product >= 0 ? 1 << 30 : 1 - (1 << 30)
    // Int64 division truncates toward zero, like C++.
    return Int32(truncatingIfNeeded: (product + nudge) / (1 << 31))
}

/// The int16 flavour: `(a * b * 2) >> 16` rounded, saturating `a == b == Int16.min`.
///
/// Reproduces gemmlowp `SaturatingRoundingDoublingHighMul(int16, int16)`.
@inlinable
func saturatingRoundingDoublingHighMul(_ a: Int16, _ b: Int16) -> Int16 {
    if a == b && a == .min { return .max }
    let product = Int32(a) * Int32(b)
    let nudge: Int32 = product >= 0 ? 1 << 14 : 1 - (1 << 14)
    return Int16(truncatingIfNeeded: (product + nudge) / (1 << 15))
}

/// `x / 2^exponent` rounded to nearest, ties away from zero (`exponent` in 0...31).
///
/// Reproduces gemmlowp `RoundingDivideByPOT(int32, int)`.
@inlinable
func roundingDivideByPOT(_ x: Int32, _ exponent: Int) -> Int32 {
    let mask = Int32(truncatingIfNeeded: (Int64(1) << exponent) - 1)
    let remainder = x & mask
    let threshold = (mask >> 1) &+ (x < 0 ? 1 : 0)
    return (x >> exponent) &+ (remainder > threshold ? 1 : 0)
}

/// The int16 flavour of `roundingDivideByPOT` (`exponent` in 0...31; the mask is
/// truncated to 16 bits as gemmlowp's `Dup<int16_t>` does).
///
/// Reproduces gemmlowp `RoundingDivideByPOT(int16, int)`.
@inlinable
func roundingDivideByPOT(_ x: Int16, _ exponent: Int) -> Int16 {
    let mask = Int16(truncatingIfNeeded: (Int64(1) << exponent) - 1)
    let remainder = x & mask
    let threshold = (mask >> 1) &+ (x < 0 ? 1 : 0)
    return (x >> exponent) &+ (remainder > threshold ? 1 : 0)
}

/// `x * 2^exponent` for a compile-time exponent in gemmlowp: a saturating left shift for
/// positive exponents, `roundingDivideByPOT` for negative ones.
///
/// Reproduces gemmlowp `SaturatingRoundingMultiplyByPOT<Exponent>(int32)`.
@inlinable
func saturatingRoundingMultiplyByPOT(_ x: Int32, _ exponent: Int) -> Int32 {
    if exponent == 0 { return x }
    if exponent < 0 { return roundingDivideByPOT(x, -exponent) }
    let threshold = Int32((1 << (31 - exponent)) - 1)
    if x > threshold { return .max }
    if x < -threshold { return .min }
    return x << exponent
}

/// `x * multiplier * 2^shift` where `multiplier` is a Q0.31 fraction in [0.5, 1) and
/// `shift` may be positive (a left shift of `x` first) or negative (a rounding right
/// shift at the end).
///
/// Reproduces TFLite `MultiplyByQuantizedMultiplier(int32_t, int32_t, int)` of
/// `kernels/internal/common.cc` with `TFLITE_SINGLE_ROUNDING` off.
@inlinable
func multiplyByQuantizedMultiplier(_ x: Int32, _ multiplier: Int32, _ shift: Int) -> Int32 {
    let leftShift = shift > 0 ? shift : 0
    let rightShift = shift > 0 ? 0 : -shift
    return roundingDivideByPOT(
        saturatingRoundingDoublingHighMul(x &* (Int32(1) << leftShift), multiplier), rightShift)
}

/// ``multiplyByQuantizedMultiplier(_:_:_:)`` for multipliers known to be < 1
/// (`leftShift` ≤ 0).
///
/// Reproduces TFLite `MultiplyByQuantizedMultiplierSmallerThanOneExp` (double rounding).
@inlinable
func multiplyByQuantizedMultiplierSmallerThanOneExp(_ x: Int32, _ multiplier: Int32, _ leftShift: Int) -> Int32 {
    roundingDivideByPOT(saturatingRoundingDoublingHighMul(x, multiplier), -leftShift)
}

/// ``multiplyByQuantizedMultiplier(_:_:_:)`` for multipliers known to be > 1
/// (`leftShift` ≥ 0): a wrapping left shift, then the high multiply.
///
/// Reproduces TFLite `MultiplyByQuantizedMultiplierGreaterThanOne` (double rounding).
@inlinable
func multiplyByQuantizedMultiplierGreaterThanOne(_ x: Int32, _ multiplier: Int32, _ leftShift: Int) -> Int32 {
    saturatingRoundingDoublingHighMul(x &* (Int32(1) << leftShift), multiplier)
}

/// Number of leading zero bits of a 32-bit pattern (32 for 0).
///
/// Reproduces TFLite `CountLeadingZeros(uint32_t)`.
@inlinable
func countLeadingZeros(_ x: UInt32) -> Int { x.leadingZeroBitCount }

/// A real multiplier as TFLite stores it: a Q0.31 significand in [2^30, 2^31) (or 0) and
/// a power-of-two exponent, `real ≈ multiplier / 2^31 * 2^shift`.
struct QuantizedMultiplier: Sendable, Equatable {
    var multiplier: Int32
    var shift: Int

    init(multiplier: Int32, shift: Int) {
        self.multiplier = multiplier
        self.shift = shift
    }

    /// Splits `real` into significand and exponent.
    ///
    /// Reproduces TFLite `QuantizeMultiplier(double, int32_t*, int*)` of
    /// `quantization_util.cc` (`std::frexp`, significand rounded half away from zero,
    /// a significand that rounds up to 2^31 renormalized, exponents below -31 flushed
    /// to zero). Negative multipliers keep their sign in the significand, as `frexp` does.
    init(_ real: Double) {
        guard real != 0, real.isFinite else {
            self.init(multiplier: 0, shift: 0)
            return
        }
        // frexp: real = fraction * 2^exponent with |fraction| in [0.5, 1).
        let exponent = Int(real.exponent) + 1
        let fraction = real.sign == .minus ? -real.significand / 2 : real.significand / 2
        var fixed = Int64((fraction * Double(Int64(1) << 31)).rounded(.toNearestOrAwayFromZero))
        var shift = exponent
        if fixed == Int64(1) << 31 {
            fixed /= 2
            shift += 1
        }
        if shift < -31 {
            shift = 0
            fixed = 0
        }
        self.init(multiplier: Int32(truncatingIfNeeded: fixed), shift: shift)
    }

    /// Reproduces TFLite `QuantizeMultiplierSmallerThanOneExp`: nil unless 0 < `real` < 1
    /// (where TFLite's checks would abort).
    static func smallerThanOne(_ real: Double) -> QuantizedMultiplier? {
        guard real > 0, real < 1 else { return nil }
        let result = QuantizedMultiplier(real)
        return result.shift <= 0 ? result : nil
    }

    /// Reproduces TFLite `QuantizeMultiplierGreaterThanOne`: nil unless `real` > 1.
    static func greaterThanOne(_ real: Double) -> QuantizedMultiplier? {
        guard real > 1 else { return nil }
        let result = QuantizedMultiplier(real)
        return result.shift >= 0 ? result : nil
    }
}

/// Rounds an int32 Q0.31 multiplier to Q0.15, saturating at `Int16.max`.
///
/// Reproduces TFLite `DownScaleInt32ToInt16Multiplier` of `common.h`.
func downScaleInt32ToInt16Multiplier(_ multiplier: Int32) -> Int16 {
    let roundingOffset: Int32 = 1 << 15
    if multiplier >= Int32.max - roundingOffset { return .max }
    return Int16(truncatingIfNeeded: (multiplier + roundingOffset) >> 16)
}

/// The input multiplier of the quantized softmax: `beta * inputScale` as a fixed-point
/// number with `inputIntegerBits` integer bits, capped at `2^31 - 1`.
///
/// Reproduces TFLite `PreprocessSoftmaxScaling` of `quantization_util.cc` (double-rounding
/// build). Returns nil where TFLite would abort (the product is not above 1).
func preprocessSoftmaxScaling(beta: Double, inputScale: Double, inputIntegerBits: Int) -> QuantizedMultiplier? {
    let maxRealMultiplier = Double((Int64(1) << 31) - 1)
    let real = min(beta * inputScale * Double(Int64(1) << (31 - inputIntegerBits)), maxRealMultiplier)
    return QuantizedMultiplier.greaterThanOne(real)
}

/// The largest input difference that, shifted left by `inputLeftShift`, still fits the
/// fixed-point format with `inputIntegerBits` integer bits out of `totalSignedBits`.
///
/// Reproduces TFLite `CalculateInputRadius` of `quantization_util.cc` (floating-point path).
func calculateInputRadius(inputIntegerBits: Int, inputLeftShift: Int, totalSignedBits: Int = 31) -> Int {
    let maxInputRescaled = 1.0 * Double((1 << inputIntegerBits) - 1)
        * Double(Int64(1) << (totalSignedBits - inputIntegerBits))
        / Double(Int64(1) << inputLeftShift)
    return Int(maxInputRescaled.rounded(.down))
}
