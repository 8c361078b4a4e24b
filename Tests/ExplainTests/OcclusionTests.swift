import Foundation
import Testing
import Inference
@testable import Explain

@Suite struct OcclusionTests {
    @Test("incremental occlusion gives exactly the map of naive full reruns (shapes-a, several grids)",
          arguments: [(16, 8), (9, 13), (30, 20)])
    func incrementalEqualsNaive(patch: Int, stride: Int) throws {
        let explainer = try ShapesReferenceTests.explainer()
        let inputs = try ShapesReferenceTests.inputs()
        for k in [0] {
            let input = ShapesReferenceTests.image(inputs, k)
            let fast = try explainer.explain(input: input, method: .occlusion,
                                             options: ExplanationOptions(occlusion: OcclusionOptions(patch: patch, stride: stride)))
            let naive = try explainer.explain(input: input, method: .occlusion,
                                              options: ExplanationOptions(occlusion: OcclusionOptions(patch: patch, stride: stride, incremental: false)))
            #expect(fast.map.values == naive.map.values)
            #expect(fast.map.values.contains { $0 != 0 })
            // The explainer restores every activation: a later run gives the same map again.
            let again = try explainer.explain(input: input, method: .occlusion,
                                              options: ExplanationOptions(occlusion: OcclusionOptions(patch: patch, stride: stride)))
            #expect(again.map.values == fast.map.values)
        }
    }

    @Test("incremental occlusion equals naive reruns on EfficientNet-Lite0 (residual ADDs, strided depthwise 5x5, SAME borders)")
    func incrementalEqualsNaiveOnEfficientNet() throws {
        let explainer = try Explainer(modelBytes: Fixtures.imagenetModel())
        let input = try Fixtures.data("refs/imagenet/chelsea/input.i8")
        let fast = try explainer.explain(input: input, method: .occlusion,
                                         options: ExplanationOptions(occlusion: OcclusionOptions(patch: 40, stride: 64)))
        let naive = try explainer.explain(input: input, method: .occlusion,
                                          options: ExplanationOptions(occlusion: OcclusionOptions(patch: 40, stride: 64, incremental: false)))
        #expect(fast.map.values == naive.map.values)
        #expect(fast.map.values.contains { $0 != 0 })
    }

    @Test("the occlusion map matches the reference toolkit's map (Pearson ≥ 0.9 on 10 images)",
          .enabled(if: ShapesReferenceTests.sharedRefsPresent, "needs ../shared/refs"))
    func matchesReference() throws {
        let reference = try #require(ShapesReferenceTests.sharedReference("occlusion.f32"))
        let explainer = try ShapesReferenceTests.explainer()
        let inputs = try ShapesReferenceTests.inputs(), labels = try ShapesReferenceTests.labels()
        var total = 0.0
        for k in 0..<10 {
            let result = try explainer.explain(input: ShapesReferenceTests.image(inputs, k), method: .occlusion,
                                               target: .classIndex(labels[k]),
                                               options: ExplanationOptions(occlusion: OcclusionOptions()))
            total += LocalizationMetrics.pearson(result.map.values, Array(reference[(k * 9216)..<((k + 1) * 9216)]))
        }
        print("shapes-a occlusion vs reference: mean Pearson \(total / 10)")
        #expect(total / 10 >= 0.9)
    }

    @Test("patch origins cover the image: a grid every stride plus a last patch flush with the edge")
    func origins() {
        #expect(OcclusionRunner.origins(size: 96, patch: 16, stride: 8).count == 11)
        #expect(OcclusionRunner.origins(size: 10, patch: 4, stride: 4) == [0, 4, 6])
        #expect(OcclusionRunner.origins(size: 4, patch: 4, stride: 2) == [0])
    }
}
