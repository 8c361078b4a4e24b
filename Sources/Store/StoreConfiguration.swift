/// Tuning of a `DetectionStore`; the defaults suit a camera board.
public struct StoreConfiguration: Sendable, Equatable {
    /// When the -wal file is larger than this after a write, the store runs
    /// `wal_checkpoint(TRUNCATE)`. Also used as `journal_size_limit`. Default 4 MiB.
    public var walCheckpointBytes: Int64
    /// How long a write waits for a lock held by another process before failing with `.busy`.
    public var busyTimeout: Duration
    /// How long a size-triggered checkpoint waits for readers before giving up until the next
    /// write (the write itself has committed already; it never fails because of this).
    public var checkpointBusyTimeout: Duration
    /// Concurrent read connections (control-socket queries run on these, never blocking writes).
    public var maximumReaderCount: Int

    public init(
        walCheckpointBytes: Int64 = 4 << 20,
        busyTimeout: Duration = .seconds(5),
        checkpointBusyTimeout: Duration = .milliseconds(200),
        maximumReaderCount: Int = 4
    ) {
        self.walCheckpointBytes = walCheckpointBytes
        self.busyTimeout = busyTimeout
        self.checkpointBusyTimeout = checkpointBusyTimeout
        self.maximumReaderCount = maximumReaderCount
    }

    func validate() throws(StoreError) {
        guard walCheckpointBytes >= 0 else {
            throw .invalidArgument("WAL checkpoint size \(walCheckpointBytes) is negative")
        }
        guard busyTimeout >= .zero, checkpointBusyTimeout >= .zero else {
            throw .invalidArgument("busy timeouts must not be negative")
        }
        guard maximumReaderCount >= 1 else {
            throw .invalidArgument("maximum reader count \(maximumReaderCount) must be at least 1")
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded toward zero, saturating at the Int64 range (a retention age
    /// of "forever" must not trap).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = ms.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        return overflow2 ? (ms < 0 ? .min : .max) : sum
    }
}
