import Foundation
import Testing
@testable import Store

@Suite struct QueryTests {
    @Test func aDetectionRoundTripsWithEveryField() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        let modelID = try store.register(
            model: ModelInfo(sha256: String(repeating: "0f", count: 32), name: "mobilenet", labels: ["cat", "dog"]))
        let new = NewDetection(
            time: 1_700_000_000_500, frameSequence: 77, modelID: modelID, classIndex: 1, label: "dog", score: 0.625,
            box: Detection.Box(x0: 1, y0: 2, x1: 30, y1: 40), peak: Detection.Point(x: 15, y: 21),
            latencies: StageLatencies(capture: 0.25, decode: 3.5, infer: 12, explain: nil, total: 16),
            method: "gradcam++", layer: "block_16", heatmap: Sample.heatmap(width: 4, height: 3, overlayBytes: 100))
        let bare = NewDetection(time: 1_700_000_000_400, frameSequence: 76, classIndex: 0, label: "cat", score: 0.5)
        let ids = try store.insert([new, bare])
        #expect(ids.count == 2)
        #expect(ids[0] < ids[1])

        let stored = try #require(try store.detection(id: ids[0]))
        #expect(stored == Detection(
            id: ids[0], time: 1_700_000_000_500, frameSequence: 77, modelID: modelID, classIndex: 1, label: "dog",
            score: 0.625, box: Detection.Box(x0: 1, y0: 2, x1: 30, y1: 40), peak: Detection.Point(x: 15, y: 21),
            latencies: StageLatencies(capture: 0.25, decode: 3.5, infer: 12, explain: nil, total: 16),
            method: "gradcam++", layer: "block_16", hasHeatmap: true))
        let plain = try #require(try store.detection(id: ids[1]))
        #expect(plain.box == nil && plain.peak == nil && plain.method == nil && plain.modelID == nil)
        #expect(plain.latencies == StageLatencies() && !plain.hasHeatmap)

        let heatmap = try #require(try store.heatmap(detectionID: ids[0]))
        let expected = Sample.heatmap(width: 4, height: 3, overlayBytes: 100)
        #expect(heatmap == HeatmapRecord(detectionID: ids[0], width: 4, height: 3, grid: expected.grid, overlayJPEG: expected.overlayJPEG))
        #expect(try store.heatmap(detectionID: ids[1]) == nil)
        #expect(try store.detection(id: 999_999) == nil)

        let model = try #require(try store.model(id: modelID))
        #expect(model.name == "mobilenet" && model.labels == ["cat", "dog"])
    }

    @Test func registeringTheSameHashAgainKeepsTheIDAndUpdatesNameAndLabels() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        let hash = String(repeating: "1", count: 64)
        let first = try store.register(model: ModelInfo(sha256: hash, name: "old", labels: ["a"]))
        let other = try store.register(model: ModelInfo(sha256: String(repeating: "2", count: 64), name: "x", labels: []))
        let again = try store.register(model: ModelInfo(sha256: hash, name: "new", labels: ["a", "b"]))
        #expect(first == again && first != other)
        #expect(try store.models().map(\.name) == ["new", "x"])
        #expect(try store.stats().models == 2)  // the upsert's update path is not counted as an insert
        #expect(throws: StoreError.self) { try store.register(model: ModelInfo(sha256: "XYZ", name: "bad", labels: [])) }
    }

    @Test func filtersCombineSinceUntilLabelScoreAndClass() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        let labels = ["person", "car", "dog"]
        let rows: [NewDetection] = (0..<300).map { (i: Int) -> NewDetection in
            let time: Int64 = 10_000 + Int64(i / 3) * 100
            let score = Double((i * 37) % 100) / 100
            return Sample.detection(time: time, label: labels[i % 3], classIndex: i % 3, score: score)
        }
        let ids = try store.insert(rows)
        let all: [(id: Int64, row: NewDetection)] = Array(zip(ids, rows))

        // Rows are inserted in time order, so newest first = by time, then id, descending.
        func expected(_ keep: (NewDetection) -> Bool) -> [Int64] {
            let kept = all.filter { keep($0.row) }
            let sorted = kept.sorted { a, b in a.row.time != b.row.time ? a.row.time > b.row.time : a.id > b.id }
            return sorted.map { $0.id }
        }
        func fetched(_ filter: DetectionFilter) throws -> [Int64] {
            try store.detections(filter: filter, limit: 1_000).items.map(\.id)
        }

        #expect(try fetched(DetectionFilter()) == expected { _ in true })
        #expect(try fetched(DetectionFilter(label: "car")) == expected { $0.label == "car" })
        #expect(try fetched(DetectionFilter(minScore: 0.8)) == expected { $0.score >= 0.8 })
        #expect(try fetched(DetectionFilter(classIndex: 2)) == expected { $0.classIndex == 2 })
        #expect(try fetched(DetectionFilter(since: 12_000, until: 15_000)) == expected { $0.time >= 12_000 && $0.time < 15_000 })
        let combined = DetectionFilter(since: 11_000, until: 19_000, label: "dog", minScore: 0.5, classIndex: 2)
        let combinedExpected = expected { $0.time >= 11_000 && $0.time < 19_000 && $0.label == "dog" && $0.score >= 0.5 }
        #expect(!combinedExpected.isEmpty)
        #expect(try fetched(combined) == combinedExpected)
        #expect(try fetched(DetectionFilter(label: "unicorn")).isEmpty)
    }

    @Test func cursorPagesVisitEveryRowOnceNewestFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        // Many rows share a time, so the id tie-break decides page boundaries.
        let rows = (0..<101).map { i in Sample.detection(time: 5_000 + Int64(i / 4), label: i % 2 == 0 ? "a" : "b") }
        let ids = try store.insert(rows)
        let expected = zip(ids, rows).sorted { ($0.1.time, $0.0) > ($1.1.time, $1.0) }.map(\.0)

        for (filter, want) in [(DetectionFilter(), expected), (DetectionFilter(label: "a"), expected.filter { ($0 - ids[0]) % 2 == 0 })] {
            var seen: [Int64] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try store.detections(filter: filter, limit: 7, cursor: cursor)
                #expect(page.items.count <= 7)
                seen += page.items.map(\.id)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 100
            #expect(seen == want)
            #expect(pages == (want.count + 6) / 7)  // the last page carries no cursor
        }
    }

    @Test func cursorPagingIsStableWhileRowsAreInserted() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        // Ids grow with time, so newest-first order is simply the reverse insertion order.
        let original = try store.insert((0..<60).map { Sample.detection(time: 1_000 + Int64($0 / 3)) })

        var seen: [Int64] = []
        var alreadyPassed: Set<Int64> = []  // inserted on the visited side of the cursor
        var older: Set<Int64> = []          // inserted on the unvisited side
        var cursor: String?
        var round: Int64 = 0
        repeat {
            let page = try store.detections(limit: 10, cursor: cursor)
            seen += page.items.map(\.id)
            cursor = page.nextCursor
            round += 1
            // Between pages: a newer row, a row at the boundary's time (its larger id puts it
            // before the boundary in (time, id) order), and a much older row.
            let boundaryTime = try #require(page.items.last?.time)
            let ids = try store.insert([
                Sample.detection(time: 9_000 + round), Sample.detection(time: boundaryTime),
                Sample.detection(time: round),
            ])
            alreadyPassed.formUnion(ids[0...1])
            older.insert(ids[2])
        } while cursor != nil

        #expect(Set(seen).count == seen.count)                           // no duplicates
        #expect(seen.filter(Set(original).contains) == Array(original.reversed()))  // no gaps, in order
        #expect(seen.allSatisfy { !alreadyPassed.contains($0) })
        #expect(Set(seen).isSubset(of: Set(original).union(older)))
    }

    @Test func badLimitsCursorsAndRowsAreRejectedWithStoreErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        #expect(throws: StoreError.invalidArgument("page limit 0 is outside 1…10000")) { try store.detections(limit: 0) }
        #expect(throws: StoreError.invalidCursor("garbage")) { try store.detections(cursor: "garbage") }
        #expect(throws: StoreError.invalidCursor("d1.5")) { try store.detections(cursor: "d1.5") }
        #expect(throws: StoreError.self) { try store.insert([Sample.detection(time: 1, score: .nan)]) }
        #expect(throws: StoreError.self) {
            try store.insert([Sample.detection(time: 1, heatmap: NewHeatmap(width: 3, height: 3, grid: Data([1, 2])))])
        }
        var inverted = Sample.detection(time: 1)
        inverted.box = Detection.Box(x0: 10, y0: 0, x1: 5, y1: 5)
        // A bad row rejects the whole batch: nothing of it is stored.
        #expect(throws: StoreError.self) { try store.insert([Sample.detection(time: 2), inverted]) }
        #expect(try store.detections().items.isEmpty)
    }

    @Test func eventsComeBackNewestLimitInChronologicalOrder() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        try store.insert(event: NewEvent(time: 100, kind: .start, message: "edgecamd 1.0 starting"))
        try store.insert(event: NewEvent(time: 200, kind: .connect, message: "camera up", details: ["device": "/dev/video0"]))
        try store.insert(event: NewEvent(time: 300, kind: .error, message: "DQBUF timeout", details: ["errno": "110"]))
        try store.insert(event: NewEvent(time: 400, kind: EventKind("watchdog"), message: "late"))

        #expect(try store.events().map(\.time) == [100, 200, 300, 400])
        #expect(try store.events(limit: 2).map(\.kind) == [.error, EventKind("watchdog")])
        let since = try store.events(since: 200, limit: 10)
        #expect(since.map(\.message) == ["camera up", "DQBUF timeout", "late"])
        #expect(since.first?.details == ["device": "/dev/video0"])
        #expect(since.last?.details == nil)
    }

    @Test func statsCountRowsAndSizes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        try store.insert([
            Sample.detection(time: 50, heatmap: Sample.heatmap()), Sample.detection(time: 20), Sample.detection(time: 90),
        ])
        try store.insert(event: NewEvent(time: 1, kind: .start, message: "up"))
        let stats = try store.stats()
        #expect(stats.detections == 3 && stats.heatmaps == 1 && stats.events == 1 && stats.models == 0)
        #expect(stats.oldestDetection == 20 && stats.newestDetection == 90)
        #expect(stats.pageSize == 4096)
        #expect(stats.databaseBytes == stats.pageCount * 4096)
        #expect(stats.usedBytes <= stats.databaseBytes)
        #expect(stats.walBytes == DetectionStore.fileSize(dir.path("edgecam.sqlite-wal")))
        #expect(stats.walBytes > 0)  // nothing checkpointed yet: the rows are in the WAL
    }
}
