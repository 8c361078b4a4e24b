import Explain
import Foundation

/// One entry of `--boxes B.json`: where the map of one input points (see docs/CLI-explain-bench.md).
///
/// `box` is the inclusive pixel box `[x0, y0, x1, y1]` of the largest 8-connected region at or
/// above the threshold times the map's maximum (CAM paper); `peak` is `[x, y]` of the maximum. Both
/// are in the pixels of the map written (the model input for `--input`, the crop for a photo), and
/// `null` when the map is constant (it points nowhere).
struct ExplanationRecord: Encodable {
    var index: Int
    var targetClass: Int
    var label: String?
    /// The explained class's logit (the input of a final SOFTMAX, else the model output).
    var score: Float
    var box: [Int]?
    var peak: [Int]?
    /// Image form only: the crop of the photo that became the model input, `[x, y, width, height]`.
    var crop: [Int]?

    init(index: Int, explanation: Explanation, map: Heatmap, threshold: Float, labels: [String], crop: [Int]? = nil) {
        self.index = index
        targetClass = explanation.targetClass
        label = labels.indices.contains(explanation.targetClass) ? labels[explanation.targetClass] : nil
        score = explanation.score
        box = map.box(threshold: threshold).map { [$0.x0, $0.y0, $0.x1, $0.y1] }
        peak = map.peak.map { [$0.x, $0.y] }
        self.crop = crop
    }

    private enum CodingKeys: String, CodingKey {
        case index, targetClass = "class", label, score, box, peak, crop
    }

    // Explicit so that a missing box or peak is written as null rather than left out.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(targetClass, forKey: .targetClass)
        try container.encodeIfPresent(label, forKey: .label)
        try container.encode(score, forKey: .score)
        try container.encode(box, forKey: .box)
        try container.encode(peak, forKey: .peak)
        try container.encodeIfPresent(crop, forKey: .crop)
    }

    /// One line for the terminal.
    var summary: String {
        let name = label.map { " '\($0)'" } ?? ""
        let boxText = box.map { "[\($0.map(String.init).joined(separator: ", "))]" } ?? "none"
        let peakText = peak.map { "(\($0[0]), \($0[1]))" } ?? "none"
        return "class \(targetClass)\(name) score \(String(format: "%.4f", score)) peak \(peakText) box \(boxText)"
    }
}
