import Testing
@testable import Inference

/// How far our (reference-exact) outputs are from LiteRT's optimized built-in kernels and
/// from XNNPACK on whole models. Printed as a table; per-op distances (≤ 1 LSB) are checked
/// in the single-op fixture tests. Whole-model differences grow through the graph, so here
/// we only require that the predicted class agrees.
@Suite struct KernelDistanceReportTests {
    struct Distance: CustomStringConvertible {
        var differing = 0, total = 0, maxAbs = 0
        mutating func add(_ ours: ArraySlice<UInt8>, _ theirs: ArraySlice<UInt8>) {
            for (a, b) in zip(ours, theirs) {
                let d = abs(Int(Int8(bitPattern: a)) - Int(Int8(bitPattern: b)))
                if d != 0 { differing += 1 }
                maxAbs = max(maxAbs, d)
                total += 1
            }
        }
        var description: String { "\(differing) of \(total) elements differ, max |diff| \(maxAbs)" }
    }

    /// Index of the largest int8 score; ties go to the lower index (refs' top-k rule).
    static func top1(_ bytes: ArraySlice<UInt8>) -> Int {
        var best = bytes.startIndex
        for index in bytes.indices where Int8(bitPattern: bytes[index]) > Int8(bitPattern: bytes[best]) { best = index }
        return best - bytes.startIndex
    }

    @Test func reportsDistanceToOptimizedKernelsAndXNNPACKOnEfficientNet() throws {
        let interpreter = try Interpreter(modelBytes: Fixtures.imagenetModel())
        var builtin = Distance(), xnnpack = Distance()
        for photo in ReferenceModelTests.photos {
            try interpreter.setInput(bytes: Fixtures.data("refs/imagenet/\(photo)/input.i8"))
            interpreter.invoke()
            let ours = try interpreter.output()[...]
            let optimized = try Fixtures.data("refs/imagenet/\(photo)/output.i8")[...]
            let delegate = try Fixtures.data("refs/imagenet/\(photo)/output_xnnpack.i8")[...]
            builtin.add(ours, optimized)
            xnnpack.add(ours, delegate)
            #expect(Self.top1(ours) == Self.top1(optimized) && Self.top1(ours) == Self.top1(delegate), "\(photo)")
        }
        print("EfficientNet-Lite0 softmax output, 5 photos: vs LiteRT optimized built-in: \(builtin); vs XNNPACK: \(xnnpack)")
    }

    @Test func reportsDistanceToOptimizedKernelsAndXNNPACKOnShapes() throws {
        let interpreter = try Interpreter(modelBytes: Fixtures.shapesModel())
        let inputs = try Fixtures.data("refs/shapes/dev/input.i8")
        let optimized = try Fixtures.data("refs/shapes/dev/output_builtin.i8")
        let delegate = try Fixtures.data("refs/shapes/dev/output_xnnpack.i8")
        var builtin = Distance(), xnnpack = Distance(), top1Disagreements = 0
        let sample = 96 * 96 * 3
        for image in 0..<200 {
            try interpreter.setInput(bytes: inputs[image * sample ..< (image + 1) * sample])
            interpreter.invoke()
            let ours = try interpreter.output()[...]
            builtin.add(ours, optimized[image * 5 ..< image * 5 + 5])
            xnnpack.add(ours, delegate[image * 5 ..< image * 5 + 5])
            if Self.top1(ours) != Self.top1(delegate[image * 5 ..< image * 5 + 5]) { top1Disagreements += 1 }
        }
        print("shapes-a logits, 200 dev images: vs LiteRT optimized built-in: \(builtin); vs XNNPACK: \(xnnpack), top-1 disagreements with XNNPACK: \(top1Disagreements)")
        // refs/shapes/README.md: the optimized kernels agree exactly with the reference on this model.
        #expect(builtin.differing == 0)
        #expect(xnnpack.maxAbs <= 2)
    }
}
