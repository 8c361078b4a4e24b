import Testing
@testable import Inference

/// ``FastDepthwiseConv2D`` against its oracle `ReferenceKernels.depthwiseConv2D` on random
/// shapes: channel counts below, at and around multiples of 16 (the overlapping last block
/// and the gathered narrow path), windows wholly inside, across and larger than the image,
/// every padding from 0 to past the window, strides 1–3, dilation, extreme zero points and
/// multipliers, -128 inputs and weights, and 1–3 threads (sizes large enough for the
/// work to be split by rows and by channel blocks).
@Suite struct FastDepthwiseKernelTests {
    static let channelCounts = [1, 3, 8, 15, 16, 17, 24, 31, 32, 40, 48, 67]

    /// One random configuration, run through both kernels.
    /// `realistic`: `p` came from ``parameters(batches:input:channels:filter:stride:dilation:padding:realistic:_:)``
    /// with `realistic: true`; the biases are then moderate too, so on x86 the kernel must
    /// take ``BoundedAccumulatorRequantization`` (windows up to 5x5: a 7x7 window of extreme
    /// weights can exceed its range).
    static func compare(_ p: DepthwiseConv2DParameters, realistic: Bool, pool: WorkerPool, _ random: inout SplitMix64) throws -> (fast: [Int8], reference: [Int8]) {
        let taps = p.filterHeight * p.filterWidth
        let input = FastKernelTests.int8s(p.batches * p.inputHeight * p.inputWidth * p.inputDepth, &random)
        let filter = FastKernelTests.int8s(taps * p.inputDepth, &random)
        let bias = Bool.random(using: &random) && Bool.random(using: &random) ? nil
            : realistic ? (0..<p.inputDepth).map { _ in Int32.random(in: -60_000...60_000, using: &random) }
            : FastKernelTests.biases(p.inputDepth, &random)
        let fast = try #require(FastDepthwiseConv2D(p, filter: filter, bias: bias))
        #if arch(x86_64)
        if realistic && taps <= 25 { #expect(fast.boundedBlocks == (p.inputDepth + 15) / 16, "\(p)") }
        #endif
        let count = p.batches * p.outputHeight * p.outputWidth * p.outputDepth
        let expected = FastKernelTests.run(count) { output in
            input.withUnsafeBufferPointer { input in filter.withUnsafeBufferPointer { filter in
                bias.withUnsafeBufferPointerIfPresent { bias in
                    ReferenceKernels.depthwiseConv2D(p, input: input, filter: filter, bias: bias, output: output)
                }
            } }
        }
        // Exactly sized arrays: a load or store past either tensor would be caught by ASan
        // runs, and differing bytes here.
        let actual = FastKernelTests.run(count) { output in
            input.withUnsafeBufferPointer { fast.run(input: $0.baseAddress!, output: output.baseAddress!, pool: pool) }
        }
        return (actual, expected)
    }

    static func parameters(
        batches: Int, input: (Int, Int), channels: Int, filter: (Int, Int), stride: (Int, Int), dilation: (Int, Int),
        padding: (Int, Int), realistic: Bool = false, _ random: inout SplitMix64
    ) -> DepthwiseConv2DParameters {
        let outputHeight = max(1, (input.0 + 2 * padding.0 - dilation.0 * (filter.0 - 1) - 1) / stride.0 + 1)
        let outputWidth = max(1, (input.1 + 2 * padding.1 - dilation.1 * (filter.1 - 1) - 1) / stride.1 + 1)
        return DepthwiseConv2DParameters(
            batches: batches, inputHeight: input.0, inputWidth: input.1, inputDepth: channels, depthMultiplier: 1,
            filterHeight: filter.0, filterWidth: filter.1, outputHeight: outputHeight, outputWidth: outputWidth,
            strideHeight: stride.0, strideWidth: stride.1, dilationHeight: dilation.0, dilationWidth: dilation.1,
            paddingTop: padding.0, paddingLeft: padding.1,
            inputOffset: -FastKernelTests.zeroPoint(&random), outputOffset: FastKernelTests.zeroPoint(&random),
            outputMultipliers: (0..<channels).map { _ in realistic ? Self.layerMultiplier(&random) : FastKernelTests.multiplier(&random) },
            activation: FastKernelTests.activation(&random))
    }

    @Test("small random shapes: every padding, stride 1-3, dilation, odd channel counts", arguments: [1, 2, 3])
    func smallShapesMatchReference(threads: Int) throws {
        var random = SplitMix64(seed: 0xD3D3_0000 + UInt64(threads))
        let pool = WorkerPool(threadCount: threads)
        for trial in 0..<240 {
            let square = trial % 3 != 2
            let filterHeight = [3, 3, 5, 5, 1, 2, 7].randomElement(using: &random)!
            let filterWidth = square ? filterHeight : [1, 3, 5].randomElement(using: &random)!
            let stride = (Int.random(in: 1...2, using: &random) + (trial % 17 == 5 ? 1 : 0), Int.random(in: 1...2, using: &random))
            let dilation = trial % 6 == 1 ? (2, Int.random(in: 1...3, using: &random)) : (1, 1)
            // Paddings up to one past the window: then whole output rows see only padding.
            let padding = (Int.random(in: 0...filterHeight, using: &random), Int.random(in: 0...filterWidth, using: &random))
            let p = Self.parameters(
                batches: Int.random(in: 1...2, using: &random),
                input: (Int.random(in: 1...13, using: &random), Int.random(in: 1...13, using: &random)),
                channels: Self.channelCounts.randomElement(using: &random)!,
                filter: (filterHeight, filterWidth), stride: stride, dilation: dilation, padding: padding,
                realistic: trial % 3 == 0, &random)
            let (actual, expected) = try Self.compare(p, realistic: trial % 3 == 0, pool: pool, &random)
            #expect(actual == expected, "trial \(trial): \(p)")
        }
    }

    @Test("the EfficientNet-like layers, large enough to be split over threads by rows and by blocks", arguments: [1, 2, 3])
    func splitLayersMatchReference(threads: Int) throws {
        var random = SplitMix64(seed: 0xD3D3_1000 + UInt64(threads))
        let pool = WorkerPool(threadCount: threads)
        // (size, channels, filter, stride): SAME padding as TFLite computes it.
        let layers = [(40, 32, 3, 1), (29, 48, 3, 2), (14, 144, 5, 1), (15, 120, 5, 2), (7, 672, 5, 1), (9, 104, 3, 1),
                      (4, 1152, 3, 1), (33, 17, 3, 1), (12, 67, 5, 1)]
        for (trial, (size, channels, filter, stride)) in layers.enumerated() {
            let output = (size + stride - 1) / stride
            let padding = max((output - 1) * stride + filter - size, 0) / 2
            let p = Self.parameters(batches: trial % 4 == 3 ? 2 : 1, input: (size, size), channels: channels,
                                    filter: (filter, filter), stride: (stride, stride), dilation: (1, 1),
                                    padding: (padding, padding), realistic: trial % 2 == 0, &random)
            #expect(p.outputHeight == output && p.outputWidth == output)
            let (actual, expected) = try Self.compare(p, realistic: trial % 2 == 0, pool: pool, &random)
            #expect(actual == expected, "layer \(trial): \(p)")
        }
    }

    @Test("extreme zero points, -128 everywhere and full-range biases")
    func extremesMatchReference() throws {
        var random = SplitMix64(seed: 0xD3D3_2000)
        let pool = WorkerPool(threadCount: 2)
        for trial in 0..<24 {
            var p = Self.parameters(batches: 1, input: (9, 11), channels: [5, 16, 33][trial % 3], filter: (3, 3),
                                    stride: (1 + trial % 2, 1 + trial % 2), dilation: (1, 1), padding: (1, 1), &random)
            p.inputOffset = trial % 2 == 0 ? 128 : -127
            let channels = p.inputDepth
            let input = [Int8](repeating: -128, count: p.inputHeight * p.inputWidth * channels)
            let filter = [Int8](repeating: -128, count: 9 * channels)
            let bias = (0..<channels).map { _ in [Int32.min, .max, 0].randomElement(using: &random)! }
            let fast = try #require(FastDepthwiseConv2D(p, filter: filter, bias: bias))
            let count = p.outputHeight * p.outputWidth * channels
            let expected = FastKernelTests.run(count) { output in
                input.withUnsafeBufferPointer { input in filter.withUnsafeBufferPointer { filter in
                    bias.withUnsafeBufferPointer { ReferenceKernels.depthwiseConv2D(p, input: input, filter: filter, bias: $0, output: output) }
                } }
            }
            let actual = FastKernelTests.run(count) { output in
                input.withUnsafeBufferPointer { fast.run(input: $0.baseAddress!, output: output.baseAddress!, pool: pool) }
            }
            #expect(actual == expected, "trial \(trial): \(p)")
        }
    }

    @Test("zero points outside int8 and depth multipliers other than 1 are left to the reference kernel")
    func uncoveredConfigurationsFallBack() {
        var random = SplitMix64(seed: 0xD3D3_3000)
        var p = Self.parameters(batches: 1, input: (5, 5), channels: 16, filter: (3, 3), stride: (1, 1), dilation: (1, 1),
                                padding: (1, 1), &random)
        p.inputOffset = 129
        #expect(FastDepthwiseConv2D(p, filter: Array(repeating: 1, count: 9 * 16), bias: nil) == nil)
        p.inputOffset = -128
        #expect(FastDepthwiseConv2D(p, filter: Array(repeating: 1, count: 9 * 16), bias: nil) == nil)
        p.inputOffset = 0
        #expect(FastDepthwiseConv2D(p, filter: Array(repeating: 1, count: 9 * 16), bias: nil) != nil)
    }

    @Test("the double-precision requantization equals multiplyByQuantizedMultiplier + offset + clamp over its ranges")
    func boundedRequantizationMatchesScalar() throws {
        var random = SplitMix64(seed: 0xD3D3_4000)
        for round in 0..<300 {
            var multipliers: [QuantizedMultiplier] = []
            var ranges: [ClosedRange<Int64>] = []
            for lane in 0..<14 {
                // Exact lanes: right shifts 0...20 and left shifts up to 8, significands from the corners too.
                let shift = lane % 4 == 0 ? Int.random(in: 0...8, using: &random) : -Int.random(in: 0...20, using: &random)
                let significand: Int32 = switch (round + lane) % 9 {
                case 0: .min
                case 1: .max
                case 2: 0
                case 3: .random(in: .min ... .max, using: &random)
                default: .random(in: (1 << 30) ... .max, using: &random)
                }
                multipliers.append(QuantizedMultiplier(multiplier: significand, shift: shift))
                let bound = ((Int64(1) << 20) >> max(shift, 0)) - 1
                ranges.append(-bound...bound)
            }
            // Constant lanes, like EfficientNet's dead channels: bias 2^30, right shift 25-27.
            let offset = FastKernelTests.zeroPoint(&random)
            let activation = FastKernelTests.activation(&random)
            while multipliers.count < 16 {
                let q = QuantizedMultiplier(multiplier: .random(in: (1 << 30) ... .max, using: &random), shift: -Int.random(in: 25...27, using: &random))
                let center = Int64.random(in: (1 << 29)...(1 << 30), using: &random) * (Bool.random(using: &random) ? 1 : -1)
                let range = center - (1 << 18)...center + (1 << 18)
                guard BoundedAccumulatorRequantization.constantOutput(q, range, outputOffset: offset, activation: activation) != nil else { continue }
                multipliers.append(q)
                ranges.append(range)
            }
            let requantize = BoundedAccumulatorRequantization(multipliers, accumulatorRanges: ranges, outputOffset: offset, activation: activation)
            try #require(requantize.coveredBlockCount == 1)
            for _ in 0..<24 {
                var acc = SIMD16<Int32>()
                for lane in 0..<16 {
                    let low = Int32(ranges[lane].lowerBound), high = Int32(ranges[lane].upperBound)
                    let q = multipliers[lane]
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0: acc[lane] = [low, high, low / 2 + high / 2, low + 1, high - 1].randomElement(using: &random)!
                    case 1: acc[lane] = .random(in: low...high, using: &random)
                    default:
                        // Next to a rounding tie of the second step: (k + 1/2) · 2^(31+s) / M.
                        guard lane < 14, q.multiplier != 0, q.shift <= 0 else { acc[lane] = .random(in: low...high, using: &random); break }
                        let k = Double(Int.random(in: -200...200, using: &random)) + 0.5
                        let tie = k * Double(sign: .plus, exponent: 31 - q.shift, significand: 1) / Double(q.multiplier)
                        acc[lane] = min(max(Int32(clamping: Int64(tie.rounded()) + Int64.random(in: -2...2, using: &random)), low), high)
                    }
                }
                let result = requantize.requantize(acc, block: 0)
                for lane in 0..<16 {
                    let q = multipliers[lane]
                    let expected = min(max(multiplyByQuantizedMultiplier(acc[lane], q.multiplier, q.shift) &+ offset,
                                           activation.minimum), activation.maximum)
                    #expect(Int32(result[lane]) == expected, "lane \(lane) acc \(acc[lane]) multiplier \(q.multiplier) shift \(q.shift)")
                }
            }
        }
    }

    @Test("blocks with a lane neither exact in doubles nor constant are left to ChannelRequantization")
    func boundedRequantizationLeavesWideBlocks() {
        let full = ActivationRange.full(of: Int8.self)
        func coveredBlocks(_ q: QuantizedMultiplier, _ range: ClosedRange<Int64>) -> Int {
            var multipliers = [QuantizedMultiplier](repeating: QuantizedMultiplier(multiplier: 1 << 30, shift: -8), count: 32)
            var ranges = [ClosedRange<Int64>](repeating: -1000...1000, count: 32)
            (multipliers[20], ranges[20]) = (q, range)
            return BoundedAccumulatorRequantization(multipliers, accumulatorRanges: ranges, outputOffset: 0, activation: full).coveredBlockCount
        }
        let limit = Int64(1) << 20
        #expect(coveredBlocks(QuantizedMultiplier(multiplier: 1 << 30, shift: -8), -(limit - 1)...(limit - 1)) == 2)
        #expect(coveredBlocks(QuantizedMultiplier(multiplier: 1 << 30, shift: -8), -limit...0) == 1)
        #expect(coveredBlocks(QuantizedMultiplier(multiplier: 1 << 30, shift: 2), 0...(limit / 4)) == 1)
        #expect(coveredBlocks(QuantizedMultiplier(multiplier: 1 << 30, shift: 2), 0...(limit / 4 - 1)) == 2)
        #expect(coveredBlocks(QuantizedMultiplier(multiplier: 1 << 30, shift: -21), -(1 << 30)...(1 << 30)) == 1)
        // Deep shift, narrow range: every accumulator gives the same output, so the lane is constant.
        #expect(coveredBlocks(QuantizedMultiplier(multiplier: 1 << 30, shift: -27), (1 << 30)...(1 << 30) + 1000) == 2)
    }

    #if arch(x86_64)
    @Test("every block of every depthwise layer of EfficientNet-Lite0 takes the double-precision requantization")
    func efficientNetLayersTakeTheFastPath() throws {
        let interpreter = try Interpreter(modelBytes: Fixtures.imagenetModel(), options: InterpreterOptions(threads: 1))
        let depthwise = interpreter.operators.compactMap { $0 as? DepthwiseConv2DOperator }
        #expect(depthwise.count == 16)
        for op in depthwise {
            let fast = try #require(op.fast, "\(op.info.name) #\(op.info.index)")
            #expect(fast.boundedBlocks == (op.parameters.inputDepth + 15) / 16, "\(op.info.name) #\(op.info.index)")
        }
    }
    #endif

    /// A multiplier as a depthwise layer has one: significand in [2^30, 2^31), right shift 5...14.
    static func layerMultiplier(_ random: inout SplitMix64) -> QuantizedMultiplier {
        QuantizedMultiplier(multiplier: .random(in: (1 << 30) ... .max, using: &random), shift: -Int.random(in: 5...14, using: &random))
    }
}
