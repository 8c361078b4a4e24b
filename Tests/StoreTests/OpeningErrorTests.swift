import Foundation
import GRDB
import Testing
@testable import Store

@Suite struct OpeningErrorTests {
    @Test func aMissingDirectoryIsNamedAndNotCreated() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let missing = dir.path("no-such-dir")
        #expect(throws: StoreError.directoryMissing(directory: missing)) {
            try DetectionStore(path: missing + "/edgecam.sqlite")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
        let message = String(describing: StoreError.directoryMissing(directory: missing))
        #expect(message.hasPrefix("database directory does not exist: \(missing);"))
    }

    @Test func aDirectoryThatCannotTakeFilesIsAClearError() throws {
        // /proc refuses new files even to root (a chmod 0555 directory would not stop root,
        // which the tests may run as).
        do {
            _ = try DetectionStore(path: "/proc/edgecam-store-test.sqlite")
            Issue.record("opening a database in /proc succeeded")
        } catch {
            switch error {
            case .directoryNotWritable(let directory, _): #expect(directory == "/proc")
            case .cannotOpen(let path, _, _), .readOnly(let path, _, _): #expect(path == "/proc/edgecam-store-test.sqlite")
            default: Issue.record("unexpected error \(error)")
            }
            #expect(error.description.contains("/proc"))
        }
    }

    @Test func aFileThatIsNotADatabaseIsReportedCorrupt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("edgecam.sqlite")
        try Data(repeating: 0x41, count: 8_192).write(to: URL(fileURLWithPath: path))
        do {
            _ = try DetectionStore(path: path)
            Issue.record("opening a text file as a database succeeded")
        } catch {
            guard case .corrupt(let errorPath, let code, _) = error else {
                Issue.record("expected .corrupt, got \(error)")
                return
            }
            #expect(errorPath == path)
            #expect(code == 26)  // SQLITE_NOTADB
            #expect(error.code == "db_corrupt")
            #expect(error.description.hasPrefix("database is corrupt or not an EdgeCAM database: \(path)"))
        }
    }

    @Test func aFullDiskIsReportedAsDiskFull() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        // max_page_count makes SQLite report SQLITE_FULL exactly as a full device would.
        try store.pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages + 5)")
        }
        do {
            try store.insert((0..<20).map { Sample.detection(time: Int64($0), heatmap: Sample.heatmap(overlayBytes: 4_000)) })
            Issue.record("insert past max_page_count succeeded")
        } catch {
            #expect(error == .diskFull(path: dir.path("edgecam.sqlite"), sqliteCode: 13))
            #expect(error.description.hasPrefix("database disk is full: \(dir.path("edgecam.sqlite"))"))
        }
        #expect(try store.stats().detections == 0)  // the failed batch left nothing behind
    }

    @Test func writesToAReadOnlyConnectionAreReportedReadOnly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        try store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = ON") }
        #expect(throws: StoreError.readOnly(
            path: dir.path("edgecam.sqlite"), sqliteCode: 8, detail: "attempt to write a readonly database")
        ) {
            try store.insert([Sample.detection(time: 1)])
        }
    }
}
