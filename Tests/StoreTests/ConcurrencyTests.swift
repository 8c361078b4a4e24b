import Foundation
import GRDB
import Testing
@testable import Store

/// A value shared between a test and a thread it starts.
final class Shared<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

@Suite struct ConcurrencyTests {
    @Test func aReaderIsNotBlockedByAnOpenWriteTransaction() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        try store.insert([Sample.detection(time: 1)])
        let seen = Shared<Int?>(nil)
        let finished = try store.pool.write { db -> Bool in
            try db.execute(sql: "INSERT INTO detection (time, frame_sequence, class_index, label, score) VALUES (2, 0, 0, 'x', 1)")
            // The write transaction stays open while another thread queries.
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                seen.value = try? store.detections().items.count
                done.signal()
            }
            return done.wait(timeout: .now() + 10) == .success
        }
        #expect(finished)
        #expect(seen.value == 1)  // the committed snapshot, without the uncommitted row
        #expect(try store.detections().items.count == 2)
    }

    @Test func readersSeeWholeBatchesWhileAWriterInserts() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"), configuration: StoreConfiguration(walCheckpointBytes: 256 << 10))
        let writerDone = DispatchSemaphore(value: 0)
        let writerError = Shared<String?>(nil)
        // Halfway, the writer waits (up to 30 s) until a read has seen a partly written table,
        // so that a fast writer cannot finish between two reads.
        let partlyWrittenSeen = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do {
                for batch in 0..<200 {
                    try store.insert((0..<10).map { _ in Sample.detection(time: Int64(batch), heatmap: Sample.heatmap(overlayBytes: 1_000)) })
                    if batch == 99 { _ = partlyWrittenSeen.wait(timeout: .now() + 30) }
                }
            } catch {
                writerError.value = "\(error)"
            }
            writerDone.signal()
        }
        var counts: [Int] = []
        var finished = false
        while !finished {
            finished = writerDone.wait(timeout: .now()) == .success
            let count = try store.stats().detections
            if count > 0, count < 2_000, !counts.contains(where: { $0 > 0 && $0 < 2_000 }) { partlyWrittenSeen.signal() }
            counts.append(count)
            let page = try store.detections(limit: 25)
            #expect(page.items.map(\.time) == page.items.map(\.time).sorted(by: >))
        }
        #expect(writerError.value == nil)
        #expect(counts.allSatisfy { $0 % 10 == 0 })  // never half a batch
        #expect(counts == counts.sorted())           // snapshots only move forward
        #expect(counts.last == 2_000)
        #expect(counts.contains { $0 > 0 && $0 < 2_000 })  // the reads did overlap the writes
        #expect(try store.integrityCheck().ok)
    }
}
