// gemmlowp's fixed-point transcendental functions on raw int32 values.
//
// gemmlowp encodes the number of integer bits of a `FixedPoint<int32_t, IntegerBits>` in
// its type; here the raw value is an `Int32` and the integer bits are a parameter, named
// in each function. Addition and subtraction of int32 fixed-point values wrap in gemmlowp
// (only int16 saturates), so they use `&+`/`&-`; multiplication is
// `saturatingRoundingDoublingHighMul` whose integer bits add up.

/// Changes the number of integer bits of a raw fixed-point value from `sourceBits` to
/// `destinationBits` (saturating when it gains fraction bits, rounding when it loses them).
///
/// Reproduces gemmlowp `Rescale<tIntegerBitsDst>(FixedPoint<int32_t, tIntegerBitsSrc>)`.
@inlinable
func rescaleFixedPoint(_ raw: Int32, from sourceBits: Int, to destinationBits: Int) -> Int32 {
    saturatingRoundingMultiplyByPOT(raw, sourceBits - destinationBits)
}

/// `exp(a)` for `a` in [-1/4, 0), both Q0.31.
///
/// Reproduces gemmlowp `exp_on_interval_between_negative_one_quarter_and_0_excl` (int32):
/// a fourth-order Taylor expansion around -1/8.
@inlinable
func expOnIntervalBetweenNegativeOneQuarterAnd0Excl(_ a: Int32) -> Int32 {
    let constantTerm: Int32 = 1_895_147_668  // exp(-1/8) in Q0.31
    let constantOneOverThree: Int32 = 715_827_883  // 1/3 in Q0.31
    let x = a &+ (1 << 28)  // a + 1/8
    let x2 = saturatingRoundingDoublingHighMul(x, x)
    let x3 = saturatingRoundingDoublingHighMul(x2, x)
    let x4 = saturatingRoundingDoublingHighMul(x2, x2)
    let x4Over4 = saturatingRoundingMultiplyByPOT(x4, -2)
    let x4Over24PlusX3Over6PlusX2Over2 = saturatingRoundingMultiplyByPOT(
        saturatingRoundingDoublingHighMul(x4Over4 &+ x3, constantOneOverThree) &+ x2, -1)
    return constantTerm &+ saturatingRoundingDoublingHighMul(constantTerm, x &+ x4Over24PlusX3Over6PlusX2Over2)
}

/// `exp(a)` for `a` ≤ 0 given with `integerBits` integer bits; the result is Q0.31
/// (`Int32.max` for `a == 0`).
///
/// Reproduces gemmlowp `exp_on_negative_values(FixedPoint<int32_t, integerBits>)`: the
/// fraction modulo 1/4 by Taylor expansion, then one multiplication by a constant
/// `exp(-2^k)` per set bit of the remainder (the "barrel shifter").
@inlinable
func expOnNegativeValues(_ a: Int32, integerBits: Int) -> Int32 {
    let fractionalBits = 31 - integerBits
    let oneQuarter = Int32(1) << (fractionalBits - 2)
    let mask = oneQuarter - 1
    let aModQuarterMinusOneQuarter = (a & mask) &- oneQuarter
    var result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(
        rescaleFixedPoint(aModQuarterMinusOneQuarter, from: integerBits, to: 0))
    let remainder = aModQuarterMinusOneQuarter &- a

    // One multiplication by exp(-2^exponent) (Q0.31) per set bit of the remainder.
    @inline(__always)
    func barrelShift(_ exponent: Int, _ multiplier: Int32) {
        guard integerBits > exponent else { return }
        let bit = Int32(truncatingIfNeeded: 1 << (fractionalBits + exponent))
        if remainder & bit != 0 {
            result = saturatingRoundingDoublingHighMul(result, multiplier)
        }
    }
    barrelShift(-2, 1_672_461_947)  // exp(-1/4)
    barrelShift(-1, 1_302_514_674)  // exp(-1/2)
    barrelShift(0, 790_015_084)  // exp(-1)
    barrelShift(1, 290_630_308)  // exp(-2)
    barrelShift(2, 39_332_535)  // exp(-4)
    barrelShift(3, 720_401)  // exp(-8)
    barrelShift(4, 242)  // exp(-16)
    if integerBits > 5 {
        // Below -32 the result is 0.
        let clamp = -(Int32(1) << (36 - integerBits))
        if a < clamp { result = 0 }
    }
    if a == 0 { result = .max }
    return result
}

/// `(a + b) / 2` rounded to nearest, ties away from zero.
///
/// Reproduces gemmlowp `RoundingHalfSum(int32, int32)`.
@inlinable
func roundingHalfSum(_ a: Int32, _ b: Int32) -> Int32 {
    let sum = Int64(a) + Int64(b)
    let sign: Int64 = sum >= 0 ? 1 : -1
    return Int32(truncatingIfNeeded: (sum + sign) / 2)
}

/// `1 / (1 + a)` for `a` in [0, 1), both Q0.31.
///
/// Reproduces gemmlowp `one_over_one_plus_x_for_x_in_0_1` (int32): three Newton-Raphson
/// iterations from the 48/17 - 32/17·d initial guess, in Q2.29.
@inlinable
func oneOverOnePlusXForXIn01(_ a: Int32) -> Int32 {
    let halfDenominator = roundingHalfSum(a, .max)  // (1 + a) / 2 in Q0.31
    let constant48Over17: Int32 = 1_515_870_810  // Q2.29
    let constantMinus32Over17: Int32 = -1_010_580_540  // Q2.29
    let oneQ2: Int32 = 1 << 29
    var x = constant48Over17 &+ saturatingRoundingDoublingHighMul(halfDenominator, constantMinus32Over17)
    for _ in 0..<3 {
        let halfDenominatorTimesX = saturatingRoundingDoublingHighMul(halfDenominator, x)
        let oneMinusHalfDenominatorTimesX = oneQ2 &- halfDenominatorTimesX
        x = x &+ rescaleFixedPoint(saturatingRoundingDoublingHighMul(x, oneMinusHalfDenominatorTimesX), from: 4, to: 2)
    }
    // ExactMulByPot<-1> reinterprets Q2.29 as Q1.30; Rescale<0> then doubles, saturating.
    return rescaleFixedPoint(x, from: 1, to: 0)
}

/// The reciprocal of a positive fixed-point value with `integerDigits` integer bits:
/// returns a Q0.31 scale in [0.5, 1] and how many bits the value has above 1, so that
/// `1/x = scale * 2^-bitsOverUnit`.
///
/// Reproduces TFLite `GetReciprocal` of `kernels/internal/common.h`.
@inlinable
func reciprocal(_ x: Int32, integerDigits: Int) -> (scale: Int32, bitsOverUnit: Int) {
    let headroomPlusOne = countLeadingZeros(UInt32(bitPattern: x))
    let bitsOverUnit = integerDigits - headroomPlusOne
    let shiftedSumMinusOne = Int32(bitPattern: (UInt32(bitPattern: x) << UInt32(headroomPlusOne)) &- (1 << 31))
    return (oneOverOnePlusXForXIn01(shiftedSumMinusOne), bitsOverUnit)
}
