/// Limits that `DetectionStore.prune` enforces; `nil` = no limit of that kind.
public struct RetentionPolicy: Sendable, Equatable {
    /// Detections and events older than this are deleted.
    public var maxAge: Duration?
    /// At most this many detections are kept (the newest).
    public var maxDetections: Int?
    /// Bytes the database may use: (page_count − freelist_count) × page_size. The -wal file is
    /// bounded separately (`StoreConfiguration.walCheckpointBytes`).
    public var maxDatabaseBytes: Int64?

    public init(maxAge: Duration? = nil, maxDetections: Int? = nil, maxDatabaseBytes: Int64? = nil) {
        self.maxAge = maxAge
        self.maxDetections = maxDetections
        self.maxDatabaseBytes = maxDatabaseBytes
    }

    func validate() throws(StoreError) {
        if let maxAge, maxAge < .zero { throw .invalidArgument("retention max age \(maxAge) is negative") }
        if let maxDetections, maxDetections < 0 {
            throw .invalidArgument("retention max detections \(maxDetections) is negative")
        }
        if let maxDatabaseBytes, maxDatabaseBytes < 0 {
            throw .invalidArgument("retention max database bytes \(maxDatabaseBytes) is negative")
        }
    }
}

/// What one `prune` did. JSON keys in snake_case.
public struct PruneReport: Sendable, Codable, Equatable {
    public var deletedDetections: Int
    public var deletedEvents: Int
    /// Write transactions used (each short: one batch).
    public var batches: Int
    /// (page_count − freelist_count) × page_size before and after.
    public var usedBytesBefore: Int64
    public var usedBytesAfter: Int64
    /// Size of the main database file after pruning and the closing checkpoint.
    public var fileBytesAfter: Int64
    /// False when a limit still does not hold, i.e. the byte limit is below what the schema and
    /// the remaining events need even with no detections left.
    public var limitsHold: Bool

    public init(
        deletedDetections: Int, deletedEvents: Int, batches: Int, usedBytesBefore: Int64,
        usedBytesAfter: Int64, fileBytesAfter: Int64, limitsHold: Bool
    ) {
        self.deletedDetections = deletedDetections
        self.deletedEvents = deletedEvents
        self.batches = batches
        self.usedBytesBefore = usedBytesBefore
        self.usedBytesAfter = usedBytesAfter
        self.fileBytesAfter = fileBytesAfter
        self.limitsHold = limitsHold
    }

    enum CodingKeys: String, CodingKey {
        case deletedDetections = "deleted_detections", deletedEvents = "deleted_events", batches
        case usedBytesBefore = "used_bytes_before", usedBytesAfter = "used_bytes_after"
        case fileBytesAfter = "file_bytes_after", limitsHold = "limits_hold"
    }
}
