import Control
import Dispatch
import Foundation
import Logging
import Store
import Synchronization

/// Writes detections and events to the store on its own thread, in short batched
/// transactions, then publishes them to subscribers — so a subscriber only ever hears of
/// rows that are committed, and the inference thread never waits for the disk.
final class StoreWriter: Sendable {
    /// A detection waiting to be written, with the monotonic time its frame was dequeued.
    struct PendingDetection: Sendable {
        var detection: NewDetection
        var dequeuedNanoseconds: UInt64
    }

    private enum Item: Sendable {
        case detection(PendingDetection)
        case event(NewEvent, publishAs: String)
    }

    private struct Queue {
        var items: [Item] = []
        var stopping = false
    }

    struct Statistics: Sendable, Equatable {
        var detectionsWritten = 0
        var eventsWritten = 0
        var batches = 0
        var failures = 0
        var lastError: String?
        var lastPrune: PruneReport?
    }

    private let store: DetectionStore
    private let events: EventBroadcaster
    private let settings: LiveSettings
    private let metrics: PipelineMetrics
    private let logger: Logger
    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let counters = Mutex(Statistics())

    init(store: DetectionStore, events: EventBroadcaster, settings: LiveSettings, metrics: PipelineMetrics, logger: Logger) {
        self.store = store
        self.events = events
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
    }

    var statistics: Statistics { counters.withLock { $0 } }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "edgecamd-store"
        thread.start()
    }

    func enqueue(_ detection: PendingDetection) { append(.detection(detection)) }

    /// Logs an event and publishes it as `kind` (`camera` or `daemon`).
    func enqueue(event: NewEvent, publishAs kind: String) { append(.event(event, publishAs: kind)) }

    private func append(_ item: Item) {
        // Signal only on empty → non-empty: the writer takes the whole queue per wake-up.
        let wasEmpty = queue.withLock { queue -> Bool in
            guard !queue.stopping else { return false }
            queue.items.append(item)
            return queue.items.count == 1
        }
        if wasEmpty { wake.signal() }
    }

    /// Writes everything queued, then ends the thread. Blocks until done.
    func flushAndStop() {
        let first = queue.withLock { queue in
            defer { queue.stopping = true }
            return !queue.stopping
        }
        guard first else { return }
        wake.signal()
        finished.wait()
    }

    private func run() {
        var nextPrune = Date().addingTimeInterval(settings.current.store.pruneIntervalSeconds)
        while true {
            _ = wake.wait(timeout: .now() + .seconds(1))
            let batchDelay = settings.current.store.batchMilliseconds
            if batchDelay > 0, !queue.withLock({ $0.stopping }) {
                // Gather what arrives within the batch window into one transaction.
                Thread.sleep(forTimeInterval: Double(batchDelay) / 1000)
            }
            let (items, stopping) = queue.withLock { queue in
                defer { queue.items.removeAll() }
                return (queue.items, queue.stopping)
            }
            write(items)
            if Date() >= nextPrune {
                prune()
                nextPrune = Date().addingTimeInterval(settings.current.store.pruneIntervalSeconds)
            }
            if stopping {
                let rest = queue.withLock { queue in
                    defer { queue.items.removeAll() }
                    return queue.items
                }
                write(rest)
                finished.signal()
                return
            }
        }
    }

    private func write(_ items: [Item]) {
        var detections: [PendingDetection] = []
        for item in items {
            switch item {
            case .detection(let pending): detections.append(pending)
            case .event(let event, let kind): write(event, publishAs: kind)
            }
        }
        guard !detections.isEmpty else { return }
        let ids: [Int64]
        do {
            ids = try store.insert(detections.map(\.detection))
        } catch {
            counters.withLock {
                $0.failures += 1
                $0.lastError = error.description
            }
            logger.error("writing \(detections.count) detection(s) failed: \(error)")
            return
        }
        let committed = MonotonicTime.nanoseconds()
        counters.withLock {
            $0.detectionsWritten += ids.count
            $0.batches += 1
        }
        for (id, pending) in zip(ids, detections) {
            let d = pending.detection
            metrics.record(.committed, milliseconds: Double(committed &- pending.dequeuedNanoseconds) / 1e6)
            let record = Detection(
                id: id, time: d.time, frameSequence: d.frameSequence, modelID: d.modelID, classIndex: d.classIndex,
                label: d.label, score: d.score, box: d.box, peak: d.peak, latencies: d.latencies, method: d.method,
                layer: d.layer, hasHeatmap: d.heatmap != nil)
            do {
                try events.publish(kind: "detection", encoding: record)
            } catch {
                logger.warning("detection \(id) could not be published: \(error)")
            }
        }
    }

    private func write(_ event: NewEvent, publishAs kind: String) {
        do {
            let id = try store.insert(event: event)
            counters.withLock { $0.eventsWritten += 1 }
            try? events.publish(kind: kind, encoding: Event(id: id, time: event.time, kind: event.kind, message: event.message,
                                                            details: event.details))
        } catch {
            counters.withLock {
                $0.failures += 1
                $0.lastError = error.description
            }
            logger.error("logging event '\(event.message)' failed: \(error)")
        }
    }

    /// Applies the retention limits of the live settings.
    @discardableResult
    func prune() -> PruneReport? {
        let settings = settings.current.store
        let policy = RetentionPolicy(
            maxAge: settings.maxAgeDays > 0 ? .seconds(settings.maxAgeDays * 86400) : nil,
            maxDetections: settings.maxDetections > 0 ? settings.maxDetections : nil,
            maxDatabaseBytes: Int64(settings.maxMegabytes) << 20)
        do {
            let report = try store.prune(policy)
            counters.withLock { $0.lastPrune = report }
            if report.deletedDetections > 0 || report.deletedEvents > 0 {
                logger.info("pruned \(report.deletedDetections) detection(s), \(report.deletedEvents) event(s)")
            }
            return report
        } catch {
            logger.error("pruning failed: \(error)")
            return nil
        }
    }
}
