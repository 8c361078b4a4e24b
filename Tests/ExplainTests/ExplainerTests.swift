import Foundation
import Testing
import Inference
@testable import Explain

/// The Explainer API: recorded forward passes, activation and EigenCAM against LiteRT's own
/// activations, and the errors a user meets.
@Suite struct ExplainerTests {
    /// dev image 0's last_conv_relu from LiteRT (tensor 45: scale 6/255, zero point -128).
    static func liteRTLastConv() throws -> [Float] {
        try Fixtures.data("refs/shapes/intermediates/dev0/t045.i8").map { Float(0.0235294122248888) * Float(Int(Int8(bitPattern: $0)) + 128) }
    }

    static func dev0() throws -> ArraySlice<UInt8> { ShapesReferenceTests.image(try ShapesReferenceTests.inputs(), 0) }

    @Test("activation maps are LiteRT's dequantized layer: the channel mean, or one channel")
    func activationMatchesLiteRT() throws {
        let explainer = try ShapesReferenceTests.explainer()
        let a = try Self.liteRTLastConv()
        let mean = try explainer.explain(input: Self.dev0(), method: .activation)
        for p in 0..<144 {
            let expected = (0..<64).reduce(Float(0)) { $0 + a[p * 64 + $1] } / 64
            #expect(abs(mean.map.values[p] - expected) < 1e-5)
        }
        let channel = try explainer.explain(input: Self.dev0(), method: .activation, options: ExplanationOptions(channel: 7))
        #expect(channel.map.values == (0..<144).map { a[$0 * 64 + 7] })
    }

    @Test("EigenCAM equals numpy's SVD projection of LiteRT's layer (first principal component, sign towards the channel mean)")
    func eigenCAMMatchesNumpy() throws {
        let explainer = try ShapesReferenceTests.explainer()
        let result = try explainer.explain(input: Self.dev0(), method: .eigencam)
        let reference = try Fixtures.floats("explain/shapes/eigencam_dev0_numpy.f32")
        let scale = reference.max() ?? 1
        let worst = zip(result.map.values, reference).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-3 * scale)
    }

    @Test("explaining a recorded forward pass gives the same result as explain(input:)", arguments: [
        ExplanationMethod.gradcam, .gradcamPlusPlus, .cam, .guidedBackprop, .eigencam,
    ])
    func recordedEqualsDirect(method: ExplanationMethod) throws {
        let explainer = try ShapesReferenceTests.explainer()
        let input = ShapesReferenceTests.image(try ShapesReferenceTests.inputs(), 3)
        let direct = try explainer.explain(input: input, method: method, target: .classIndex(2))
        let interpreter = try explainer.recordingInterpreter(for: method)
        try interpreter.setInput(bytes: input)
        interpreter.invoke()
        let recorded = try explainer.explainRecorded(method: method, target: .classIndex(2))
        #expect(recorded.map == direct.map)
        #expect(recorded.targetClass == 2 && recorded.score == direct.score)
    }

    @Test("the forward pass keeps only what the method needs: Grad-CAM on a GAP→FC head keeps the layer and the scores")
    func keepSets() throws {
        let explainer = try ShapesReferenceTests.explainer()
        #expect(try explainer.keepSet(for: .gradcam, layer: .automatic) == [45, 47])
        // Guided backprop needs each fused RELU6 output once (to gate), not every tensor.
        let guided = try explainer.keepSet(for: .guidedBackprop, layer: .automatic)
        #expect(guided == Set(32...45).union([47]))
    }

    @Test("top-1 is the class with the highest logit, and its score the dequantized logit")
    func topOne() throws {
        let explainer = try ShapesReferenceTests.explainer()
        let logits = try Fixtures.data("refs/shapes/dev/output_ref.i8").prefix(5).map { Float(0.0945693) * Float(Int(Int8(bitPattern: $0)) + 24) }
        let result = try explainer.explain(input: Self.dev0(), method: .gradcam)
        let best = logits.indices.max { logits[$0] < logits[$1] } ?? -1
        #expect(result.targetClass == best)
        #expect(abs(result.score - logits[best]) < 1e-4)
    }

    @Test("errors name the problem: bad class, bad channel, wrong input size, CAM on a non-GAP head, unknown layer")
    func errors() throws {
        let explainer = try ShapesReferenceTests.explainer()
        let input = try Self.dev0()
        #expect(throws: ExplainError.noSuchClass(5, classes: 5)) {
            try explainer.explain(input: input, method: .gradcam, target: .classIndex(5))
        }
        #expect(throws: ExplainError.self) { try explainer.explain(input: input, method: .activation, options: ExplanationOptions(channel: 64)) }
        #expect(throws: ExplainError.input(.sizeMismatch(tensor: explainer.model.tensors[0].name, expected: 27648, actual: 10))) {
            try explainer.explain(input: [UInt8](repeating: 0, count: 10), method: .gradcam)
        }
        do {
            _ = try explainer.explain(input: input, method: .cam, layer: .tensor(44))
            Issue.record("CAM on tensor 44 (read by a convolution) must fail")
        } catch {
            guard case .camNeedsGlobalPoolingHead = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.description.contains("gradcam"))
        }
        #expect(throws: ExplainError.model(.noSuchTensor("no_such_layer"))) {
            try explainer.explain(input: input, method: .gradcam, layer: .named("no_such_layer"))
        }
        // A constant (weights) is not a layer.
        #expect(throws: ExplainError.self) { try explainer.explain(input: input, method: .gradcam, layer: .tensor(5)) }
    }

    @Test("Grad-CAM works on any layer by name, e.g. an earlier 24x24 block, through the whole head")
    func earlierLayer() throws {
        let explainer = try ShapesReferenceTests.explainer()
        let name = explainer.model.tensors[38].name
        let result = try explainer.explain(input: try Self.dev0(), method: .gradcam, layer: .named(name))
        #expect(result.layer == 38 && result.map.width == 24 && result.map.height == 24)
        #expect(result.map.values.contains { $0 > 0 })
    }
}

/// Post-processing against hand-computed values.
@Suite struct HeatmapTests {
    @Test("half-pixel bilinear upsampling of 2x2 to 4x4 (each output samples src = (dst + 0.5) / 2 - 0.5, clamped)")
    func upsampling() {
        let map = Heatmap(width: 2, height: 2, values: [0, 1, 2, 3]).resized(width: 4, height: 4)
        // Columns sample x = -0.25→0, 0.25, 0.75, 1.25→1: weights 0, 0.25, 0.75, 1.
        #expect(map.values == [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3])
    }

    @Test("min-max normalization maps to [0, 1]; constant or non-finite maps become zeros")
    func normalization() {
        #expect(Heatmap(width: 3, height: 1, values: [2, 4, 3]).normalized().values == [0, 1, 0.5])
        #expect(Heatmap(width: 2, height: 1, values: [5, 5]).normalized().values == [0, 0])
        #expect(Heatmap(width: 2, height: 1, values: [.nan, 1]).normalized().values == [0, 0])
        #expect(Heatmap(width: 2, height: 1, values: [-1, 2]).rectified().values == [0, 2])
    }

    @Test("weak localization keeps the largest 8-connected component above 20 % and the first peak")
    func localization() {
        // Two blobs: a diagonal (8-connected, 3 px) and a 2-px pair; the 0.1 pixel is below the threshold.
        let values: [Float] = [
            1, 0, 0, 0, 0,
            0, 0.9, 0, 0, 0.5,
            0, 0, 0.8, 0, 0.5,
            0.1, 0, 0, 0, 0,
        ]
        let map = Heatmap(width: 5, height: 4, values: values)
        #expect(map.box() == Heatmap.Box(x0: 0, y0: 0, x1: 2, y1: 2))
        #expect(map.peak == Heatmap.Point(x: 0, y: 0))
        #expect(map.box(threshold: 0.95) == Heatmap.Box(x0: 0, y0: 0, x1: 0, y1: 0))
        #expect(Heatmap(width: 2, height: 1, values: [3, 3]).box() == nil)
        #expect(Heatmap.Box(x0: 0, y0: 0, x1: 1, y1: 1).intersectionOverUnion(Heatmap.Box(x0: 1, y0: 1, x1: 2, y1: 2)) == 1.0 / 7)
    }
}
