import GRDB

extension DetectionStore {
    /// Deletes the oldest detections (their heatmaps go with them) until every limit of
    /// `policy` holds; events older than `maxAge` are deleted too.
    ///
    /// Work is done in batches of `batchSize` rows, each its own short write transaction followed
    /// by `PRAGMA incremental_vacuum`, so inserts and queries interleave with a long prune
    /// instead of waiting for it. It ends with a TRUNCATE checkpoint, which is when the database
    /// file actually shrinks (in WAL mode the truncation reaches the file at checkpoint).
    /// The byte limit is checked before each batch, and a batch deletes only as many of the
    /// oldest detections as the excess needs at the average detection size (at most
    /// `batchSize`), so a prune keeps the database close under the limit, not far below it. Call it periodically (e.g. every minute) from the writer's side.
    /// - Parameter now: the time `maxAge` counts back from, Unix ms (tests pass a fixed one).
    public func prune(
        _ policy: RetentionPolicy, batchSize: Int = 500, now: Int64 = DetectionStore.now()
    ) throws(StoreError) -> PruneReport {
        try policy.validate()
        guard batchSize >= 1 else { throw .invalidArgument("prune batch size \(batchSize) must be at least 1") }
        let usedBefore = try perform { try pool.read(Self.usedBytes) }
        var deletedDetections = 0
        var deletedEvents = 0
        var batches = 0
        var limitsHold = true

        /// Runs one batch; returns the rows it deleted.
        func batch(_ delete: (Database) throws -> Int) throws(StoreError) -> Int {
            let deleted = try perform {
                try pool.write { db in
                    let deleted = try delete(db)
                    if deleted > 0 { try db.execute(sql: "PRAGMA incremental_vacuum") }
                    return deleted
                }
            }
            batches += 1
            boundWAL()
            return deleted
        }

        if let maxAge = policy.maxAge {
            let (cutoff, overflow) = now.subtractingReportingOverflow(maxAge.milliseconds)
            let before = overflow ? Int64.min : cutoff
            while true {
                let n = try batch { db in try Self.deleteOldestDetections(db, limit: batchSize, before: before) }
                deletedDetections += n
                if n < batchSize { break }
            }
            while true {
                let n = try batch { db in
                    try db.execute(
                        sql: """
                            DELETE FROM event WHERE id IN
                                (SELECT id FROM event WHERE time < ? ORDER BY time, id LIMIT ?)
                            """,
                        arguments: [before, batchSize])
                    return db.changesCount
                }
                deletedEvents += n
                if n < batchSize { break }
            }
        }

        if let maxDetections = policy.maxDetections {
            // Counted once: rows inserted while pruning are left to the next prune, so a prune
            // under a steady insert rate still ends.
            var excess = try perform {
                try pool.read { db in try Int.fetchOne(db, sql: "SELECT n FROM row_count WHERE name = 'detection'") ?? 0 }
            } - maxDetections
            while excess > 0 {
                let n = try batch { db in try Self.deleteOldestDetections(db, limit: min(excess, batchSize)) }
                if n == 0 { break }
                deletedDetections += n
                excess -= n
            }
        }

        if let maxBytes = policy.maxDatabaseBytes {
            while true {
                var overLimit = false
                let n = try batch { db in
                    let used = try Self.usedBytes(db)
                    guard used > maxBytes else { return 0 }
                    overLimit = true
                    // As many rows as the excess needs at the average row size (events and the
                    // schema count in the average, so it errs towards deleting too few; the loop
                    // then takes more), never a whole batch: with a small byte limit a batch of
                    // large rows can be most of the database.
                    let rows = try Int64.fetchOne(db, sql: "SELECT n FROM row_count WHERE name = 'detection'") ?? 0
                    let perRow = max(1, used / max(1, rows))
                    let needed = (used - maxBytes + perRow - 1) / perRow
                    return try Self.deleteOldestDetections(db, limit: Int(min(Int64(batchSize), max(1, needed))))
                }
                deletedDetections += n
                if !overLimit { break }
                if n == 0 {
                    // No detections left and still over: the schema and events need more.
                    limitsHold = false
                    break
                }
            }
        }

        _ = try? checkpoint(waitingAtMost: configuration.busyTimeout)
        let usedAfter = try perform { try pool.read(Self.usedBytes) }
        return PruneReport(
            deletedDetections: deletedDetections, deletedEvents: deletedEvents, batches: batches,
            usedBytesBefore: usedBefore, usedBytesAfter: usedAfter, fileBytesAfter: Self.fileSize(path),
            limitsHold: limitsHold)
    }

    /// Deletes up to `limit` of the oldest detections (older than `before`, if given).
    private static func deleteOldestDetections(_ db: Database, limit: Int, before: Int64? = nil) throws -> Int {
        // The subquery walks the time index from its old end; the heatmaps follow through
        // ON DELETE CASCADE (changesCount counts detections only).
        if let before {
            try db.execute(
                sql: """
                    DELETE FROM detection WHERE id IN
                        (SELECT id FROM detection WHERE time < ? ORDER BY time, id LIMIT ?)
                    """,
                arguments: [before, limit])
        } else {
            try db.execute(
                sql: "DELETE FROM detection WHERE id IN (SELECT id FROM detection ORDER BY time, id LIMIT ?)",
                arguments: [limit])
        }
        return db.changesCount
    }
}
