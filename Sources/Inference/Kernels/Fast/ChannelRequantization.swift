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
    /// Per 16-channel block, the constants of the single-rounding int64 path (x86), see
    /// ``requantizeInWideLanes(_:channel:)``; empty when that path is not used.
    private let wideStorage: AlignedStorage
    let outputOffset: Int32
    let minimum: Int32
    let maximum: Int32
    /// Whether ``requantize(_:channel:)`` takes the int64 single-rounding path: on x86 when
    /// no multiplier is `Int32.min` (the only case where the doubling high multiply
    /// saturates). Otherwise, and on arm64, it takes the two-step gemmlowp path.
    let roundsInWideLanes: Bool
    /// Whether some channel has a left shift (`shift > 0`); else the multiply by
    /// `1 << leftShift` is skipped.
    let shiftsLeft: Bool

    /// Bytes of one 16-channel block in `wideStorage`: three tables of 16 int64 constants
    /// (rounding addend, negative-product adjustment, shift count) in even/odd lane order,
    /// then 16 int32 final addends in channel order.
    static let wideBlockBytes = 3 * 128 + 64

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
        shiftsLeft = multipliers.contains { $0.shift > 0 }
        #if arch(arm64)
        // NEON keeps the two-step path (its conformance is checked under qemu by scripts/test-arm64).
        roundsInWideLanes = false
        wideStorage = AlignedStorage(byteCount: 0)
        #else
        roundsInWideLanes = !multipliers.contains { $0.multiplier == .min }
        wideStorage = roundsInWideLanes
            ? Self.wideConstantTable(multipliers, paddedChannels: padded, outputOffset: outputOffset)
            : AlignedStorage(byteCount: 0)
        #endif
    }

    /// The ``wideBlockBytes``-byte blocks of ``requantizeInWideLanes(_:channel:)``'s constants.
    private static func wideConstantTable(
        _ multipliers: [QuantizedMultiplier], paddedChannels padded: Int, outputOffset: Int32
    ) -> AlignedStorage {
        let table = AlignedStorage(byteCount: padded / 16 * wideBlockBytes)
        for channel in 0..<padded {
            let rightShift = channel < multipliers.count && multipliers[channel].shift < 0 ? min(-multipliers[channel].shift, 31) : 0
            let block = table.bytes + channel / 16 * wideBlockBytes
            // Lane l of a 16-lane block sits in vector (l / 8) * 2 + l % 2 (even lanes of
            // each 8-lane half, then its odd lanes), element (l % 8) / 2.
            let lane = channel % 16
            let slot = ((lane / 8) * 2 + lane % 2) * 4 + (lane % 8) / 2
            let (add, adjust, count, final) = wideConstants(rightShift: rightShift, outputOffset: outputOffset)
            block.storeBytes(of: add, toByteOffset: slot * 8, as: Int64.self)
            block.storeBytes(of: adjust, toByteOffset: 128 + slot * 8, as: Int64.self)
            block.storeBytes(of: count, toByteOffset: 256 + slot * 8, as: UInt64.self)
            block.storeBytes(of: final, toByteOffset: 384 + lane * 4, as: Int32.self)
        }
        return table
    }

    /// The constants of one channel for ``roundedHighProducts(_:_:_:)``, with `s = rightShift`:
    ///
    /// The reference computes `h = floor((p + 2^30) / 2^31)` (the doubling high multiply of
    /// the product `p`, see ``doublingHighMul(_:_:)``) and then rounds `h / 2^s` half away
    /// from zero, i.e. `floor((h + 2^(s-1) - [h < 0]) / 2^s)` for `s ≥ 1`. Nested floors
    /// of integer divisions merge (`floor((floor(t / a) + c) / b) = floor((t + c·a) / (a·b))`),
    /// and `h < 0` ⇔ `t = p + 2^30 < 0`, so the result is one floor division of a 64-bit
    /// value: `floor((t + 2^(s+30) - [t < 0]·2^31) / 2^(31+s))`. The test may be on `p`
    /// instead of `t`, saving the addition of 2^30 before it: the two differ only for
    /// `t` in `[0, 2^30)`, where both dividends lie in `[0, 2^(31+s))` (for `s ≥ 1`; for
    /// `s = 0` there is no adjustment) and so give the same quotient, 0. Hence
    /// `floor((p + 2^30 + 2^(s+30) - [p < 0]·2^31) / 2^(31+s))`. |p| < 2^62 (the multiplier
    /// is not Int32.min), so the dividend is inside ±2^63; adding 2^63 makes it unsigned,
    /// which lets a logical shift (AVX2 has no 64-bit arithmetic one) do the floor division;
    /// the bias it adds to the quotient, 2^(32-s), is subtracted (mod 2^32) in `final`,
    /// together with the output offset. `add` is 2^63 + 2^30 + 2^(s+30) (mod 2^64).
    static func wideConstants(rightShift s: Int, outputOffset: Int32) -> (add: Int64, adjust: Int64, count: UInt64, final: Int32) {
        let add = Int64.min &+ (1 << 30) &+ (s > 0 ? Int64(1) << (s + 30) : 0)
        let adjust: Int64 = s > 0 ? -(1 << 31) : 0
        let bias = Int32(truncatingIfNeeded: Int64(1) << (32 - s))
        return (add, adjust, UInt64(31 + s), outputOffset &- bias)
    }

    /// The requantized int8 outputs of channels `channel..<channel + 16` from their int32
    /// accumulators (bias included).
    ///
    /// Matches `multiplyByQuantizedMultiplier` + output offset + clamp of the reference
    /// kernels lane for lane. On x86 (unless a multiplier is Int32.min) it is one rounding
    /// of the exact int64 product, ``requantizeInWideLanes(_:channel:)``; otherwise the two
    /// gemmlowp steps, ``requantizeInSteps(_:channel:)``. Large callers should prefer
    /// ``requantize(_:count:channel:into:stride:)``: the optimizer stops inlining this
    /// function into a big caller after a copy or two and leaves a call per vector.
    @inline(__always)
    func requantize(_ acc: SIMD16<Int32>, channel: Int) -> SIMD16<Int8> {
        #if arch(arm64)
        return requantizeInSteps(acc, channel: channel)
        #else
        if roundsInWideLanes { return requantizeInWideLanes(acc, channel: channel) }
        return requantizeInStepsOutOfLine(acc, channel: channel)
        #endif
    }

    /// Requantizes `count` vectors of accumulators of channels `channel..<channel + 16` (the
    /// rows of a GEMM tile, or neighbouring pixels) and stores vector `r`'s 16 outputs at
    /// `destination + r * stride`.
    ///
    /// Why a loop: the optimizer inlines `requantize` into a large caller only once or twice
    /// and then leaves a call per vector; here one inlined copy serves every row.
    @inline(__always)
    func requantize(
        _ accumulators: UnsafePointer<SIMD16<Int32>>, count: Int, channel: Int, into destination: UnsafeMutableRawPointer, stride: Int
    ) {
        for r in 0..<count {
            destination.storeBytes(of: requantize(accumulators[r], channel: channel), toByteOffset: r * stride, as: SIMD16<Int8>.self)
        }
    }

    /// The rare x86 case (a multiplier of Int32.min) kept out of line, so that callers
    /// inline only the wide path.
    @inline(never)
    func requantizeInStepsOutOfLine(_ acc: SIMD16<Int32>, channel: Int) -> SIMD16<Int8> {
        requantizeInSteps(acc, channel: channel)
    }

    /// ``requantize(_:channel:)`` as one rounding of the exact int64 product per lane (see
    /// ``wideConstants(rightShift:outputOffset:)``): two `vpmuldq` per 8 lanes (even and odd
    /// lanes) and a variable logical shift, instead of the two-step rounding. Only valid
    /// when ``roundsInWideLanes``; `channel` is a multiple of 16.
    @inline(__always)
    func requantizeInWideLanes(_ acc: SIMD16<Int32>, channel: Int) -> SIMD16<Int8> {
        let base = UnsafeRawPointer(storage.bytes) + channel * 4
        let stride = paddedChannels * 4
        var x = acc
        if shiftsLeft { x &*= base.loadUnaligned(as: SIMD16<Int32>.self) }
        let multiplier = base.loadUnaligned(fromByteOffset: stride, as: SIMD16<Int32>.self)
        let block = UnsafeRawPointer(wideStorage.bytes) + channel / 16 * Self.wideBlockBytes
        var result = SIMD16<Int32>(
            lowHalf: Self.roundedHighProducts(x.lowHalf, multiplier.lowHalf, block),
            highHalf: Self.roundedHighProducts(x.highHalf, multiplier.highHalf, block + 64))
        result &+= block.loadUnaligned(fromByteOffset: 384, as: SIMD16<Int32>.self)
        result = laneMinimum(laneMaximum(result, SIMD16<Int32>(repeating: minimum)), SIMD16<Int32>(repeating: maximum))
        return narrowedToInt8(result)
    }

    /// The rounded `x * m / 2^(31+s)` of 8 lanes, plus 2^(32-s) (mod 2^32), from the
    /// constants at `constants` (even lanes' vectors at 0, odd lanes' at 32, tables 128 apart).
    @inline(__always)
    static func roundedHighProducts(_ x: SIMD8<Int32>, _ m: SIMD8<Int32>, _ constants: UnsafeRawPointer) -> SIMD8<Int32> {
        let x64 = unsafeBitCast(x, to: SIMD4<Int64>.self), m64 = unsafeBitCast(m, to: SIMD4<Int64>.self)
        // Sign-extended low and high halves of each int64 lane: the products are `vpmuldq`.
        let even = ((x64 &<< 32) &>> 32) &* ((m64 &<< 32) &>> 32)
        let odd = (x64 &>> 32) &* (m64 &>> 32)
        let low = roundedShift(even, constants)
        let high = roundedShift(odd, constants + 32)
        return unsafeBitCast((low & SIMD4<Int64>(repeating: 0xFFFF_FFFF)) | (high &<< 32), to: SIMD8<Int32>.self)
    }

    @inline(__always)
    private static func roundedShift(_ product: SIMD4<Int64>, _ constants: UnsafeRawPointer) -> SIMD4<Int64> {
        let add = constants.loadUnaligned(as: SIMD4<Int64>.self)
        let adjust = constants.loadUnaligned(fromByteOffset: 128, as: SIMD4<Int64>.self)
        let count = constants.loadUnaligned(fromByteOffset: 256, as: SIMD4<UInt64>.self)
        let dividend = unsafeBitCast(product &+ add &+ ((product &>> 63) & adjust), to: SIMD4<UInt64>.self)
        return unsafeBitCast(dividend &>> count, to: SIMD4<Int64>.self)
    }

    /// ``requantize(_:channel:)`` as gemmlowp computes it: the doubling high multiply in
    /// int64 lanes (see ``doublingHighMul(_:_:)``), the `Int32.min * Int32.min` case
    /// saturated, then the rounding right shift with the reference's mask/threshold rule
    /// (ties away from zero). Valid for every multiplier.
    @inline(__always)
    func requantizeInSteps(_ acc: SIMD16<Int32>, channel: Int) -> SIMD16<Int8> {
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
