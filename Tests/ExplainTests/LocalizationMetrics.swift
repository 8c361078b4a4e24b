import Explain

/// The localization metrics of `../shared/tools/evaluate.py`, reimplemented with the same
/// definitions so `swift test` needs no Python:
/// - pointing game: the first (row-major) maximum lies in the inclusive true box ± 2 px; a map
///   with NaN/inf is a miss;
/// - CAM-paper localization: min-max map ≥ 0.2, largest 8-connected component (first in
///   row-major order on ties), its inclusive box has IoU ≥ 0.5 with the true box; a constant or
///   non-finite map has IoU 0;
/// - Pearson r between a map and a reference map, a constant map counting as r = 0.
/// Checked once against evaluate.py's printed numbers on the reference maps (see
/// `ShapesReferenceTests.metricsAgreeWithEvaluatePy`).
struct LocalizationMetrics {
    var pointing = 0.0
    var localization = 0.0
    var meanIoU = 0.0
    var count = 0

    /// Scores one map; returns its pointing-game hit and its box IoU.
    @discardableResult
    mutating func add(_ map: Heatmap, box truth: Heatmap.Box, tolerance: Int = 2,
                      threshold: Float = 0.2) -> (hit: Bool, iou: Double) {
        count += 1
        var hit = false
        if let p = map.peak, p.x >= truth.x0 - tolerance, p.x <= truth.x1 + tolerance,
           p.y >= truth.y0 - tolerance, p.y <= truth.y1 + tolerance {
            pointing += 1
            hit = true
        }
        let iou = map.box(threshold: threshold)?.intersectionOverUnion(truth) ?? 0
        meanIoU += iou
        if iou >= 0.5 { localization += 1 }
        return (hit, iou)
    }

    var pointingAccuracy: Double { count > 0 ? pointing / Double(count) : 0 }
    var localizationAccuracy: Double { count > 0 ? localization / Double(count) : 0 }
    var averageIoU: Double { count > 0 ? meanIoU / Double(count) : 0 }

    static func pearson(_ a: [Float], _ b: [Float]) -> Double {
        let n = Double(min(a.count, b.count))
        guard n > 0 else { return 0 }
        let ma = a.reduce(0.0) { $0 + Double($1) } / n, mb = b.reduce(0.0) { $0 + Double($1) } / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) {
            let dx = Double(x) - ma, dy = Double(y) - mb
            sab += dx * dy; saa += dx * dx; sbb += dy * dy
        }
        let den = (saa * sbb).squareRoot()
        return den > 0 && den.isFinite ? sab / den : 0
    }
}
