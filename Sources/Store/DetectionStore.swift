import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon's log of models, detections, heatmaps and events: one SQLite file in WAL mode.
///
/// Concurrency: one writer connection and `maximumReaderCount` reader connections (GRDB's
/// `DatabasePool`). Writes are serialized and each is one short transaction; reads run on their
/// own snapshot and are never blocked by writes, so control-socket queries never stall the
/// pipeline's inserts and vice versa. Every method is synchronous and may block on I/O: call it
/// from a background task or thread, never from the inference thread.
///
/// Durability: WAL with `synchronous=NORMAL` means a commit is a write(2) of its pages to the
/// -wal file; the WAL is fsynced at checkpoints, not at every commit. A committed transaction
/// therefore survives the process being killed (SIGKILL, crash, OOM; CrashSafetyTests kills a
/// writer) because the OS still has the pages, but the last transactions before a power cut or
/// kernel panic may be lost. The database itself stays consistent in both cases, on storage
/// that honours fsync (cheap SD cards that acknowledge unwritten data can still corrupt it).
/// The trade is deliberate: an fsync per commit costs milliseconds on SD cards, and losing the
/// last second of detections on power loss is acceptable for a camera log.
public final class DetectionStore: Sendable {
    /// Path of the database file (the -wal and -shm files sit beside it).
    public let path: String
    public let configuration: StoreConfiguration
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    ///
    /// The directory must exist and be writable (WAL mode creates `path`-wal and `path`-shm
    /// beside the file); it is never created, so a typo in a path fails loudly.
    /// - Throws: `StoreError.directoryMissing`, `.directoryNotWritable`, `.corrupt` (not a
    ///   database), `.readOnly`, `.cannotOpen`, `.busy`, ...
    public init(path: String, configuration: StoreConfiguration = .init()) throws(StoreError) {
        try configuration.validate()
        try Self.checkDirectory(of: path)
        self.path = path
        self.configuration = configuration
        do {
            pool = try DatabasePool(path: path, configuration: Self.grdbConfiguration(configuration))
            try Schema.migrator.migrate(pool)
            try Self.ensureIncrementalAutoVacuum(pool)
        } catch {
            throw StoreError.wrap(error, path: path)
        }
    }

    /// Checkpoints the WAL into the database file and closes every connection. Later calls on
    /// this store throw. Call on shutdown; it is also done (without errors reported) on deinit.
    public func close() throws(StoreError) {
        try perform {
            _ = try? checkpoint(waitingAtMost: configuration.busyTimeout)
            try pool.close()
        }
    }

    /// The current time in Unix milliseconds (the unit of every `time` column).
    public static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }

    // MARK: Writing

    /// Registers a model, or updates the name and labels of the model with the same hash.
    /// - Returns: the model's id, stable across restarts.
    @discardableResult
    public func register(model: ModelInfo) throws(StoreError) -> Int64 {
        try model.validate()
        let labels = try Self.encodeJSON(model.labels)
        let created = Self.now()
        let id = try perform {
            try pool.write { db -> Int64? in
                try db.execute(
                    sql: """
                        INSERT INTO model (sha256, name, labels, created) VALUES (?, ?, ?, ?)
                        ON CONFLICT (sha256) DO UPDATE SET name = excluded.name, labels = excluded.labels
                        """,
                    arguments: [model.sha256, model.name, labels, created])
                return try Int64.fetchOne(db, sql: "SELECT id FROM model WHERE sha256 = ?", arguments: [model.sha256])
            }
        }
        guard let id else {
            throw .sqlite(path: path, sqliteCode: 0, detail: "model row missing right after its upsert")
        }
        return id
    }

    /// Inserts detections (and their heatmaps) in one short transaction.
    ///
    /// Either every detection of the batch is committed or none is. Afterwards, if the -wal
    /// file has grown past `walCheckpointBytes`, the WAL is checkpointed and truncated.
    /// - Returns: the new ids, in the order of `batch`.
    @discardableResult
    public func insert(_ batch: [NewDetection]) throws(StoreError) -> [Int64] {
        if batch.isEmpty { return [] }
        for detection in batch { try detection.validate() }
        let ids = try perform {
            try pool.writeWithoutTransaction { db in
                var ids: [Int64] = []
                ids.reserveCapacity(batch.count)
                // IMMEDIATE takes the write lock up front, so a transaction never fails half-way
                // upgrading a read lock when another process (a sqlite3 shell) holds the file.
                try db.inTransaction(.immediate) {
                    let insertDetection = try db.cachedStatement(sql: Schema.insertDetection)
                    let insertHeatmap = try db.cachedStatement(sql: Schema.insertHeatmap)
                    for detection in batch {
                        try insertDetection.execute(arguments: Self.arguments(detection))
                        let id = db.lastInsertedRowID
                        if let heatmap = detection.heatmap {
                            try insertHeatmap.execute(arguments: [
                                id, heatmap.width, heatmap.height, heatmap.grid, heatmap.overlayJPEG,
                            ])
                        }
                        ids.append(id)
                    }
                    return .commit
                }
                return ids
            }
        }
        boundWAL()
        return ids
    }

    /// Logs one camera or daemon event.
    /// - Returns: the event's id.
    @discardableResult
    public func insert(event: NewEvent) throws(StoreError) -> Int64 {
        guard event.time >= 0 else { throw .invalidArgument("event time \(event.time) is before 1970") }
        let details = try event.details.map { details throws(StoreError) in try Self.encodeJSON(details) }
        let id = try perform {
            try pool.write { db in
                try db.execute(
                    sql: "INSERT INTO event (time, kind, message, details) VALUES (?, ?, ?, ?)",
                    arguments: [event.time, event.kind.rawValue, event.message, details])
                return db.lastInsertedRowID
            }
        }
        boundWAL()
        return id
    }

    // MARK: Internals shared by the extensions

    /// Runs GRDB work, turning whatever it throws into a `StoreError`.
    func perform<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch {
            throw StoreError.wrap(error, path: path)
        }
    }

    var walPath: String { path + "-wal" }

    private static func arguments(_ d: NewDetection) -> StatementArguments {
        let l = d.latencies
        return [
            d.time, d.frameSequence, d.modelID, d.classIndex, d.label, d.score,
            d.box?.x0, d.box?.y0, d.box?.x1, d.box?.y1, d.peak?.x, d.peak?.y,
            l.capture, l.decode, l.infer, l.explain, l.total, d.method, d.layer,
        ]
    }

    static func encodeJSON(_ value: some Encodable) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw .invalidArgument("cannot encode \(type(of: value)) as JSON: \(error)")
        }
    }

    /// Size of a file in bytes, 0 when it does not exist.
    static func fileSize(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    // MARK: Opening

    private static func checkDirectory(of path: String) throws(StoreError) {
        guard !path.isEmpty, path != ":memory:" else {
            throw .invalidArgument("database path \"\(path)\" must name a file")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else { throw .directoryMissing(directory: directory) }
        // Write access to the directory, not only to the file: WAL mode creates -wal and -shm
        // files next to the database, and SQLite deletes them on the last close.
        if access(directory, W_OK | X_OK) != 0 {
            throw .directoryNotWritable(directory: directory, reason: String(cString: strerror(errno)))
        }
    }

    static func grdbConfiguration(_ configuration: StoreConfiguration) -> Configuration {
        var grdb = Configuration()
        grdb.label = "EdgeCAM.Store"
        grdb.foreignKeysEnabled = true
        grdb.busyMode = .timeout(Double(configuration.busyTimeout.milliseconds) / 1000)
        grdb.maximumReaderCount = configuration.maximumReaderCount
        // DatabasePool always uses WAL and sets synchronous=NORMAL on its writer.
        grdb.journalMode = .wal
        let walLimit = configuration.walCheckpointBytes
        grdb.prepareDatabase { db in
            guard !db.configuration.readonly else { return }
            // Runs before GRDB switches the file to WAL, i.e. before page 1 of a new file is
            // written: the only moment auto_vacuum can still be chosen without a VACUUM.
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            // After a checkpoint resets the WAL, SQLite truncates the file to this size instead of
            // keeping its high-water mark.
            try db.execute(sql: "PRAGMA journal_size_limit = \(walLimit)")
        }
        return grdb
    }

    /// Converts a database whose auto_vacuum is not INCREMENTAL (made by another tool, or before
    /// the pragma was set) with one VACUUM, so that pruning can shrink the file.
    private static func ensureIncrementalAutoVacuum(_ pool: DatabasePool) throws {
        try pool.writeWithoutTransaction { db in
            guard try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") != Schema.incrementalAutoVacuum else { return }
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            try db.execute(sql: "VACUUM")
        }
    }
}
