import GRDB

// Keeping the WAL bounded.
//
// In WAL mode every commit appends pages to the -wal file; a checkpoint copies them back into
// the database. SQLite's automatic checkpoint is PASSIVE: it never waits for readers and never
// shrinks the file, it only lets later commits reuse it from the start once every reader has
// moved past it. A process that always has some reader or writer busy (a camera log queried
// while it writes) can therefore starve the checkpoint, and the WAL only grows: Frigate's
// database reached a 14 GB frigate.db-wal beside a 1 GB database
// (blakeblackshear/frigate#10862), fixed by periodic `wal_checkpoint(TRUNCATE)`. Reads also
// slow down as they scan a longer WAL index. So after each write the store checks the -wal
// size (one stat call) and, past `walCheckpointBytes`, runs a TRUNCATE checkpoint that waits at
// most `checkpointBusyTimeout` for readers; `journal_size_limit` caps what a reset WAL keeps.
extension DetectionStore {
    /// Copies the WAL into the database and truncates the -wal file to zero bytes.
    ///
    /// Waits up to `busyTimeout` for readers to finish. Call on shutdown or from maintenance.
    /// - Returns: `false` when readers kept part of the WAL in use: it was checkpointed as far
    ///   as possible but not truncated (try again later).
    @discardableResult
    public func checkpoint() throws(StoreError) -> Bool {
        try perform { try checkpoint(waitingAtMost: configuration.busyTimeout) }
    }

    /// Current size of the -wal file in bytes (0 when absent).
    public func walBytes() -> Int64 {
        Self.fileSize(walPath)
    }

    /// Runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check`, and compares the kept row
    /// counts with real ones, on a read connection. Reads the whole file: seconds per GB.
    public func integrityCheck() throws(StoreError) -> IntegrityReport {
        try perform {
            try pool.read { db in
                let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
                var messages = integrity
                for row in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check") {
                    let table: String = try row.decode(atIndex: 0)
                    let rowid: Int64? = try row.decode(atIndex: 1)
                    let parent: String = try row.decode(atIndex: 2)
                    messages.append("foreign key violation: \(table) row \(rowid.map(String.init) ?? "?") → \(parent)")
                }
                for table in Schema.countedTables {
                    let kept = try Int.fetchOne(db, sql: "SELECT n FROM row_count WHERE name = ?", arguments: [table])
                    let actual = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)")
                    if kept != actual {
                        messages.append("row_count of \(table) is \(kept.map(String.init) ?? "missing"), table has \(actual ?? 0) rows")
                    }
                }
                return IntegrityReport(ok: integrity == ["ok"] && messages.count == 1, messages: messages)
            }
        }
    }

    /// Row counts and sizes; cheap (counts are kept by triggers, not counted).
    public func stats() throws(StoreError) -> StoreStats {
        let walBytes = walBytes()
        return try perform {
            try pool.read { db in
                func count(_ table: String) throws -> Int {
                    try Int.fetchOne(db, sql: "SELECT n FROM row_count WHERE name = ?", arguments: [table]) ?? 0
                }
                // Two statements: SQLite answers a lone min() or max() from the index end, but
                // scans the whole table for both in one SELECT.
                let oldest = try Int64.fetchOne(db, sql: "SELECT min(time) FROM detection")
                let newest = try Int64.fetchOne(db, sql: "SELECT max(time) FROM detection")
                return StoreStats(
                    models: try count("model"),
                    detections: try count("detection"),
                    heatmaps: try count("heatmap"),
                    events: try count("event"),
                    pageSize: try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0,
                    pageCount: try Int64.fetchOne(db, sql: "PRAGMA page_count") ?? 0,
                    freelistCount: try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0,
                    walBytes: walBytes,
                    oldestDetection: oldest,
                    newestDetection: newest)
            }
        }
    }

    /// Checkpoints when the -wal file has outgrown its limit. Never throws: the write that
    /// triggered it has committed, and a checkpoint that readers blocked is retried after the
    /// next write.
    func boundWAL() {
        guard walBytes() > configuration.walCheckpointBytes else { return }
        _ = try? checkpoint(waitingAtMost: configuration.checkpointBusyTimeout)
    }

    /// A TRUNCATE checkpoint that waits at most `wait` for readers (via a temporary busy
    /// timeout on the writer connection).
    func checkpoint(waitingAtMost wait: Duration) throws -> Bool {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA busy_timeout = \(wait.milliseconds)")
            defer { try? db.execute(sql: "PRAGMA busy_timeout = \(configuration.busyTimeout.milliseconds)") }
            do {
                try db.checkpoint(.truncate)
                return true
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                return false
            }
        }
    }

    /// (page_count − freelist_count) × page_size: bytes that rows and indexes occupy.
    static func usedBytes(_ db: Database) throws -> Int64 {
        let row = try Row.fetchOne(
            db, sql: "SELECT page_count, freelist_count, page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size")
        guard let row else { return 0 }
        let pages: Int64 = try row.decode(atIndex: 0)
        let free: Int64 = try row.decode(atIndex: 1)
        let size: Int64 = try row.decode(atIndex: 2)
        return (pages - free) * size
    }
}
