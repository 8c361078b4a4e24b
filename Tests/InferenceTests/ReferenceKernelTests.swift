import Testing
@testable import Inference

/// Kernel paths that no reference model or fixture exercises (uint8 variants, rank-6
/// broadcasting, requantizing concatenation), on inputs small enough to compute by hand
/// from the TFLite definitions quoted in each kernel's documentation.
@Suite struct ReferenceKernelTests {
    @Test("broadcasting [2, 1, 3] with [4, 1] gives [2, 4, 3] with zero strides on the broadcast axes")
    func broadcastShape() throws {
        let broadcast = try #require(BroadcastShape([2, 1, 3], [4, 1]))
        #expect(broadcast.outputShape == [2, 4, 3])
        #expect(broadcast.extendedOutputShape == [1, 1, 1, 2, 4, 3])
        #expect(broadcast.input1Strides == [0, 0, 0, 3, 0, 1])
        #expect(broadcast.input2Strides == [0, 0, 0, 0, 1, 0])
        var pairs: [(Int, Int)] = []
        broadcast.forEachElement { _, i1, i2 in pairs.append((i1, i2)) }
        #expect(pairs.count == 24)
        // Output [1, 2, 1] reads input1[1, 0, 1] = 4 and input2[2, 0] = 2.
        #expect(pairs[1 * 12 + 2 * 3 + 1] == (4, 2))
        #expect(BroadcastShape([2, 3], [3, 2]) == nil)
        #expect(BroadcastShape([1, 1, 1, 1, 1, 1, 2], [2]) == nil)
    }

    @Test("uint8 concatenation requantizes inputs whose scale differs, in float, rounding half away from zero")
    func requantizingConcatenation() {
        // Input 0: scale 0.5, zero point 10 → output scale 1, zero point 0:
        // scale = 0.5, bias = -5; q = 13 → 1.5 → 2, q = 11 → 0.5 → 1, q = 0 → -5 → clamped to 0.
        let factors = ConcatenationParameters.requantization(inputScale: 0.5, inputZeroPoint: 10, outputScale: 1,
                                                            outputZeroPoint: 0)
        #expect(factors == ConcatenationParameters.Requantization(scale: 0.5, bias: -5))
        let parameters = ConcatenationParameters(outerCount: 2, copyCounts: [2, 1], requantization: [factors, nil],
                                                 outputZeroPoint: 0)
        let first: [UInt8] = [13, 11, 0, 255]  // two rows of two
        let second: [UInt8] = [7, 9]  // two rows of one, copied
        var output = [UInt8](repeating: 0, count: 6)
        output.withUnsafeMutableBufferPointer { out in
            first.withUnsafeBufferPointer { ReferenceKernels.concatenate(parameters, index: 0, input: $0, output: out) }
            second.withUnsafeBufferPointer { ReferenceKernels.concatenate(parameters, index: 1, input: $0, output: out) }
        }
        // 255 → 127.5 - 5 = 122.5 → 123.
        #expect(output == [2, 1, 7, 0, 123, 9])
    }

    @Test("uint8 MEAN over one axis: raw sum minus zero point times count, scaled by count")
    func unsignedMean() throws {
        // [2, 3] uint8, zero point 100, scale ratio 1, mean over axis 1:
        // row 0: 101, 102, 104 → sum 307 - 300 = 7 → 7/3 = 2.33 → 2 + 100 = 102;
        // row 1: 100, 100, 105 → 5/3 = 1.67 → 2 + 100 = 102.
        let parameters = try #require(MeanParameters(inputShape: [2, 3], axes: [1], inputZeroPoint: 100,
                                                     outputZeroPoint: 100, scaleMultiplier: QuantizedMultiplier(1.0)))
        let input: [UInt8] = [101, 102, 104, 100, 100, 105]
        var output = [UInt8](repeating: 0, count: 2)
        output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { ReferenceKernels.mean(parameters, input: $0, output: out) }
        }
        #expect(output == [102, 102])
    }

    @Test("PAD fills a rank-2 uint8 tensor's border with the pad value")
    func padding() throws {
        let parameters = try #require(PadParameters(inputShape: [1, 2], paddings: [(1, 0), (0, 1)]))
        #expect(parameters.outputShape(rank: 2) == [2, 3])
        let input: [UInt8] = [5, 6]
        var output = [UInt8](repeating: 0, count: 6)
        output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { ReferenceKernels.pad(parameters, input: $0, padValue: 9, output: out) }
        }
        #expect(output == [9, 9, 9, 5, 6, 9])
        #expect(PadParameters(inputShape: [2], paddings: [(-1, 0)]) == nil)
    }

    @Test("uint8 → int8 requantization with equal scales shifts by 128, and dequantization multiplies in double")
    func requantizeAndDequantize() {
        let requantize = RequantizeParameters(inputZeroPoint: 128, outputZeroPoint: 0, multiplier: QuantizedMultiplier(1.0))
        let input: [UInt8] = [0, 127, 128, 255]
        var output = [Int8](repeating: 0, count: 4)
        output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { ReferenceKernels.requantize(requantize, input: $0, output: out) }
        }
        #expect(output == [-128, -1, 0, 127])

        // Float(0.1 as Float as Double * 3): the product is rounded once, from double.
        let dequantize = DequantizeParameters(scale: 0.1, zeroPoint: -3)
        var floats = [Float](repeating: 0, count: 1)
        let q: [Int8] = [0]
        floats.withUnsafeMutableBufferPointer { out in
            q.withUnsafeBufferPointer { ReferenceKernels.dequantize(dequantize, input: $0, output: out) }
        }
        #expect(floats[0] == Float(Double(Float(0.1)) * 3))
    }

    @Test("QUANTIZE from float divides in float and rounds ties away from zero")
    func affineQuantize() {
        let parameters = AffineQuantizeParameters(scale: 0.5, zeroPoint: 1)
        let input: [Float] = [0.25, -0.25, 0.75, 100, -100, 0]
        var output = [Int8](repeating: 0, count: 6)
        output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { ReferenceKernels.quantize(parameters, input: $0, output: out) }
        }
        // 0.5 → 1, -0.5 → -1, 1.5 → 2 (away from zero, not to even), then + 1 and clamp.
        #expect(output == [2, 0, 3, 127, -128, 1])
    }
}
