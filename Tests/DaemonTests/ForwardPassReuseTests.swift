import Capture
import Explain
import Foundation
import Testing
@testable import Daemon

/// The inference thread classifies and explains a frame with one forward pass: the frames it
/// may explain run on the explainer's recording interpreter.
@Suite("Forward pass reuse")
struct ForwardPassReuseTests {
    static let root = DaemonProcess.projectRoot.path

    static func context() throws -> ModelContext {
        try ModelContext(modelPath: root + "/demo/efficientnet_lite0_int8.tflite", labelsPath: root + "/demo/imagenet_labels.txt",
                         mean: [127], std: [128])
    }

    static func settings(mode: DaemonConfiguration.ExplainMode) -> DaemonConfiguration {
        var settings = DaemonConfiguration()
        settings.model.threads = 1
        settings.explain.mode = mode
        settings.explain.overlay = false
        return settings
    }

    /// A 160×120 camera JPEG (made by scripts/make-jpeg-fixtures.py), prepared as the pipeline does.
    static func input(_ name: String, context: ModelContext, stages: InferenceStages) throws -> PreparedInput {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/Tests/Fixtures/capture/jpeg/" + name)))
        let frame = Frame(bytes: bytes, pixelFormat: .mjpeg, width: 160, height: 120, bytesPerLine: 0, sequence: 1, timestampNanoseconds: 0)
        return try context.prepare(frame, decoder: stages.decoder, crop: .center)
    }

    @Test func recordingPassGivesTheScoresOfThePlainPass() throws {
        let context = try Self.context()
        let explaining = try InferenceStages(context: context, settings: Self.settings(mode: .all))
        let plain = try InferenceStages(context: context, settings: Self.settings(mode: .onDemand))
        let input = try Self.input("frame00.jpg", context: context, stages: plain)
        let recorded = try explaining.infer(input, explain: Self.settings(mode: .all).explain)
        let reference = try plain.infer(input, explain: Self.settings(mode: .onDemand).explain)
        #expect(reference.count == 1000)
        #expect(recorded == reference)
    }

    @Test func explanationComesFromTheInferencePassNotASecondOne() throws {
        let context = try Self.context()
        let settings = Self.settings(mode: .all)
        let stages = try InferenceStages(context: context, settings: settings)
        let request = try ExplanationRequest(settings.explain)
        let first = try Self.input("frame00.jpg", context: context, stages: stages)
        let other = try Self.input("frame03.jpg", context: context, stages: stages)
        let fresh = try Explainer(model: context.model, interpreterOptions: .init(threads: 1))
        let expected = try fresh.render(first, classIndex: nil, request: request)
        let otherExpected = try fresh.render(other, classIndex: nil, request: request)
        #expect(expected.heatmap.grid != otherExpected.heatmap.grid)

        _ = try stages.infer(first, explain: settings.explain)
        let reused = try stages.explain(first, classIndex: nil, request: request)
        #expect(reused.heatmap.grid == expected.heatmap.grid)
        #expect(reused.targetClass == expected.targetClass && reused.logit == expected.logit)
        #expect(reused.box == expected.box)
        // Handed another frame's pixels, it still explains the pass it recorded: no model run.
        let stale = try stages.explain(other, classIndex: nil, request: request)
        #expect(stale.heatmap.grid == expected.heatmap.grid)
    }

    @Test func aMethodTheLastPassDidNotRecordRunsItsOwnPass() throws {
        let context = try Self.context()
        let settings = Self.settings(mode: .all)
        let stages = try InferenceStages(context: context, settings: settings)
        let input = try Self.input("frame00.jpg", context: context, stages: stages)
        _ = try stages.infer(input, explain: settings.explain)
        var eigen = settings.explain
        eigen.method = "eigencam"  // changed live after the pass (config.set)
        let request = try ExplanationRequest(eigen)
        let expected = try Explainer(model: context.model, interpreterOptions: .init(threads: 1))
            .render(input, classIndex: nil, request: request)
        let rendered = try stages.explain(input, classIndex: nil, request: request)
        #expect(rendered.method == "eigencam")
        #expect(rendered.heatmap.grid == expected.heatmap.grid)
    }
}
