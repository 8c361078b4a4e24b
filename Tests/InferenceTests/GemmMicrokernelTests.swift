import Foundation
import Testing
@testable import Inference

/// Both x86 GEMM microkernels, the AVX2 one and the AVX-512 VNNI one (InferenceVNNI, run
/// when cpuid reports it), against `ReferenceKernels.conv2D` on random convolutions: the
/// VNNI tiles two column blocks at a time, so output depths cover odd block counts, a
/// partial last block, and more than one chunk of ``QuantizedGemm/vnniChunkBlocks`` blocks.
/// On AVX2 a last block of at most 8 columns takes the 4x8 tile (``gemm4x8Int16Pairs``).
@Suite struct GemmMicrokernelTests {
    @Test("cpuid detection agrees with the kernel's CPU flags in /proc/cpuinfo")
    func vnniDetectionMatchesCPUInfo() throws {
        #if arch(x86_64) && os(Linux)
        let flags = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let expected = ["avx512f", "avx512bw", "avx512vl", "avx512_vnni"].allSatisfy(flags.contains)
        #expect(QuantizedGemm.avx512VNNIAvailable == expected)
        #else
        #expect(!QuantizedGemm.avx512VNNIAvailable)
        #endif
    }

    @Test("AVX2 and AVX-512 VNNI GEMM tiles both equal ReferenceKernels.conv2D", arguments: [false, true])
    func microkernelsMatchReference(allowsVNNI: Bool) throws {
        var random = SplitMix64(seed: 0x6E33_0000 + (allowsVNNI ? 1 : 0))
        let pool = WorkerPool(threadCount: 2)
        var narrowTailTrials = 0
        for trial in 0..<60 {
            let pointwise = trial % 2 == 0
            let filterSize = pointwise ? 1 : 3
            let stride = pointwise ? 1 : Int.random(in: 1...2, using: &random)
            let padding = pointwise ? 0 : 1
            let inputHeight = Int.random(in: 1...9, using: &random), inputWidth = Int.random(in: 1...9, using: &random)
            let outputHeight = (inputHeight + 2 * padding - filterSize) / stride + 1
            let outputWidth = (inputWidth + 2 * padding - filterSize) / stride + 1
            let inputDepth = [1, 3, 16, 24, 27, 40].randomElement(using: &random)!
            // 1...17 blocks of 16: odd and even counts, partial last blocks, two VNNI chunks.
            let outputDepth = Int.random(in: 1...272, using: &random)
            // 4-row tiles whose last block has 1...8 columns: the 4x8 tile's cases.
            if (1...8).contains(outputDepth % 16), outputHeight * outputWidth >= 4 { narrowTailTrials += 1 }
            let p = Conv2DParameters(
                batches: 1, inputHeight: inputHeight, inputWidth: inputWidth, inputDepth: inputDepth,
                filterHeight: filterSize, filterWidth: filterSize, filterInputDepth: inputDepth,
                outputHeight: outputHeight, outputWidth: outputWidth, outputDepth: outputDepth,
                strideHeight: stride, strideWidth: stride, dilationHeight: 1, dilationWidth: 1,
                paddingTop: padding, paddingLeft: padding,
                inputOffset: -FastKernelTests.zeroPoint(&random), outputOffset: FastKernelTests.zeroPoint(&random),
                outputMultipliers: (0..<outputDepth).map { _ in FastKernelTests.multiplier(&random) },
                activation: FastKernelTests.activation(&random))
            let input = FastKernelTests.int8s(inputHeight * inputWidth * inputDepth, &random)
            let filter = FastKernelTests.int8s(outputDepth * filterSize * filterSize * inputDepth, &random)
            let bias = FastKernelTests.biases(outputDepth, &random)
            // The GEMM even for the 1- and 3-channel inputs, which would otherwise take the direct stem kernel.
            let fast = try #require(FastConv2D(p, filter: filter, bias: bias, allowsAVX512VNNI: allowsVNNI, allowsDirect: false))
            #expect(fast.gemm?.usesAVX512VNNI == (allowsVNNI && QuantizedGemm.avx512VNNIAvailable))
            let count = outputHeight * outputWidth * outputDepth
            let expected = FastKernelTests.referenceConv2D(p, input: input, filter: filter, bias: bias)
            let actual = FastKernelTests.run(count) { output in
                input.withUnsafeBufferPointer { fast.run(input: $0.baseAddress!, output: output.baseAddress!, pool: trial % 3 == 0 ? nil : pool) }
            }
            #expect(actual == expected, "trial \(trial): \(p)")
        }
        #expect(narrowTailTrials >= 15, "only \(narrowTailTrials) trials had a last block of at most 8 columns")
    }
}
