import Foundation
@testable import Store

/// A fresh directory under the system temp directory; call `remove()` in a `defer`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("edgecam-store-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// Builders for test rows, so each test states only what it is about.
enum Sample {
    static func detection(
        time: Int64, label: String = "person", classIndex: Int = 0, score: Double = 0.9,
        frame: Int64 = 0, heatmap: NewHeatmap? = nil
    ) -> NewDetection {
        NewDetection(
            time: time, frameSequence: frame, classIndex: classIndex, label: label, score: score,
            box: Detection.Box(x0: 10, y0: 20, x1: 110, y1: 220), peak: Detection.Point(x: 60, y: 120),
            latencies: StageLatencies(capture: 1, decode: 2, infer: 3, explain: 4, total: 10),
            method: "gradcam", layer: "conv_pw_13", heatmap: heatmap)
    }

    /// A heatmap whose grid counts up and whose "JPEG" is `overlayBytes` bytes of noise (noise,
    /// so that page compression cannot make byte-limit tests pass by accident).
    static func heatmap(width: Int = 7, height: Int = 7, overlayBytes: Int = 0, seed: UInt64 = 1) -> NewHeatmap {
        let grid = Data((0..<(width * height)).map { UInt8(truncatingIfNeeded: $0 * 5) })
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var overlay = Data(count: overlayBytes)
        for i in 0..<overlayBytes {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            overlay[i] = UInt8(truncatingIfNeeded: state)
        }
        return NewHeatmap(width: width, height: height, grid: grid, overlayJPEG: overlayBytes > 0 ? overlay : nil)
    }
}
