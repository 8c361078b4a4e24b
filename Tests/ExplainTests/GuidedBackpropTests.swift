import Foundation
import Testing
@testable import Explain

@Suite struct GuidedBackpropTests {
    @Test("guided backprop on the int8 model matches the reference toolkit's map (max over RGB of |gradient|, Pearson ≥ 0.95 on 40 images)",
          .enabled(if: ShapesReferenceTests.sharedRefsPresent, "needs ../shared/refs"))
    func matchesReference() throws {
        let reference = try #require(ShapesReferenceTests.sharedReference("guided_backprop_absmax.f32"))
        let explainer = try ShapesReferenceTests.explainer()
        let inputs = try ShapesReferenceTests.inputs(), labels = try ShapesReferenceTests.labels()
        var total = 0.0
        for k in 0..<40 {
            let result = try explainer.explain(input: ShapesReferenceTests.image(inputs, k), method: .guidedBackprop,
                                               target: .classIndex(labels[k]))
            #expect(result.map.width == 96 && result.map.height == 96)
            total += LocalizationMetrics.pearson(result.map.values, Array(reference[(k * 9216)..<((k + 1) * 9216)]))
        }
        print("shapes-a guided backprop vs reference: mean Pearson \(total / 40)")
        #expect(total / 40 >= 0.95)
    }
}
