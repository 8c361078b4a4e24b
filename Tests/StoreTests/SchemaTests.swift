import Foundation
import GRDB
import Testing
@testable import Store

@Suite struct SchemaTests {
    @Test func migrationsCreateTheDocumentedTablesColumnsAndIndexes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))

        try store.pool.read { db in
            func columns(_ table: String) throws -> [String] {
                try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))").map { try $0.decode(String.self, atIndex: 1) }
            }
            #expect(try columns("model") == ["id", "sha256", "name", "labels", "created"])
            #expect(try columns("detection") == [
                "id", "time", "frame_sequence", "model_id", "class_index", "label", "score",
                "box_x0", "box_y0", "box_x1", "box_y1", "peak_x", "peak_y",
                "capture_ms", "decode_ms", "infer_ms", "explain_ms", "total_ms", "method", "layer",
            ])
            #expect(try columns("heatmap") == ["detection_id", "width", "height", "grid", "overlay_jpeg"])
            #expect(try columns("event") == ["id", "time", "kind", "message", "details"])
            #expect(try columns("row_count") == ["name", "n"])
            #expect(try String.fetchAll(db, sql: "SELECT name FROM row_count ORDER BY name") == ["detection", "event", "heatmap", "model"])

            func indexColumns(_ index: String) throws -> [String] {
                try Row.fetchAll(db, sql: "PRAGMA index_info(\(index))").map { try $0.decode(String.self, atIndex: 2) }
            }
            #expect(try indexColumns("detection_time") == ["time"])
            #expect(try indexColumns("detection_label_time") == ["label", "time"])
            #expect(try indexColumns("event_time") == ["time"])

            let cascade = try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(heatmap)")
            #expect(cascade.count == 1)
            #expect(try cascade.first?.decode(String.self, atIndex: 2) == "detection")  // parent table
            #expect(try cascade.first?.decode(String.self, atIndex: 6) == "CASCADE")    // on_delete

            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 2)  // INCREMENTAL
            #expect(try Int.fetchOne(db, sql: "PRAGMA foreign_keys") == 1)
        }
        // synchronous is per connection: the writer's is the one that matters.
        let (synchronous, foreignKeys) = try store.pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(synchronous == 1)  // NORMAL
        #expect(foreignKeys == 1)
    }

    @Test func reopeningAnExistingDatabaseRunsNoMigrationTwiceAndKeepsRows() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("edgecam.sqlite")
        do {
            let store = try DetectionStore(path: path)
            try store.insert([Sample.detection(time: 1_000)])
            try store.close()
        }
        let store = try DetectionStore(path: path)
        let applied = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
        }
        #expect(applied == ["v1-initial"])
        #expect(try store.detections().items.map(\.time) == [1_000])
    }

    /// auto_vacuum only takes when chosen before page 1 is written; GRDB writes page 1 when it
    /// switches to WAL, before any migration. The store's connection setup must get there first.
    @Test func theWriterChoosesIncrementalAutoVacuumBeforeWALWritesTheFirstPage() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let configured = try DatabasePool(
            path: dir.path("configured.sqlite"), configuration: DetectionStore.grdbConfiguration(StoreConfiguration()))
        #expect(try configured.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") } == 2)
        // Control: a pool without that setup gets NONE, and a migration would be too late.
        let plain = try DatabasePool(path: dir.path("plain.sqlite"))
        #expect(try plain.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") } == 0)
    }

    @Test func aFileMadeWithoutAutoVacuumIsConvertedOnOpen() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("legacy.sqlite")
        // An empty SQLite database from elsewhere: auto_vacuum NONE, one unrelated table.
        do {
            let queue = try DatabaseQueue(path: path)
            try queue.write { db in try db.execute(sql: "CREATE TABLE other (x)") }
        }
        let store = try DetectionStore(path: path)
        #expect(try store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") } == 2)
    }

    @Test func integrityCheckOfAHealthyDatabaseIsOK() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        try store.insert((0..<50).map { Sample.detection(time: Int64($0), heatmap: Sample.heatmap()) })
        let report = try store.integrityCheck()
        #expect(report == IntegrityReport(ok: true, messages: ["ok"]))
    }

    /// An independent reader (Python's sqlite3 module, its own SQLite build) sees the values in
    /// the documented columns: a column swapped in both insert and decode would pass a Swift
    /// round trip but fails here.
    @Test func anotherSQLiteReaderSeesTheDocumentedColumns() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("edgecam.sqlite")
        let store = try DetectionStore(path: path)
        let modelID = try store.register(model: ModelInfo(sha256: String(repeating: "ab", count: 32), name: "m", labels: ["a", "b"]))
        var detection = Sample.detection(time: 1_700_000_000_123, label: "dog", classIndex: 5, score: 0.75, frame: 42)
        detection.modelID = modelID
        detection.box = Detection.Box(x0: 1.5, y0: 2.5, x1: 3.5, y1: 4.5)
        detection.peak = Detection.Point(x: 7, y: 8)
        detection.latencies = StageLatencies(capture: 0.5, decode: 1.5, infer: 2.5, explain: nil, total: 9.5)
        detection.heatmap = NewHeatmap(width: 2, height: 3, grid: Data([1, 2, 3, 4, 5, 6]))
        try store.insert([detection])
        try store.close()

        let script = """
            import sqlite3, sys, json
            c = sqlite3.connect(sys.argv[1])
            d = c.execute("SELECT time, frame_sequence, model_id, class_index, label, score, box_x0, box_y0, box_x1, box_y1, peak_x, peak_y, capture_ms, decode_ms, infer_ms, explain_ms, total_ms, method, layer FROM detection").fetchall()
            h = c.execute("SELECT width, height, hex(grid), overlay_jpeg FROM heatmap").fetchall()
            m = c.execute("SELECT sha256, name, labels FROM model").fetchall()
            print(json.dumps({"d": d, "h": h, "m": m, "ok": c.execute("PRAGMA integrity_check").fetchone()[0], "av": c.execute("PRAGMA auto_vacuum").fetchone()[0]}))
            """
        let output = try runPython(script, arguments: [path])
        let expected = #"{"d": [[1700000000123, 42, 1, 5, "dog", 0.75, 1.5, 2.5, 3.5, 4.5, 7.0, 8.0, 0.5, 1.5, 2.5, null, 9.5, "gradcam", "conv_pw_13"]], "h": [[2, 3, "010203040506", null]], "m": [["abababababababababababababababababababababababababababababababab", "m", "[\"a\",\"b\"]"]], "ok": "ok", "av": 2}"#
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
    }
}

/// Runs `python3 -c script arguments…` and returns its standard output.
func runPython(_ script: String, arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return String(decoding: data, as: UTF8.self)
}

@Suite struct IntegrityTests {
    @Test func integrityCheckReportsAKeptCountThatDisagreesWithTheTable() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        try store.insert([Sample.detection(time: 1), Sample.detection(time: 2)])
        try store.pool.write { db in try db.execute(sql: "UPDATE row_count SET n = 5 WHERE name = 'detection'") }
        let report = try store.integrityCheck()
        #expect(!report.ok)
        #expect(report.messages == ["ok", "row_count of detection is 5, table has 2 rows"])
    }
}
