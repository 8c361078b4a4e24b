import Foundation
import Testing
import Store

/// The JSON field names are a contract with scripts (`edgecam detections --json`).
@Suite struct JSONContractTests {
    private func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test func aDetectionEncodesWithTheDocumentedKeysAndExplicitNulls() throws {
        let detection = Detection(
            id: 7, time: 1_700_000_000_123, frameSequence: 99, modelID: nil, classIndex: 3, label: "cat", score: 0.5,
            box: Detection.Box(x0: 1, y0: 2, x1: 3, y1: 4), peak: nil,
            latencies: StageLatencies(capture: 1, decode: nil, infer: 2.5, explain: nil, total: 4),
            method: "cam", layer: nil, hasHeatmap: true)
        #expect(try json(detection) == #"{"box":{"x0":1,"x1":3,"y0":2,"y1":4},"class":3,"frame":99,"has_heatmap":true,"id":7,"label":"cat","latency_ms":{"capture":1,"decode":null,"explain":null,"infer":2.5,"total":4},"layer":null,"method":"cam","model_id":null,"peak":null,"score":0.5,"time":1700000000123}"#)
        let decoded = try JSONDecoder().decode(Detection.self, from: Data(try json(detection).utf8))
        #expect(decoded == detection)
    }

    @Test func pagesHeatmapsEventsAndStatsUseSnakeCaseKeys() throws {
        #expect(try json(Page<Event>(items: [], nextCursor: nil)) == #"{"items":[],"next_cursor":null}"#)
        #expect(try json(HeatmapRecord(detectionID: 1, width: 1, height: 2, grid: Data([0, 255]), overlayJPEG: nil))
            == #"{"detection_id":1,"grid":"AP8=","height":2,"overlay_jpeg":null,"width":1}"#)
        #expect(try json(Event(id: 1, time: 2, kind: .disconnect, message: "gone", details: nil))
            == #"{"details":null,"id":1,"kind":"disconnect","message":"gone","time":2}"#)
        let stats = StoreStats(
            models: 1, detections: 2, heatmaps: 3, events: 4, pageSize: 4096, pageCount: 10, freelistCount: 2,
            walBytes: 0, oldestDetection: nil, newestDetection: 5)
        #expect(try json(stats) == #"{"database_bytes":40960,"detections":2,"events":4,"freelist_count":2,"heatmaps":3,"models":1,"newest_detection":5,"page_count":10,"page_size":4096,"used_bytes":32768,"wal_bytes":0}"#)
    }
}
