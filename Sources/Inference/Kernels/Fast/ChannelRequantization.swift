/// Per-output-channel requantization constants laid out for 16-lane SIMD loads, padded
/// with harmless values (multiplier 0) to a multiple of 16 channels.
///
/// Each channel's ``QuantizedMultiplier`` is split the way TFLite's
/// `MultiplyByQuantizedMultiplier` uses it: a left-shift factor `1 << max(shift, 0)`
/// (applied with a wrapping multiply, as the reference's `x * (1 << leftShift)`), the Q0.31
/// significand, and the right-shift exponent with its rounding mask.
struct ChannelRequantization: @unchecked Sendable {
    // @unchecked: the storage is written only in init.
    let paddedChannels: Int
    private let storage: AlignedStorage
    let outputOffset: Int32
    let minimum: Int32
    let maximum: Int32

    /// Whether the vector code reproduces every multiplier: right shifts above 31 (which
    /// ``QuantizedMultiplier`` never produces) are left to the reference kernels.
    static func covers(_ multipliers: [QuantizedMultiplier]) -> Bool {
        multipliers.allSatisfy { $0.shift >= -31 }
    }

    /// Packs `multipliers`; callers check ``covers(_:)`` first (uncovered shifts are clamped to 31).
    init(_ multipliers: [QuantizedMultiplier], outputOffset: Int32, activation: ActivationRange) {
        let padded = (multipliers.count + 15) / 16 * 16
        var values = [Int32](repeating: 0, count: 5 * padded)
        for (channel, q) in multipliers.enumerated() {
            let leftShift = q.shift > 0 ? q.shift : 0
            let rightShift = q.shift > 0 ? 0 : min(-q.shift, 31)
            let mask = Int32(truncatingIfNeeded: (Int64(1) << rightShift) - 1)
            values[channel] = Int32(1) << leftShift
            values[padded + channel] = q.multiplier
            values[2 * padded + channel] = Int32(rightShift)
            values[3 * padded + channel] = mask
            values[4 * padded + channel] = mask >> 1
        }
        paddedChannels = padded
        storage = AlignedStorage(copying: values)
        self.outputOffset = outputOffset
        minimum = activation.minimum
        maximum = activation.maximum
    }

    /// The requantized int8 outputs of channels `channel..<channel + 16` from their int32
    /// accumulators (bias included).
    ///
    /// Matches `multiplyByQuantizedMultiplier` + output offset + clamp of the reference
    /// kernels lane for lane: the doubling high multiply is done in int64 lanes (see
    /// ``doublingHighMul(_:_:)``), the `Int32.min * Int32.min` case saturates, and the
    /// rounding right shift uses the same mask/threshold rule (ties away from zero).
    @inline(__always)
    func requantize(_ acc: SIMD16<Int32>, channel: Int) -> SIMD16<Int8> {
        let base = UnsafeRawPointer(storage.bytes) + channel * 4
        let stride = paddedChannels * 4
        let leftFactor = base.loadUnaligned(as: SIMD16<Int32>.self)
        let multiplier = base.loadUnaligned(fromByteOffset: stride, as: SIMD16<Int32>.self)
        let rightShift = base.loadUnaligned(fromByteOffset: 2 * stride, as: SIMD16<Int32>.self)
        let mask = base.loadUnaligned(fromByteOffset: 3 * stride, as: SIMD16<Int32>.self)
        let halfMask = base.loadUnaligned(fromByteOffset: 4 * stride, as: SIMD16<Int32>.self)

        // Comparisons and `replacing(with:where:)` on SIMD types become lane-by-lane loops, so
        // every select below is sign-mask arithmetic (`v &>> 31` is -1 for negative lanes, else 0).
        let x = acc &* leftFactor
        var high = SIMD16<Int32>(
            lowHalf: Self.doublingHighMul(x.lowHalf, multiplier.lowHalf),
            highHalf: Self.doublingHighMul(x.highHalf, multiplier.highHalf))
        // Saturation: the quotient is in (-2^31, 2^31], and 2^31 (truncated: Int32.min) only
        // for x == multiplier == Int32.min, which gemmlowp saturates to Int32.max. `notMinimum`
        // is -1 for every other lane (t | -t has the sign bit unless t == 0).
        let distance = high ^ SIMD16<Int32>(repeating: .min)
        let notMinimum = (distance | (SIMD16<Int32>() &- distance)) &>> 31
        high &-= notMinimum &+ 1

        let remainder = high & mask
        let threshold = halfMask &- (high &>> 31)
        // remainder > threshold ⇔ threshold - remainder < 0 (both in [0, 2^31), no overflow).
        var result = (high &>> rightShift) &- ((threshold &- remainder) &>> 31)
        result &+= SIMD16<Int32>(repeating: outputOffset)
        result = laneMinimum(laneMaximum(result, SIMD16<Int32>(repeating: minimum)), SIMD16<Int32>(repeating: maximum))
        return narrowedToInt8(result)
    }

    /// gemmlowp's SaturatingRoundingDoublingHighMul without its saturation, lane by lane:
    /// `(a * b + nudge) / 2^31` truncated toward zero, nudge `2^30` for products ≥ 0 and
    /// `1 - 2^30` otherwise. Both cases equal `floor((a * b + 2^30) / 2^31)`: for a negative
    /// product, truncating `p + 1 - 2^30 < 0` toward zero is flooring after adding
    /// `2^31 - 1`. Only the low 32 bits of the shifted value are kept (the exceptional
    /// quotient 2^31 is handled by the caller).
    @inline(__always)
    static func doublingHighMul(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>) -> SIMD8<Int32> {
        let product = widenedToInt64(a) &* widenedToInt64(b)
        return narrowedToInt32((product &+ SIMD8<Int64>(repeating: 1 << 30)) &>> 31)
    }
}
