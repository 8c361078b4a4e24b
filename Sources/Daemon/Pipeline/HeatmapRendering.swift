import Explain
import Foundation
import Imaging
import Store

/// A computed explanation in the form the store and the control protocol keep it.
struct RenderedExplanation: Sendable {
    var method: String
    var layer: String?
    var heatmap: NewHeatmap
    var box: Detection.Box?
    var peak: Detection.Point?
    /// The class explained and its logit.
    var targetClass: Int
    var logit: Float
}

/// How explanations are asked for (`explain.*` settings, or a control request's arguments).
struct ExplanationRequest: Sendable, Equatable {
    var method: ExplanationMethod
    var layer: LayerSelection
    var overlay: Bool
    var overlayQuality: Int
    var boxThreshold: Float

    init(method: String, layer: String, overlay: Bool, overlayQuality: Int, boxThreshold: Double) throws(DaemonError) {
        guard let parsed = ExplanationMethod(rawValue: method) else {
            throw .explain("unknown method '\(method)'; one of " + ExplanationMethod.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.method = parsed
        self.layer = layer.isEmpty ? .automatic : .named(layer)
        self.overlay = overlay
        self.overlayQuality = overlayQuality
        self.boxThreshold = Float(boxThreshold)
    }

    init(_ settings: DaemonConfiguration.ExplainSettings) throws(DaemonError) {
        try self.init(method: settings.method, layer: settings.layer, overlay: settings.overlay,
                      overlayQuality: settings.overlayQuality, boxThreshold: settings.boxThreshold)
    }
}

extension Explainer {
    /// Explains `input` for `classIndex` (nil = top-1) with a forward pass of its own and
    /// renders the stored form (see ``RenderedExplanation/init(_:of:request:)``).
    func render(_ input: PreparedInput, classIndex: Int?, request: ExplanationRequest) throws(DaemonError) -> RenderedExplanation {
        let explanation: Explanation
        do {
            explanation = try explain(input: input.bytes, method: request.method,
                                      target: classIndex.map { .classIndex($0) } ?? .top1, layer: request.layer)
        } catch {
            throw .explain("\(error)")
        }
        return try RenderedExplanation(explanation, of: input, request: request)
    }

    /// Like ``render(_:classIndex:request:)``, but explains the forward pass that
    /// `recordingInterpreter(for: request.method, layer: request.layer)` last ran, which must
    /// have been on `input`: no second pass.
    func renderRecorded(_ input: PreparedInput, classIndex: Int?, request: ExplanationRequest) throws(DaemonError) -> RenderedExplanation {
        let explanation: Explanation
        do {
            explanation = try explainRecorded(method: request.method, target: classIndex.map { .classIndex($0) } ?? .top1,
                                              layer: request.layer)
        } catch {
            throw .explain("\(error)")
        }
        return try RenderedExplanation(explanation, of: input, request: request)
    }
}

extension RenderedExplanation {
    /// The stored form of `explanation` of `input`: the map at its native grid as uint8
    /// (0 = coldest of this map, 255 = hottest), the weak-localization box and peak in frame
    /// pixels, and optionally a JPEG of the map over the model input.
    init(_ explanation: Explanation, of input: PreparedInput, request: ExplanationRequest) throws(DaemonError) {
        let normalized = explanation.map.normalized()
        let grid = Data(normalized.values.map { UInt8(clamping: Int(($0.isFinite ? $0 : 0) * 255 + 0.5)) })
        let box = explanation.box(threshold: request.boxThreshold)
        var overlay: Data?
        if request.overlay {
            do {
                var image = try input.image.overlay(heatmap: normalized.values, width: normalized.width, height: normalized.height)
                if let box {
                    image.drawBox(PixelRect(x0: box.x0, y0: box.y0, x1: box.x1 + 1, y1: box.y1 + 1), color: .white, lineWidth: 2)
                }
                overlay = Data(try image.jpegData(quality: request.overlayQuality))
            } catch {
                throw .explain("overlay: \(error)")
            }
        }
        self.init(
            method: explanation.method.rawValue, layer: explanation.layerName,
            heatmap: NewHeatmap(width: normalized.width, height: normalized.height, grid: grid, overlayJPEG: overlay),
            box: box.map { input.geometry.frameBox(x0: $0.x0, y0: $0.y0, x1: $0.x1, y1: $0.y1) },
            peak: explanation.peak.map { input.geometry.framePoint(centerOf: $0.x, $0.y) },
            targetClass: explanation.targetClass, logit: explanation.score)
    }
}
