/// Sizes and counts of a store, for `status` and `db.stats`. JSON keys in snake_case.
public struct StoreStats: Sendable, Codable, Equatable {
    public var models: Int
    public var detections: Int
    public var heatmaps: Int
    public var events: Int
    public var pageSize: Int64
    public var pageCount: Int64
    public var freelistCount: Int64
    /// page_count × page_size: the size of the database once the WAL is checkpointed.
    public var databaseBytes: Int64
    /// (page_count − freelist_count) × page_size: what the byte retention limit measures.
    public var usedBytes: Int64
    /// Current size of the -wal file (0 when absent).
    public var walBytes: Int64
    /// Oldest and newest detection time, Unix ms; `nil` when there are none.
    public var oldestDetection: Int64?
    public var newestDetection: Int64?

    public init(
        models: Int, detections: Int, heatmaps: Int, events: Int, pageSize: Int64, pageCount: Int64,
        freelistCount: Int64, walBytes: Int64, oldestDetection: Int64?, newestDetection: Int64?
    ) {
        self.models = models
        self.detections = detections
        self.heatmaps = heatmaps
        self.events = events
        self.pageSize = pageSize
        self.pageCount = pageCount
        self.freelistCount = freelistCount
        self.databaseBytes = pageCount * pageSize
        self.usedBytes = (pageCount - freelistCount) * pageSize
        self.walBytes = walBytes
        self.oldestDetection = oldestDetection
        self.newestDetection = newestDetection
    }

    enum CodingKeys: String, CodingKey {
        case models, detections, heatmaps, events
        case pageSize = "page_size", pageCount = "page_count", freelistCount = "freelist_count"
        case databaseBytes = "database_bytes", usedBytes = "used_bytes", walBytes = "wal_bytes"
        case oldestDetection = "oldest_detection", newestDetection = "newest_detection"
    }
}

/// Result of `PRAGMA integrity_check` and `PRAGMA foreign_key_check`.
/// JSON: `ok`, `messages` (`["ok"]` when healthy).
public struct IntegrityReport: Sendable, Codable, Equatable {
    public var ok: Bool
    public var messages: [String]

    public init(ok: Bool, messages: [String]) {
        self.ok = ok
        self.messages = messages
    }
}
