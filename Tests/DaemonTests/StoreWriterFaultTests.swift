import Control
import Foundation
import GRDB
import Locking
import Logging
import Testing
@testable import Daemon
@testable import Store

/// The daemon's store writer when the database refuses writes (issue 6, item 5), in process and
/// without mounting anything: SQLite's own limits stand in for the disk. `PRAGMA max_page_count`
/// on the writer connection makes inserts fail with SQLITE_FULL exactly as a full disk does, and
/// `PRAGMA query_only` makes them fail with SQLITE_READONLY; both are undone to give the space or
/// the write access back. (DiskFaultTests does the same with real file systems when mount is
/// permitted.)
@Suite("Store writer under database faults")
struct StoreWriterFaultTests {
    /// Collects log messages, to check what the journal would show.
    final class LogCollector: @unchecked Sendable {
        private let lines = PThreadMutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    struct CollectingHandler: LogHandler {
        let collector: LogCollector
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            collector.append("\(event.level): \(event.message)")
        }
    }

    final class Fixture {
        let directory: String
        let store: DetectionStore
        let writer: StoreWriter
        let log = LogCollector()

        init(budget: Int) throws {
            directory = NSTemporaryDirectory() + "storewriter-fault-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            store = try DetectionStore(path: directory + "/edgecam.db")
            var configuration = DaemonConfiguration()
            configuration.store.batchMilliseconds = 0
            configuration.store.pruneIntervalSeconds = 3600
            let collector = log
            let logger = Logger(label: "test") { _ in CollectingHandler(collector: collector) }
            writer = StoreWriter(store: store, events: EventBroadcaster(), settings: LiveSettings(configuration),
                                 metrics: PipelineMetrics(), logger: logger, bufferBudgetBytes: budget, retryInterval: 0.05)
            writer.start()
        }

        deinit {
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Runs a PRAGMA on the store's writer connection (the one the writer inserts through).
        func pragma(_ sql: String) throws {
            try store.pool.writeWithoutTransaction { db in try db.execute(sql: sql) }
        }

        /// A detection with a 12×12 grid and a 3,000-byte overlay: about 3.4 KB buffered.
        static func detection(_ n: Int) -> StoreWriter.PendingDetection {
            let heatmap = NewHeatmap(width: 12, height: 12, grid: Data(repeating: UInt8(n & 255), count: 144),
                                     overlayJPEG: Data(repeating: 0xAB, count: 3000))
            return StoreWriter.PendingDetection(
                detection: NewDetection(time: DetectionStore.now(), frameSequence: Int64(n), classIndex: n % 5, label: "square",
                                        score: 0.9, method: "gradcam", heatmap: heatmap),
                dequeuedNanoseconds: MonotonicTime.nanoseconds())
        }

        func waitUntil(timeout: Double = 20, _ condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while !condition() {
                if Date() > deadline { return false }
                usleep(10_000)
            }
            return true
        }
    }

    /// The full-disk and read-only cases share one script: fail, buffer within budget, drop the
    /// oldest beyond it, report, then write what is buffered once the database takes writes.
    func refuseThenRecover(fail: String, undo: String, expectedState: String) throws {
        let budget = 64 << 10  // ~19 detections of 3.4 KB
        let fixture = try Fixture(budget: budget)
        for n in 0..<5 { fixture.writer.enqueue(Fixture.detection(n)) }
        #expect(fixture.waitUntil { fixture.writer.statistics.detectionsWritten == 5 })

        try fixture.pragma(fail)
        let sent = 200
        for n in 5..<(5 + sent) {
            fixture.writer.enqueue(Fixture.detection(n))
            if n % 10 == 0 { usleep(20_000) }
        }
        #expect(fixture.waitUntil { fixture.writer.health.state == expectedState }, "\(fixture.writer.health)")
        #expect(fixture.waitUntil { fixture.writer.statistics.bufferedDetections + fixture.writer.statistics.droppedDetections == sent })
        let during = fixture.writer.statistics
        let health = fixture.writer.health
        print("[relB] \(expectedState): \(sent) detections sent while refused → \(during.bufferedDetections) buffered (\(during.bufferedBytes) bytes, budget 2 × \(budget)), \(during.droppedDetections) dropped, \(during.failures) failed attempts")
        #expect(health.error?.isEmpty == false && health.since != nil)
        #expect(during.bufferedBytes <= 2 * budget, "buffer over budget: \(during.bufferedBytes)")
        #expect(during.droppedDetections > 0 && during.droppedDetections < sent)
        #expect(during.detectionsWritten == 5)
        let errors = fixture.log.all.filter { $0.contains("database writes failing (\(expectedState))") }
        #expect(errors.count == 1, "logged once per outage, not per attempt: \(fixture.log.all.suffix(5))")

        try fixture.pragma(undo)
        #expect(fixture.waitUntil { fixture.writer.health.state == "ok" }, "\(fixture.writer.health)")
        #expect(fixture.waitUntil { fixture.writer.statistics.bufferedDetections == 0 && fixture.writer.statistics.eventsWritten >= 1 })
        let after = fixture.writer.statistics
        #expect(after.detectionsWritten == 5 + sent - after.droppedDetections)
        #expect(fixture.log.all.contains { $0.contains("writing again") }, "\(fixture.log.all.suffix(5))")
        fixture.writer.flushAndStop()
        // What was kept is the newest: the last detection sent is in the database.
        let stored = try fixture.store.detections(limit: 1).items
        #expect(stored.first?.frameSequence == Int64(4 + sent))
        #expect(try fixture.store.stats().detections == after.detectionsWritten)
        let events = try fixture.store.events(limit: 10)
        #expect(events.contains { $0.kind == .error && $0.message.contains(expectedState) }, "\(events)")
        #expect(try fixture.store.integrityCheck().ok)
        try fixture.store.close()
    }

    @Test func fullDatabaseBuffersWithinBudgetDropsTheOldestAndResumes() throws {
        try refuseThenRecover(fail: "PRAGMA max_page_count = 1", undo: "PRAGMA max_page_count = 1000000", expectedState: "full")
    }

    @Test func readOnlyDatabaseBuffersWithinBudgetDropsTheOldestAndResumes() throws {
        try refuseThenRecover(fail: "PRAGMA query_only = ON", undo: "PRAGMA query_only = OFF", expectedState: "read_only")
    }

    @Test func bufferDropsOldestPastItsBudgetAndKeepsOrder() {
        var buffer = StoreWriteBuffer(budgetBytes: 10_000)
        for n in 0..<10 { buffer.append(.detection(Fixture.detection(n))) }
        // Each is 256 + 6 + 7 + 144 + 3000 = 3,413 bytes: two fit in 10,000 (three would be 10,239).
        #expect(buffer.count == 2 && buffer.droppedDetections == 8)
        #expect(buffer.bytes == 2 * 3413)
        // An item put back in front (an unwritten retry) is the oldest: 129 bytes, it fits.
        buffer.prepend([.event(NewEvent(time: 1, kind: .error, message: "x"), publishAs: "daemon")])
        #expect(buffer.count == 3 && buffer.droppedEvents == 0)
        // Over budget again: the event goes first, then detection 8.
        buffer.append(.detection(Fixture.detection(10)))
        let sequences = buffer.items.compactMap { item -> Int64? in
            if case .detection(let pending) = item { return pending.detection.frameSequence }
            return nil
        }
        #expect(sequences == [9, 10] && buffer.count == 2)
        #expect(buffer.droppedEvents == 1 && buffer.droppedDetections == 9)
    }
}
