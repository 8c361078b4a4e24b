import Foundation
import GRDB
import Testing
@testable import Store

@Suite struct RetentionTests {
    @Test func pruneByAgeDeletesOlderDetectionsAndEventsOnly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        try store.insert((0..<100).map { Sample.detection(time: Int64($0) * 1_000) })
        for t in stride(from: Int64(0), to: 100_000, by: 10_000) {
            try store.insert(event: NewEvent(time: t, kind: .config, message: "tick"))
        }
        let report = try store.prune(RetentionPolicy(maxAge: .seconds(30)), batchSize: 7, now: 100_000)
        #expect(report.deletedDetections == 70)
        #expect(report.deletedEvents == 7)
        #expect(report.limitsHold)
        let times = try store.detections(limit: 1_000).items.map(\.time)
        #expect(times == (70..<100).reversed().map { Int64($0) * 1_000 })
        #expect(try store.events().map(\.time) == [70_000, 80_000, 90_000])
    }

    @Test func pruneByCountKeepsTheNewestInSmallBatches() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        // Inserted out of time order: pruning must go by time, not by id.
        let times = (0..<1_234).map { Int64(($0 * 7_919) % 1_234) }
        try store.insert(times.map { Sample.detection(time: $0) })
        let report = try store.prune(RetentionPolicy(maxDetections: 100), batchSize: 50)
        #expect(report.deletedDetections == 1_134)
        #expect(report.batches == 23)  // ⌈1134 / 50⌉
        let kept = try store.detections(limit: 1_000).items.map(\.time)
        #expect(kept == (1_134..<1_234).reversed().map { Int64($0) })
        #expect(try store.stats().detections == 100)
        #expect(try store.integrityCheck().ok)  // includes kept counts == count(*)
        // A second prune has nothing to do.
        #expect(try store.prune(RetentionPolicy(maxDetections: 100)).deletedDetections == 0)
    }

    @Test func deletingADetectionDeletesItsHeatmap() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        let ids = try store.insert((0..<10).map { Sample.detection(time: Int64($0), heatmap: Sample.heatmap(overlayBytes: 500)) })
        #expect(try store.prune(RetentionPolicy(maxDetections: 4)).deletedDetections == 6)
        for id in ids.prefix(6) { #expect(try store.heatmap(detectionID: id) == nil) }
        for id in ids.suffix(4) { #expect(try store.heatmap(detectionID: id) != nil) }
        // The cascade is the schema's, not prune's: a plain DELETE does it too.
        try store.pool.write { db in try db.execute(sql: "DELETE FROM detection WHERE id = ?", arguments: [ids[9]]) }
        #expect(try store.heatmap(detectionID: ids[9]) == nil)
        #expect(try store.stats().heatmaps == 3)
        #expect(try store.integrityCheck().ok)
    }

    @Test func pruneByBytesShrinksTheFileUnderTheLimit() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("edgecam.sqlite")
        let store = try DetectionStore(path: path)
        for batch in 0..<40 {
            try store.insert((0..<10).map { i in
                Sample.detection(time: Int64(batch * 10 + i), heatmap: Sample.heatmap(overlayBytes: 16_000, seed: UInt64(batch * 10 + i)))
            })
        }
        #expect(try store.checkpoint())
        let fullSize = DetectionStore.fileSize(path)
        #expect(fullSize > 6_000_000)  // 400 × 16 kB of incompressible overlays

        let limit: Int64 = 1 << 20
        let report = try store.prune(RetentionPolicy(maxDatabaseBytes: limit), batchSize: 25)
        #expect(report.limitsHold)
        #expect(report.usedBytesBefore > 6_000_000)
        #expect(report.usedBytesAfter <= limit)
        #expect(DetectionStore.fileSize(path) <= limit)  // the file itself shrank
        #expect(report.fileBytesAfter == DetectionStore.fileSize(path))
        #expect(DetectionStore.fileSize(path + "-wal") == 0)

        let kept = try store.detections(limit: 1_000).items.map(\.time)
        #expect(!kept.isEmpty && kept.count < 80)
        #expect(kept == (400 - kept.count..<400).reversed().map { Int64($0) })  // the newest survive
        #expect(try store.integrityCheck().ok)
    }

    @Test func aByteLimitBelowTheEmptySchemaIsReportedNotLooped() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        try store.insert([Sample.detection(time: 1), Sample.detection(time: 2)])
        let report = try store.prune(RetentionPolicy(maxDatabaseBytes: 4_096))
        #expect(!report.limitsHold)
        #expect(report.deletedDetections == 2)
        #expect(throws: StoreError.self) { try store.prune(RetentionPolicy(maxDetections: -1)) }
        #expect(throws: StoreError.self) { try store.prune(RetentionPolicy(), batchSize: 0) }
    }
}

@Suite struct WALTests {
    /// Writes `batches` transactions of 5 detections with 8 kB overlays and returns the largest
    /// -wal size seen after a write returned.
    private func burst(walLimit: Int64, batches: Int, in dir: TemporaryDirectory, name: String) throws -> Int64 {
        let path = dir.path(name)
        let store = try DetectionStore(path: path, configuration: StoreConfiguration(walCheckpointBytes: walLimit))
        var largest: Int64 = 0
        for batch in 0..<batches {
            try store.insert((0..<5).map { i in
                Sample.detection(time: Int64(batch), heatmap: Sample.heatmap(overlayBytes: 8_000, seed: UInt64(batch * 5 + i)))
            })
            largest = max(largest, DetectionStore.fileSize(path + "-wal"))
        }
        return largest
    }

    @Test func theWALStaysUnderItsLimitDuringAWriteBurst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let limit: Int64 = 256 << 10
        // 150 × 40 kB ≈ 6 MB written, about 23 times the limit.
        #expect(try burst(walLimit: limit, batches: 150, in: dir, name: "bounded.sqlite") <= limit)
        // Control: SQLite alone (auto-checkpoint every 1000 pages, no truncation) goes far past it.
        #expect(try burst(walLimit: 1 << 40, batches: 150, in: dir, name: "unbounded.sqlite") > 4 * limit)
    }

    @Test func aReaderPinningTheWALDelaysTruncationButNeverFailsOrStallsAWrite() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(
            path: dir.path("edgecam.sqlite"),
            configuration: StoreConfiguration(walCheckpointBytes: 1, checkpointBusyTimeout: .milliseconds(50)))
        try store.insert([Sample.detection(time: 1)])
        #expect(store.walBytes() == 0)  // over the 1-byte limit, so checkpointed and truncated

        let reading = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? store.pool.read { db in
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM detection")  // takes the snapshot
                reading.signal()
                release.wait()
            }
            finished.signal()
        }
        reading.wait()
        let start = ContinuousClock.now
        let ids = try store.insert([Sample.detection(time: 2)])
        let elapsed = ContinuousClock.now - start
        #expect(ids.count == 1)
        #expect(elapsed < .seconds(2))   // waited ~checkpointBusyTimeout, not busyTimeout (5 s)
        #expect(store.walBytes() > 0)    // the reader's snapshot kept the WAL
        release.signal()
        finished.wait()
        try store.insert([Sample.detection(time: 3)])
        #expect(store.walBytes() == 0)   // reader gone: the next write truncates it
        #expect(try store.stats().detections == 3)
    }

    @Test func closeLeavesNoWAL() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("edgecam.sqlite")
        let store = try DetectionStore(path: path)
        try store.insert([Sample.detection(time: 1)])
        #expect(store.walBytes() > 0)
        try store.close()
        #expect(DetectionStore.fileSize(path + "-wal") == 0)
        #expect(throws: StoreError.self) { try store.insert([Sample.detection(time: 2)]) }
    }
}
