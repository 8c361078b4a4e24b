import Control
import Dispatch
import Foundation
import Locking
import Logging
import Store

/// Writes detections and events to the store on its own thread, in short batched
/// transactions, then publishes them to subscribers — so a subscriber only ever hears of
/// rows that are committed, and the inference thread never waits for the disk.
///
/// When the database cannot take writes (disk full, file system read-only or failing, a lock
/// held too long) the items stay in memory, bounded by `bufferBudgetBytes` for the queue and as
/// much again for the retry buffer; beyond it the oldest are dropped and counted. Writing is
/// retried every `retryInterval` and resumes on its own once the database takes writes again.
/// The condition is in `health` (→ `status`), logged on every change and every minute while it
/// lasts, and recorded as an event once writes work again.
final class StoreWriter: Sendable {
    /// A detection waiting to be written, with the monotonic time its frame was dequeued.
    struct PendingDetection: Sendable {
        var detection: NewDetection
        var dequeuedNanoseconds: UInt64
    }

    enum Item: Sendable {
        case detection(PendingDetection)
        case event(NewEvent, publishAs: String)
    }

    private struct Queue {
        var buffer: StoreWriteBuffer
        var stopping = false
    }

    struct Statistics: Sendable, Equatable {
        var detectionsWritten = 0
        var eventsWritten = 0
        var batches = 0
        /// Write attempts that failed (each may have covered many items).
        var failures = 0
        var lastError: String?
        var lastPrune: PruneReport?
        /// Detections and events waiting in memory (queued plus awaiting a retry).
        var bufferedDetections = 0
        var bufferedEvents = 0
        var bufferedBytes = 0
        /// Detections and events lost because the database did not take them in time.
        var droppedDetections = 0
        var droppedEvents = 0
    }

    /// Whether the database takes writes.
    struct Health: Sendable, Equatable {
        /// `ok`, or the failing error's kind: `full`, `read_only`, `io_error`, `busy`, `error`.
        var state = "ok"
        /// The error of the last failed write while not ok.
        var error: String?
        /// Unix ms of the first failure of the current outage.
        var since: Int64?

        static func state(of error: StoreError) -> String {
            switch error {
            case .diskFull: "full"
            case .readOnly: "read_only"
            case .io: "io_error"
            case .busy: "busy"
            default: "error"
            }
        }
    }

    /// Default memory budget of the queue (the retry buffer has the same): about 1,000
    /// detections with a 7×7 grid and a 6 KB overlay each.
    static let defaultBufferBudgetBytes = 8 << 20

    private let store: DetectionStore
    private let events: EventBroadcaster
    private let settings: LiveSettings
    private let metrics: PipelineMetrics
    private let logger: Logger
    private let retryInterval: Double
    private let queue: PThreadMutex<Queue>
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let counters = PThreadMutex(Statistics())
    private let healthState = PThreadMutex(Health())

    init(store: DetectionStore, events: EventBroadcaster, settings: LiveSettings, metrics: PipelineMetrics, logger: Logger,
         bufferBudgetBytes: Int = StoreWriter.defaultBufferBudgetBytes, retryInterval: Double = 1) {
        self.store = store
        self.events = events
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        self.retryInterval = retryInterval
        self.queue = PThreadMutex(Queue(buffer: StoreWriteBuffer(budgetBytes: bufferBudgetBytes)))
    }

    var statistics: Statistics { counters.withLock { $0 } }

    var health: Health { healthState.withLock { $0 } }

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
            queue.buffer.append(item)
            return queue.buffer.count == 1
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
        // Items taken from the queue that the database refused; written first, oldest first.
        var retry = StoreWriteBuffer(budgetBytes: queue.withLock { $0.buffer.budgetBytes })
        var nextRetry = 0.0
        var nextReminder = 0.0
        while true {
            _ = wake.wait(timeout: .now() + .seconds(1))
            let batchDelay = settings.current.store.batchMilliseconds
            if batchDelay > 0, !queue.withLock({ $0.stopping }) {
                // Gather what arrives within the batch window into one transaction.
                Thread.sleep(forTimeInterval: Double(batchDelay) / 1000)
            }
            let (items, stopping) = queue.withLock { queue in (queue.buffer.takeAll(), queue.stopping) }
            for item in items { retry.append(item) }
            let now = MonotonicTime.seconds()
            if !retry.isEmpty, now >= nextRetry || stopping {
                switch write(&retry) {
                case .failed(let error):
                    failed(error)
                    nextRetry = now + retryInterval
                    if now >= nextReminder {
                        if nextReminder > 0 { remind(retry) }
                        nextReminder = now + 60
                    }
                case .written:
                    nextReminder = 0
                    publishCounts(retry)
                    succeeded()
                }
            }
            publishCounts(retry)
            if Date() >= nextPrune {
                prune()
                nextPrune = Date().addingTimeInterval(settings.current.store.pruneIntervalSeconds)
            }
            if stopping {
                let rest = queue.withLock { $0.buffer.takeAll() }
                for item in rest { retry.append(item) }
                if case .failed(let error) = write(&retry) {
                    logger.error("\(retry.detectionCount) detection(s) and \(retry.count - retry.detectionCount) event(s) were not written before exit: \(error)")
                    retry.countDropped(retry.takeAll())
                }
                publishCounts(retry)
                finished.signal()
                return
            }
        }
    }

    private enum WriteOutcome {
        case written
        case failed(StoreError)
    }

    /// Writes `buffer` oldest first: runs of detections as one transaction, events one by one.
    /// Stops at the first failure, leaving the unwritten items in `buffer`.
    private func write(_ buffer: inout StoreWriteBuffer) -> WriteOutcome {
        let items = buffer.takeAll()
        var index = 0
        while index < items.count {
            var failure: StoreError?
            switch items[index] {
            case .event(let event, let kind):
                failure = write(event, publishAs: kind)
                if failure == nil { index += 1 }
            case .detection:
                var detections: [PendingDetection] = []
                var end = index
                while end < items.count, case .detection(let pending) = items[end] {
                    detections.append(pending)
                    end += 1
                }
                failure = write(detections)
                if failure == nil { index = end }
            }
            if let failure {
                buffer.prepend(Array(items[index...]))
                return .failed(failure)
            }
        }
        return .written
    }

    private func write(_ detections: [PendingDetection]) -> StoreError? {
        let ids: [Int64]
        do {
            ids = try store.insert(detections.map(\.detection))
        } catch {
            if case .invalidArgument = error {
                // Never writable (the pipeline does not make such detections): drop the batch
                // rather than block everything behind it.
                logger.error("\(detections.count) detection(s) not logged: \(error)")
                return nil
            }
            return error
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
        return nil
    }

    private func write(_ event: NewEvent, publishAs kind: String) -> StoreError? {
        let id: Int64
        do {
            id = try store.insert(event: event)
        } catch {
            if case .invalidArgument = error {
                // Never writable: drop it rather than block everything behind it.
                logger.error("event '\(event.message)' not logged: \(error)")
                return nil
            }
            return error
        }
        counters.withLock { $0.eventsWritten += 1 }
        try? events.publish(kind: kind, encoding: Event(id: id, time: event.time, kind: event.kind, message: event.message,
                                                        details: event.details))
        return nil
    }

    /// Records a failed write; logs when the condition starts or changes kind.
    private func failed(_ error: StoreError) {
        counters.withLock {
            $0.failures += 1
            $0.lastError = error.description
        }
        let state = Health.state(of: error)
        let previous = healthState.withLock { health -> String in
            defer {
                health.state = state
                health.error = error.description
                if health.since == nil { health.since = DetectionStore.now() }
            }
            return health.state
        }
        guard previous != state else { return }
        let budget = queue.withLock { $0.buffer.budgetBytes }
        logger.error("database writes failing (\(state)): \(error); detections are kept in memory (up to \(budget >> 20) MiB) and written when the database takes writes again, the oldest dropped beyond that")
    }

    /// Ends an outage (call after `publishCounts`): logs it and records it in the database
    /// (written on the next turn).
    private func succeeded() {
        let outage = healthState.withLock { health -> Health? in
            guard health.state != "ok" else { return nil }
            defer { health = Health() }
            return health
        }
        guard let outage else { return }
        let seconds = outage.since.map { Double(DetectionStore.now() - $0) / 1000 } ?? 0
        let dropped = counters.withLock { $0.droppedDetections }
        let message = "database writes failed for \(String(format: "%.1f", seconds)) s (\(outage.state)); writing again"
        logger.notice("\(message); \(dropped) detection(s) dropped since start")
        append(.event(NewEvent(time: DetectionStore.now(), kind: .error, message: message,
                               details: ["state": outage.state, "error": outage.error ?? "", "dropped_detections": String(dropped)]),
                      publishAs: "daemon"))
    }

    private func remind(_ retry: StoreWriteBuffer) {
        let (state, error) = healthState.withLock { ($0.state, $0.error ?? "") }
        let dropped = counters.withLock { $0.droppedDetections }
        logger.warning("database still not taking writes (\(state)): \(retry.detectionCount) detection(s) waiting, \(dropped) dropped so far: \(error)")
    }

    /// Publishes buffer sizes and drop counts (queue + retry buffer) for `status`.
    private func publishCounts(_ retry: StoreWriteBuffer) {
        let (queuedDetections, queuedCount, queuedBytes, queueDropped, queueDroppedEvents) = queue.withLock {
            ($0.buffer.detectionCount, $0.buffer.count, $0.buffer.bytes, $0.buffer.droppedDetections, $0.buffer.droppedEvents)
        }
        let retryDetections = retry.detectionCount
        counters.withLock {
            $0.bufferedDetections = queuedDetections + retryDetections
            $0.bufferedEvents = queuedCount - queuedDetections + retry.count - retryDetections
            $0.bufferedBytes = queuedBytes + retry.bytes
            $0.droppedDetections = queueDropped + retry.droppedDetections
            $0.droppedEvents = queueDroppedEvents + retry.droppedEvents
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
            // While writes fail the outage is already being reported; a prune fails for the same reason.
            if health.state == "ok" { logger.error("pruning failed: \(error)") }
            return nil
        }
    }
}
