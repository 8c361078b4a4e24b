import Testing
@testable import Inference

/// ``DirectStemConv2D`` (convolutions of 1–4 input channels without im2col) against
/// `ReferenceKernels.conv2D`: random windows, strides, dilations and paddings (up to past
/// the window), odd sizes, 1–4 input channels, output depths around the 16-channel blocks,
/// extreme zero points and multipliers next to realistic ones, wrapping biases, -128 inputs
/// and weights, fused activations, batches of 2, and runs split over 1–3 threads.
@Suite struct DirectStemConvolutionTests {
    static let outputDepths = [1, 2, 5, 15, 16, 17, 31, 32, 33, 47, 48]

    /// A random convolution of `inputDepth` channels; `large` makes it an image-sized layer.
    static func randomParameters(_ random: inout SplitMix64, inputDepth: Int, large: Bool) -> Conv2DParameters {
        let filterHeight = Int.random(in: 1...5, using: &random), filterWidth = Int.random(in: 1...5, using: &random)
        let stride = (Int.random(in: 1...3, using: &random), Int.random(in: 1...3, using: &random))
        let dilation = Int.random(in: 0..<4, using: &random) == 0
            ? (Int.random(in: 1...2, using: &random), Int.random(in: 1...3, using: &random)) : (1, 1)
        let sizes = large ? 30...61 : 1...13
        let inputHeight = Int.random(in: sizes, using: &random), inputWidth = Int.random(in: sizes, using: &random)
        // Up to one past the window: windows entirely in the padding happen too.
        let padding = (Int.random(in: 0...filterHeight, using: &random), Int.random(in: 0...filterWidth, using: &random))
        let outputHeight = max(1, (inputHeight + 2 * padding.0 - dilation.0 * (filterHeight - 1) - 1) / stride.0 + 1)
        let outputWidth = max(1, (inputWidth + 2 * padding.1 - dilation.1 * (filterWidth - 1) - 1) / stride.1 + 1)
        let outputDepth = outputDepths.randomElement(using: &random)!
        let depth = filterHeight * filterWidth * inputDepth
        return Conv2DParameters(
            batches: Int.random(in: 1...2, using: &random), inputHeight: inputHeight, inputWidth: inputWidth,
            inputDepth: inputDepth, filterHeight: filterHeight, filterWidth: filterWidth, filterInputDepth: inputDepth,
            outputHeight: outputHeight, outputWidth: outputWidth, outputDepth: outputDepth,
            strideHeight: stride.0, strideWidth: stride.1, dilationHeight: dilation.0, dilationWidth: dilation.1,
            paddingTop: padding.0, paddingLeft: padding.1,
            inputOffset: -FastKernelTests.zeroPoint(&random), outputOffset: FastKernelTests.zeroPoint(&random),
            outputMultipliers: (0..<outputDepth).map { _ in multiplier(&random, depth: depth) },
            activation: FastKernelTests.activation(&random))
    }

    /// Half the time one of `FastKernelTests.multiplier`'s (2^-30 to 2^12, and arbitrary
    /// significands and shifts), which mostly saturate or zero a stem's outputs; otherwise
    /// one that maps a typical sum of `depth` int8 products (about 2^13 · √depth) to ±64,
    /// so that most outputs are neither.
    static func multiplier(_ random: inout SplitMix64, depth: Int) -> QuantizedMultiplier {
        guard Bool.random(using: &random) else { return FastKernelTests.multiplier(&random) }
        let typical = 8192 * Double(depth).squareRoot()
        return QuantizedMultiplier(64 / typical * Double.random(in: 0.5...2, using: &random))
    }

    /// One comparison's outputs, and how many tasks the layer was split into.
    struct Outcome {
        var expected: [Int8]
        var actual: [Int8]
        var tasks: Int
    }

    /// Runs `p` on random data through the reference kernel and through `DirectStemConv2D`
    /// (split into tasks as for `pool`, with tasks of at least `minimumTaskMACs`).
    static func compare(
        _ p: Conv2DParameters, _ random: inout SplitMix64, pool: WorkerPool?, minimumTaskMACs: Int
    ) throws -> Outcome {
        let depth = p.filterHeight * p.filterWidth * p.inputDepth
        let input = FastKernelTests.int8s(p.batches * p.inputHeight * p.inputWidth * p.inputDepth, &random)
        let filter = FastKernelTests.int8s(p.outputDepth * depth, &random)
        let bias = Int.random(in: 0..<7, using: &random) == 3 ? nil : FastKernelTests.biases(p.outputDepth, &random)
        let direct = try #require(DirectStemConv2D(p, filter: filter, bias: bias, minimumTaskMACs: minimumTaskMACs))
        let count = p.batches * p.outputHeight * p.outputWidth * p.outputDepth
        let expected = FastKernelTests.referenceConv2D(p, input: input, filter: filter, bias: bias)
        let actual = FastKernelTests.run(count) { output in
            input.withUnsafeBufferPointer { direct.run(input: $0.baseAddress!, output: output.baseAddress!, pool: pool) }
        }
        return Outcome(expected: expected, actual: actual, tasks: direct.taskCount(threads: pool?.threadCount ?? 1))
    }

    @Test("direct stem convolution equals ReferenceKernels.conv2D on random small shapes, whole or split over tasks",
          arguments: [(1, false), (2, false), (2, true), (3, true)])
    func smallShapesMatchReference(threads: Int, splitsSmallLayers: Bool) throws {
        var random = SplitMix64(seed: 0x57E3_0000 + UInt64(threads) * 2 + (splitsSmallLayers ? 1 : 0))
        let pool = WorkerPool(threadCount: threads)
        var splitRuns = 0
        var outputValues = Set<Int8>()
        for trial in 0..<300 {
            let p = Self.randomParameters(&random, inputDepth: trial % 4 + 1, large: false)
            let outcome = try Self.compare(p, &random, pool: pool,
                                           minimumTaskMACs: splitsSmallLayers ? 1 : DirectStemConv2D.defaultMinimumTaskMACs)
            #expect(outcome.actual == outcome.expected, "trial \(trial): \(p)")
            splitRuns += outcome.tasks > 1 ? 1 : 0
            outputValues.formUnion(outcome.expected)
        }
        // The vectors are not trivial: split runs when asked for, and outputs all over int8.
        #expect(splitsSmallLayers ? splitRuns > 200 : splitRuns == 0)
        #expect(outputValues.count == 256)
    }

    @Test("direct stem convolution equals ReferenceKernels.conv2D on image-sized layers split over tasks",
          arguments: [1, 2, 3])
    func largeShapesMatchReference(threads: Int) throws {
        var random = SplitMix64(seed: 0x57E3_1000 + UInt64(threads))
        let pool = WorkerPool(threadCount: threads)
        for trial in 0..<12 {
            let p = Self.randomParameters(&random, inputDepth: trial % 4 + 1, large: true)
            // Every other layer with the default task size, the rest split as far as it goes.
            let outcome = try Self.compare(p, &random, pool: pool,
                                           minimumTaskMACs: trial % 2 == 0 ? DirectStemConv2D.defaultMinimumTaskMACs : 1)
            #expect(outcome.actual == outcome.expected, "trial \(trial): \(p)")
            if threads > 1, trial % 2 == 1 { #expect(outcome.tasks > 1) }
        }
    }

    @Test("EfficientNet-Lite0's stem (224x224x3, 3x3 stride 2, SAME, 32 outputs, clamped) equals the reference on 1 and 2 threads, zero points -128, 127 and typical")
    func efficientNetStemMatchesReference() throws {
        var random = SplitMix64(seed: 0x57E3_2000)
        for (trial, zeroPoint) in [Int32(-1), -128, 127].enumerated() {
            // TFLite SAME padding for 224 → 112 at stride 2: 0 before, 1 after.
            let p = Conv2DParameters(
                batches: 1, inputHeight: 224, inputWidth: 224, inputDepth: 3, filterHeight: 3, filterWidth: 3,
                filterInputDepth: 3, outputHeight: 112, outputWidth: 112, outputDepth: 32,
                strideHeight: 2, strideWidth: 2, dilationHeight: 1, dilationWidth: 1, paddingTop: 0, paddingLeft: 0,
                inputOffset: -zeroPoint, outputOffset: -128,
                outputMultipliers: (0..<32).map { _ in Self.multiplier(&random, depth: 27) },
                activation: trial == 0 ? ActivationRange(minimum: -128, maximum: 127) : ActivationRange(minimum: -128, maximum: 80))
            for threads in [1, 2] {
                let pool = WorkerPool(threadCount: threads)
                let outcome = try Self.compare(p, &random, pool: pool, minimumTaskMACs: DirectStemConv2D.defaultMinimumTaskMACs)
                #expect(outcome.actual == outcome.expected, "zero point \(zeroPoint), \(threads) threads")
                #expect(outcome.tasks == (threads == 1 ? 1 : 8))
            }
        }
    }

    @Test("only convolutions of 1-4 ungrouped input channels with an int8 zero point take the direct kernel; FastConv2D dispatches to it")
    func coverageAndDispatch() throws {
        var random = SplitMix64(seed: 0x57E3_3000)
        for inputDepth in 1...6 {
            let p = Self.randomParameters(&random, inputDepth: inputDepth, large: false)
            let filter = FastKernelTests.int8s(p.outputDepth * p.filterHeight * p.filterWidth * inputDepth, &random)
            #expect((DirectStemConv2D(p, filter: filter, bias: nil) != nil) == (inputDepth <= 4))
            let fast = try #require(FastConv2D(p, filter: filter, bias: nil))
            #expect((fast.direct != nil) == (inputDepth <= 4 && !fast.pointwise))
            #expect(try #require(FastConv2D(p, filter: filter, bias: nil, allowsDirect: false)).direct == nil)
        }
        // Pointwise stride-1 layers keep the GEMM, which reads their pixels in place.
        var pointwise = Self.randomParameters(&random, inputDepth: 3, large: false)
        (pointwise.filterHeight, pointwise.filterWidth, pointwise.strideHeight, pointwise.strideWidth) = (1, 1, 1, 1)
        (pointwise.paddingTop, pointwise.paddingLeft, pointwise.dilationHeight, pointwise.dilationWidth) = (0, 0, 1, 1)
        (pointwise.outputHeight, pointwise.outputWidth) = (pointwise.inputHeight, pointwise.inputWidth)
        let pointwiseFilter = FastKernelTests.int8s(pointwise.outputDepth * 3, &random)
        #expect(try #require(FastConv2D(pointwise, filter: pointwiseFilter, bias: nil)).direct == nil)
        // A zero point outside int8 (not TFLite int8, but the reference takes it): the GEMM.
        var wideZeroPoint = Self.randomParameters(&random, inputDepth: 2, large: false)
        wideZeroPoint.inputOffset = 300
        let wideFilter = FastKernelTests.int8s(wideZeroPoint.outputDepth * wideZeroPoint.filterHeight * wideZeroPoint.filterWidth * 2, &random)
        #expect(DirectStemConv2D(wideZeroPoint, filter: wideFilter, bias: nil) == nil)
        // Grouped: 4 input channels, filters of 2.
        var grouped = Self.randomParameters(&random, inputDepth: 4, large: false)
        grouped.filterInputDepth = 2
        grouped.outputDepth = 2
        grouped.outputMultipliers = Array(grouped.outputMultipliers.prefix(1)) + Array(grouped.outputMultipliers.prefix(1))
        let filter = [Int8](repeating: 1, count: 2 * grouped.filterHeight * grouped.filterWidth * 2)
        #expect(DirectStemConv2D(grouped, filter: filter, bias: nil) == nil)
        // Windows far outside the image: padded rows of more than 2 x width + 64 columns.
        var dilated = Self.randomParameters(&random, inputDepth: 3, large: false)
        (dilated.filterWidth, dilated.dilationWidth, dilated.strideWidth, dilated.outputWidth) = (3, 40, 1, dilated.inputWidth)
        dilated.paddingLeft = 40
        let dilatedFilter = FastKernelTests.int8s(dilated.outputDepth * dilated.filterHeight * 3 * 3, &random)
        #expect(DirectStemConv2D(dilated, filter: dilatedFilter, bias: nil) == nil)
        dilated.dilationWidth = 2
        dilated.paddingLeft = 2
        #expect(DirectStemConv2D(dilated, filter: dilatedFilter, bias: nil) != nil)
    }

    @Test("the fuzzer's model with a dilation of 14,548,994 runs on the GEMM and matches the reference kernels")
    func hugeDilationStaysOffTheDirectKernel() throws {
        // scripts/fuzz-ci, 2026-12-07: the direct kernel sized its padded rows by the window
        // and asked for 14 GB (libFuzzer: out-of-memory). Tests/Fixtures/fuzz/README.md.
        let bytes = try Fixtures.data("fuzz/tflite-dilated-stem-scratch.tflite")
        var outputs: [[UInt8]] = []
        for kernels in [KernelSelection.fast, .reference] {
            let interpreter = try Interpreter(modelBytes: bytes, options: InterpreterOptions(threads: 1, kernels: kernels))
            let input = interpreter.inputs[0]
            try interpreter.setInput(0, bytes: (0..<(input.byteCount ?? 0)).map { UInt8(truncatingIfNeeded: $0 &* 37) })
            interpreter.invoke()
            outputs.append(try interpreter.output())
        }
        #expect(outputs[0] == outputs[1])
        #expect(Set(outputs[0]).count > 1)
    }
}
