import Foundation
import Testing
import Inference
@testable import Explain

/// Explanations of the int8 shapes-a model against the reference maps of the float model
/// (xplique, refs/shapes/README.md) and the ground-truth boxes of the dev set.
@Suite struct ShapesReferenceTests {
    static let side = 96, sample = 96 * 96 * 3, images = 200

    static func explainer() throws -> Explainer { try Explainer(modelBytes: Fixtures.shapesModel()) }
    static func inputs() throws -> [UInt8] { try Fixtures.data("refs/shapes/dev/input.i8") }
    static func labels() throws -> [Int] { try Fixtures.int32s("explain/shapes/labels.i32").map(Int.init) }
    static func boxes() throws -> [Heatmap.Box] {
        let v = try Fixtures.int32s("explain/shapes/boxes.i32").map(Int.init)
        return stride(from: 0, to: v.count, by: 4).map { Heatmap.Box(x0: v[$0], y0: v[$0 + 1], x1: v[$0 + 2], y1: v[$0 + 3]) }
    }
    /// The full-resolution reference maps, read from ../shared/refs when present (too big to copy).
    static func sharedReference(_ name: String) -> [Float]? {
        let url = Fixtures.projectRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/refs/shapes/heatmaps/shapes-a/dev/\(name)")
        guard let data = try? Data(contentsOf: url) else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    /// Whether ../shared/refs is beside the project (tests of the full-resolution maps need it).
    static let sharedRefsPresent = sharedReference("gradcam.f32") != nil

    static func image(_ inputs: [UInt8], _ k: Int) -> ArraySlice<UInt8> { inputs[(k * sample)..<((k + 1) * sample)] }

    @Test("the default layer of shapes-a is last_conv_relu (tensor 45, 12x12x64) and the score is the logits output")
    func defaultLayer() throws {
        let explainer = try Self.explainer()
        #expect(try explainer.layerTensor(.automatic) == 45)
        #expect(explainer.scoreTensor == 47)
    }

    @Test("Grad-CAM on the int8 model correlates with the reference float Grad-CAM (12x12, mean Pearson ≥ 0.9 over the dev set)")
    func gradCAMMatchesReference() throws {
        let explainer = try Self.explainer()
        let inputs = try Self.inputs(), labels = try Self.labels()
        let reference = try Fixtures.floats("explain/shapes/gradcam_lowres.f32")
        var total = 0.0
        for k in 0..<Self.images {
            let result = try explainer.explain(input: Self.image(inputs, k), method: .gradcam, target: .classIndex(labels[k]))
            #expect(result.map.width == 12 && result.map.height == 12)
            total += LocalizationMetrics.pearson(result.map.values, Array(reference[(k * 144)..<((k + 1) * 144)]))
        }
        let mean = total / Double(Self.images)
        print("shapes-a Grad-CAM vs reference (12x12): mean Pearson \(mean)")
        #expect(mean >= 0.9)
    }

    @Test("CAM and Grad-CAM++ on the int8 model correlate with the reference float maps (12x12)")
    func camAndGradCAMPlusPlusMatchReference() throws {
        let explainer = try Self.explainer()
        let inputs = try Self.inputs(), labels = try Self.labels()
        for (method, file) in [(ExplanationMethod.cam, "cam_lowres.f32"), (.gradcamPlusPlus, "gradcampp_lowres.f32")] {
            let reference = try Fixtures.floats("explain/shapes/\(file)")
            var total = 0.0
            for k in 0..<50 {
                let result = try explainer.explain(input: Self.image(inputs, k), method: method, target: .classIndex(labels[k]))
                total += LocalizationMetrics.pearson(result.map.values, Array(reference[(k * 144)..<((k + 1) * 144)]))
            }
            print("shapes-a \(method.rawValue) vs reference (12x12, 50 images): mean Pearson \(total / 50)")
            #expect(total / 50 >= 0.9)
        }
    }

    @Test("Grad-CAM of a GAP→FC head equals relu(CAM) / (H·W) up to float rounding")
    func gradCAMEqualsCAMOnGlobalPoolingHead() throws {
        let explainer = try Self.explainer()
        let inputs = try Self.inputs()
        for k in [0, 1, 2, 3] {
            let grad = try explainer.explain(input: Self.image(inputs, k), method: .gradcam)
            let cam = try explainer.explain(input: Self.image(inputs, k), method: .cam, target: .classIndex(grad.targetClass))
            let scale = cam.map.values.map(abs).max() ?? 1
            for (g, c) in zip(grad.map.values, cam.map.values) {
                #expect(abs(g - max(c, 0) / 144) <= 1e-5 * scale)
            }
        }
    }

    @Test("our metric code agrees with evaluate.py on the reference maps (README: gradcam 0.790 / 0.220 / 0.380, occlusion 0.930 / 0.075 / 0.182)",
          .enabled(if: sharedRefsPresent, "needs ../shared/refs"))
    func metricsAgreeWithEvaluatePy() throws {
        let boxes = try Self.boxes()
        for (file, pointing, loc, iou) in [("gradcam.f32", 0.79, 0.22, 0.37979973750742135),
                                           ("occlusion.f32", 0.93, 0.075, 0.182321633584676)] {
            let maps = try #require(Self.sharedReference(file))
            var metrics = LocalizationMetrics()
            for k in 0..<Self.images {
                metrics.add(Heatmap(width: 96, height: 96, values: Array(maps[(k * 9216)..<((k + 1) * 9216)])), box: boxes[k])
            }
            #expect(metrics.pointingAccuracy == pointing)
            #expect(metrics.localizationAccuracy == loc)
            #expect(abs(metrics.averageIoU - iou) < 1e-9)
        }
    }

    @Test("bilinear upsampling with half-pixel centres reproduces the reference 96x96 Grad-CAM from its 12x12 map",
          .enabled(if: sharedRefsPresent, "needs ../shared/refs"))
    func upsamplingMatchesReference() throws {
        let low = try Fixtures.floats("explain/shapes/gradcam_lowres.f32")
        let high = try #require(Self.sharedReference("gradcam.f32"))
        var worst: Float = 0
        for k in 0..<20 {
            let up = Heatmap(width: 12, height: 12, values: Array(low[(k * 144)..<((k + 1) * 144)])).resized(width: 96, height: 96)
            for (a, b) in zip(up.values, high[(k * 9216)..<((k + 1) * 9216)]) { worst = max(worst, abs(a - b)) }
        }
        #expect(worst < 1e-5)
    }
}
