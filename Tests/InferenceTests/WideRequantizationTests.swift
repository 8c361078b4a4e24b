import Testing
@testable import Inference

/// The single-rounding int64 requantization (``ChannelRequantization/requantizeInWideLanes(_:channel:)``,
/// the x86 path for every multiplier but Int32.min) against the scalar
/// `multiplyByQuantizedMultiplier` + offset + clamp, on the values where the two roundings
/// could disagree: every right shift 0...31, left shifts, rounding ties, wrapping
/// accumulators, negative and extreme multipliers.
@Suite struct WideRequantizationTests {
    static let extremeAccumulators: [Int32] = [
        .min, .min + 1, -1 << 30, -65537, -32768, -3, -2, -1, 0, 1, 2, 3, 32767, 1 << 30, .max - 1, .max,
    ]
    static let extremeMultipliers: [Int32] = [.max, .min + 1, 1 << 30, (1 << 30) + 1, -(1 << 30), 0, 1, -1, 2, 0x5555_5555]

    @Test("wide-lane requantization equals multiplyByQuantizedMultiplier + offset + clamp for every shift")
    func wideLanesMatchScalar() {
        var random = SplitMix64(seed: 0x5EED_0002)
        for trial in 0..<3000 {
            var multipliers: [QuantizedMultiplier] = []
            for lane in 0..<32 {
                let multiplier = lane % 3 == 0 ? Self.extremeMultipliers.randomElement(using: &random)!
                    : Int32.random(in: (.min + 1) ... .max, using: &random)
                // Every right shift 0...31 appears in each trial; lanes 16... draw left shifts too.
                let shift = lane < 16 ? -((trial + lane) % 32) : Int.random(in: -31...31, using: &random)
                multipliers.append(QuantizedMultiplier(multiplier: multiplier, shift: shift))
            }
            let offset = Int32.random(in: -128...127, using: &random)
            let range = trial % 2 == 0 ? ActivationRange(minimum: -128, maximum: 127) : Self.narrowRange(&random)
            let requantization = ChannelRequantization(multipliers, outputOffset: offset, activation: range)
            #if arch(x86_64)
            #expect(requantization.roundsInWideLanes)
            #endif
            for channel in stride(from: 0, to: 32, by: 16) {
                var acc = SIMD16<Int32>()
                for lane in 0..<16 { acc[lane] = Self.accumulator(multipliers[channel + lane], &random) }
                let result = requantization.requantize(acc, channel: channel)
                for lane in 0..<16 {
                    let q = multipliers[channel + lane]
                    let expected = min(max(multiplyByQuantizedMultiplier(acc[lane], q.multiplier, q.shift) &+ offset,
                                           range.minimum), range.maximum)
                    #expect(Int32(result[lane]) == expected,
                            "acc \(acc[lane]) multiplier \(q.multiplier) shift \(q.shift) offset \(offset)")
                }
            }
        }
    }

    @Test("an Int32.min multiplier switches to the saturating two-step path")
    func int32MinMultiplierUsesSteps() {
        let multipliers = [QuantizedMultiplier(multiplier: .min, shift: 0), QuantizedMultiplier(multiplier: 1 << 30, shift: -1)]
        let requantization = ChannelRequantization(multipliers, outputOffset: 0, activation: ActivationRange(minimum: -128, maximum: 127))
        #expect(!requantization.roundsInWideLanes)
        var acc = SIMD16<Int32>()
        acc[0] = .min
        acc[1] = -255
        let result = requantization.requantize(acc, channel: 0)
        // SRDHM(min, min) saturates to Int32.max, clamped to 127.
        #expect(result[0] == 127)
        #expect(Int32(result[1]) == multiplyByQuantizedMultiplier(-255, 1 << 30, -1))
    }

    /// An accumulator drawn to hit the cases where rounding is decided: extremes, values
    /// whose scaled result lies exactly on or next to a half, and uniform int32.
    static func accumulator(_ q: QuantizedMultiplier, _ random: inout SplitMix64) -> Int32 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return extremeAccumulators.randomElement(using: &random)!
        case 1:
            // Near a tie of the final shift: (k + 1/2) * 2^(31+s) / m for small k, ±1.
            let s = max(0, -q.shift)
            guard q.multiplier != 0 else { return .random(in: .min ... .max, using: &random) }
            let k = Double(Int.random(in: -200...200, using: &random)) + 0.5
            let exact = k * Double(sign: .plus, exponent: 31 + s, significand: 1) / Double(q.multiplier)
            let nearby = exact.rounded(.down) + Double(Int.random(in: -1...1, using: &random))
            return Int32(max(min(nearby, Double(Int32.max)), Double(Int32.min)))
        case 2: return Int32.random(in: -70_000...70_000, using: &random)
        default: return .random(in: .min ... .max, using: &random)
        }
    }

    static func narrowRange(_ random: inout SplitMix64) -> ActivationRange {
        let low = Int32.random(in: -128...0, using: &random)
        return ActivationRange(minimum: low, maximum: .random(in: low...127, using: &random))
    }
}
