import Testing
@testable import Inference

/// Every SIMD kernel against its scalar oracle on random shapes, with 1 and 2 threads:
/// odd channel counts, spatial sizes 1...13, all paddings, strides and dilations the fast
/// paths claim, zero points -128 and 127, multipliers with large left and right shifts,
/// full-range biases (so int32 accumulators wrap), and -128 inputs and weights.
@Suite struct FastKernelTests {
    static let channelCounts = [1, 3, 5, 16, 17, 33]

    /// With an Int32.min multiplier in the block, x86 takes the two-step gemmlowp path; without
    /// one, the single rounding of the int64 product (arm64 always takes the steps). Small
    /// multipliers give the products in (-2^30, 0) whose rounding the wide path folds.
    @Test("vector requantization equals multiplyByQuantizedMultiplier + offset + clamp, extremes included",
          arguments: [true, false])
    func requantizationMatchesScalar(withInt32MinMultipliers: Bool) {
        var random = SplitMix64(seed: withInt32MinMultipliers ? 0x5EED_0001 : 0x5EED_0002)
        let extremes: [Int32] = [.min, .min + 1, -1 << 30, -65537, -32768, -2, -1, 0, 1, 2, 32767, 1 << 30, .max - 1, .max]
        for _ in 0..<400 {
            var multipliers: [QuantizedMultiplier] = []
            for lane in 0..<16 {
                let multiplier: Int32 =
                    if lane % 5 == 0 { withInt32MinMultipliers ? .min : .random(in: -(1 << 12)...(1 << 12), using: &random) }
                    else if lane % 7 == 0 { .max }
                    else if lane % 3 == 0 { .random(in: -(1 << 20)...(1 << 20), using: &random) }
                    else { .random(in: .min + 1 ... .max, using: &random) }
                // Half the lanes get the small shifts where a product's sign decides the rounding.
                let shift = lane % 2 == 0 ? Int.random(in: -3...1, using: &random) : Int.random(in: -31...31, using: &random)
                multipliers.append(QuantizedMultiplier(multiplier: multiplier, shift: shift))
            }
            let offset = Int32.random(in: -128...127, using: &random)
            let low = Int32.random(in: -128...127, using: &random)
            let range = ActivationRange(minimum: low, maximum: .random(in: low...127, using: &random))
            #expect(ChannelRequantization.covers(multipliers))
            let requantize = ChannelRequantization(multipliers, outputOffset: offset, activation: range)
            #if arch(x86_64)
            #expect(requantize.roundsInWideLanes == !withInt32MinMultipliers)
            #endif
            var acc = SIMD16<Int32>()
            for lane in 0..<16 {
                acc[lane] = lane < 8 ? extremes.randomElement(using: &random)! : .random(in: .min ... .max, using: &random)
            }
            let result = requantize.requantize(acc, channel: 0)
            for lane in 0..<16 {
                let q = multipliers[lane]
                let expected = min(max(multiplyByQuantizedMultiplier(acc[lane], q.multiplier, q.shift) &+ offset,
                                       range.minimum), range.maximum)
                #expect(Int32(result[lane]) == expected, "acc \(acc[lane]) multiplier \(q.multiplier) shift \(q.shift)")
            }
        }
    }

    @Test("FastConv2D equals ReferenceKernels.conv2D", arguments: [1, 2])
    func convolutionMatchesReference(threads: Int) throws {
        var random = SplitMix64(seed: 0xC0DE_0000 + UInt64(threads))
        let pool = WorkerPool(threadCount: threads)
        for trial in 0..<160 {
            let pointwise = trial % 3 == 0
            let filterHeight = pointwise ? 1 : [1, 2, 3, 5].randomElement(using: &random)!
            let filterWidth = pointwise ? 1 : [1, 3, 5].randomElement(using: &random)!
            let stride = pointwise ? (1, 1) : (Int.random(in: 1...2, using: &random), Int.random(in: 1...2, using: &random))
            let dilation = pointwise || trial % 4 != 1 ? (1, 1) : (2, Int.random(in: 1...2, using: &random))
            let inputHeight = Int.random(in: 1...13, using: &random), inputWidth = Int.random(in: 1...13, using: &random)
            let padding = pointwise ? (0, 0) : (Int.random(in: 0..<filterHeight, using: &random),
                                                Int.random(in: 0..<filterWidth, using: &random))
            let outputHeight = max(1, (inputHeight + 2 * padding.0 - dilation.0 * (filterHeight - 1) - 1) / stride.0 + 1)
            let outputWidth = max(1, (inputWidth + 2 * padding.1 - dilation.1 * (filterWidth - 1) - 1) / stride.1 + 1)
            let inputDepth = Self.channelCounts.randomElement(using: &random)!
            let outputDepth = Self.channelCounts.randomElement(using: &random)! + (trial % 5 == 0 ? 32 : 0)
            let batches = Int.random(in: 1...2, using: &random)
            let p = Conv2DParameters(
                batches: batches, inputHeight: inputHeight, inputWidth: inputWidth, inputDepth: inputDepth,
                filterHeight: filterHeight, filterWidth: filterWidth, filterInputDepth: inputDepth,
                outputHeight: pointwise ? inputHeight : outputHeight, outputWidth: pointwise ? inputWidth : outputWidth,
                outputDepth: outputDepth, strideHeight: stride.0, strideWidth: stride.1,
                dilationHeight: dilation.0, dilationWidth: dilation.1, paddingTop: padding.0, paddingLeft: padding.1,
                inputOffset: -Self.zeroPoint(&random), outputOffset: Self.zeroPoint(&random),
                outputMultipliers: (0..<outputDepth).map { _ in Self.multiplier(&random) },
                activation: Self.activation(&random))
            let input = Self.int8s(batches * inputHeight * inputWidth * inputDepth, &random)
            let filter = Self.int8s(outputDepth * filterHeight * filterWidth * inputDepth, &random)
            let bias = trial % 7 == 3 ? nil : Self.biases(outputDepth, &random)
            let fast = try #require(FastConv2D(p, filter: filter, bias: bias))
            #expect(fast.pointwise == (filterHeight == 1 && filterWidth == 1 && stride == (1, 1) && padding == (0, 0)))
            let count = batches * p.outputHeight * p.outputWidth * outputDepth
            let expected = Self.referenceConv2D(p, input: input, filter: filter, bias: bias)
            let actual = Self.run(count) { output in
                input.withUnsafeBufferPointer { fast.run(input: $0.baseAddress!, output: output.baseAddress!, pool: pool) }
            }
            #expect(actual == expected, "trial \(trial): \(p)")
        }
    }

    @Test("FastDepthwiseConv2D equals ReferenceKernels.depthwiseConv2D", arguments: [1, 2])
    func depthwiseMatchesReference(threads: Int) throws {
        var random = SplitMix64(seed: 0xD0D0_0000 + UInt64(threads))
        let pool = WorkerPool(threadCount: threads)
        for trial in 0..<160 {
            let filterSize = [3, 3, 5, 1, 2].randomElement(using: &random)!
            let stride = Int.random(in: 1...2, using: &random)
            let dilation = trial % 5 == 2 ? 2 : 1
            let inputHeight = Int.random(in: 1...13, using: &random), inputWidth = Int.random(in: 1...13, using: &random)
            let padding = (Int.random(in: 0..<filterSize, using: &random), Int.random(in: 0..<filterSize, using: &random))
            let outputHeight = max(1, (inputHeight + 2 * padding.0 - dilation * (filterSize - 1) - 1) / stride + 1)
            let outputWidth = max(1, (inputWidth + 2 * padding.1 - dilation * (filterSize - 1) - 1) / stride + 1)
            let channels = Self.channelCounts.randomElement(using: &random)! + (trial % 4 == 0 ? 32 : 0)
            let batches = Int.random(in: 1...2, using: &random)
            let p = DepthwiseConv2DParameters(
                batches: batches, inputHeight: inputHeight, inputWidth: inputWidth, inputDepth: channels,
                depthMultiplier: 1, filterHeight: filterSize, filterWidth: filterSize,
                outputHeight: outputHeight, outputWidth: outputWidth, strideHeight: stride, strideWidth: stride,
                dilationHeight: dilation, dilationWidth: dilation, paddingTop: padding.0, paddingLeft: padding.1,
                inputOffset: -Self.zeroPoint(&random), outputOffset: Self.zeroPoint(&random),
                outputMultipliers: (0..<channels).map { _ in Self.multiplier(&random) },
                activation: Self.activation(&random))
            let input = Self.int8s(batches * inputHeight * inputWidth * channels, &random)
            let filter = Self.int8s(filterSize * filterSize * channels, &random)
            let bias = trial % 7 == 3 ? nil : Self.biases(channels, &random)
            let fast = try #require(FastDepthwiseConv2D(p, filter: filter, bias: bias))
            let count = batches * outputHeight * outputWidth * channels
            let expected = Self.run(count) { output in
                input.withUnsafeBufferPointer { input in filter.withUnsafeBufferPointer { filter in
                    bias.withUnsafeBufferPointerIfPresent { bias in
                        ReferenceKernels.depthwiseConv2D(p, input: input, filter: filter, bias: bias, output: output)
                    }
                } }
            }
            let actual = Self.run(count) { output in
                input.withUnsafeBufferPointer { fast.run(input: $0.baseAddress!, output: output.baseAddress!, pool: pool) }
            }
            #expect(actual == expected, "trial \(trial): \(p)")
        }
    }

    @Test("depth multipliers other than 1 are left to the reference kernel")
    func depthMultiplierFallsBack() {
        let p = DepthwiseConv2DParameters(
            batches: 1, inputHeight: 3, inputWidth: 3, inputDepth: 2, depthMultiplier: 2, filterHeight: 3, filterWidth: 3,
            outputHeight: 3, outputWidth: 3, strideHeight: 1, strideWidth: 1, dilationHeight: 1, dilationWidth: 1,
            paddingTop: 1, paddingLeft: 1, inputOffset: 0, outputOffset: 0,
            outputMultipliers: Array(repeating: QuantizedMultiplier(0.5), count: 4), activation: .full(of: Int8.self))
        #expect(FastDepthwiseConv2D(p, filter: Array(repeating: 1, count: 36), bias: nil) == nil)
    }

    @Test("FastFullyConnected equals ReferenceKernels.fullyConnected", arguments: [1, 2])
    func fullyConnectedMatchesReference(threads: Int) throws {
        var random = SplitMix64(seed: 0xFC00_0000 + UInt64(threads))
        let pool = WorkerPool(threadCount: threads)
        for trial in 0..<120 {
            let batches = Int.random(in: 1...6, using: &random)
            let depth = [1, 2, 3, 17, 33, 64, 127].randomElement(using: &random)!
            let outputs = Self.channelCounts.randomElement(using: &random)! + (trial % 3 == 0 ? 48 : 0)
            let p = FullyConnectedParameters(
                batches: batches, accumulationDepth: depth, outputDepth: outputs,
                inputOffset: -Self.zeroPoint(&random), filterOffset: 0, outputOffset: Self.zeroPoint(&random),
                effectiveScales: (0..<outputs).map { _ in Double.random(in: 1e-6...0.05, using: &random) * (trial % 9 == 0 ? 1e4 : 1) },
                activation: Self.activation(&random))
            let input = Self.int8s(batches * depth, &random)
            let filter = Self.int8s(outputs * depth, &random)
            let bias = trial % 5 == 1 ? nil : (0..<outputs).map { _ in Int32.random(in: -50_000...50_000, using: &random) }
            let fast = try #require(FastFullyConnected(p, filter: filter, bias: bias))
            let expected = Self.run(batches * outputs) { output in
                input.withUnsafeBufferPointer { input in filter.withUnsafeBufferPointer { filter in
                    bias.withUnsafeBufferPointerIfPresent { bias in
                        ReferenceKernels.fullyConnected(p, input: input, filter: filter, bias: bias, output: output)
                    }
                } }
            }
            let actual = Self.run(batches * outputs) { output in
                input.withUnsafeBufferPointer { fast.run(input: $0.baseAddress!, output: output.baseAddress!, pool: pool) }
            }
            #expect(actual == expected, "trial \(trial): \(p)")
        }
    }

    @Test("EfficientNet-Lite0 gives LiteRT's reference output on both kernel selections and 1 or 2 threads",
          arguments: [(KernelSelection.reference, 1), (.fast, 1), (.fast, 2)])
    func wholeModelBothWays(kernels: KernelSelection, threads: Int) throws {
        let interpreter = try Interpreter(modelBytes: Fixtures.imagenetModel(),
                                          options: InterpreterOptions(threads: threads, kernels: kernels))
        try interpreter.setInput(bytes: Fixtures.data("refs/imagenet/coffee/input.i8"))
        interpreter.invoke()
        #expect(try interpreter.output() == Fixtures.data("refs/imagenet/coffee/output_ref.i8"))
    }

    // MARK: - Random data

    /// Half the time an extreme zero point.
    static func zeroPoint(_ random: inout SplitMix64) -> Int32 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: return -128
        case 1: return 127
        default: return .random(in: -128...127, using: &random)
        }
    }

    /// Real multipliers from 2^-30 (large right shifts) to 2^12 (left shifts), some exactly representable.
    static func multiplier(_ random: inout SplitMix64) -> QuantizedMultiplier {
        if Int.random(in: 0..<10, using: &random) == 0 {
            return QuantizedMultiplier(multiplier: .random(in: .min ... .max, using: &random), shift: .random(in: -31...20, using: &random))
        }
        return QuantizedMultiplier(Double.random(in: 0.5..<1, using: &random) * Double.pow2(Int.random(in: -30...12, using: &random)))
    }

    static func activation(_ random: inout SplitMix64) -> ActivationRange {
        if Bool.random(using: &random) { return .full(of: Int8.self) }
        let low = Int32.random(in: -128...0, using: &random)
        return ActivationRange(minimum: low, maximum: .random(in: low...127, using: &random))
    }

    /// Random int8 values, a quarter of them -128.
    static func int8s(_ count: Int, _ random: inout SplitMix64) -> [Int8] {
        (0..<count).map { _ in Int.random(in: 0..<4, using: &random) == 0 ? -128 : .random(in: -128...127, using: &random) }
    }

    /// Mostly ordinary biases, sometimes near the int32 limits so that accumulators wrap.
    static func biases(_ count: Int, _ random: inout SplitMix64) -> [Int32] {
        (0..<count).map { _ in
            Int.random(in: 0..<6, using: &random) == 0 ? .random(in: .min ... .max, using: &random) : .random(in: -40_000...40_000, using: &random)
        }
    }

    /// The oracle's output of convolution `p`: `ReferenceKernels.conv2D` into an exactly sized array.
    static func referenceConv2D(_ p: Conv2DParameters, input: [Int8], filter: [Int8], bias: [Int32]?) -> [Int8] {
        run(p.batches * p.outputHeight * p.outputWidth * p.outputDepth) { output in
            input.withUnsafeBufferPointer { input in filter.withUnsafeBufferPointer { filter in
                bias.withUnsafeBufferPointerIfPresent { bias in
                    ReferenceKernels.conv2D(p, input: input, filter: filter, bias: bias, output: output)
                }
            } }
        }
    }

    static func run(_ count: Int, _ body: (UnsafeMutableBufferPointer<Int8>) -> Void) -> [Int8] {
        var output = [Int8](repeating: 0, count: count)
        output.withUnsafeMutableBufferPointer { body($0) }
        return output
    }
}

private extension Double {
    static func pow2(_ exponent: Int) -> Double { Double(sign: .plus, exponent: exponent, significand: 1) }
}
