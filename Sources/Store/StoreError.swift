import Foundation
import GRDB

/// Why a `DetectionStore` call failed, with a message a user can act on.
///
/// Cases that come from SQLite carry the extended SQLite result code (`sqliteCode`), so logs
/// keep the exact cause; `code` is a stable short name the control protocol can send.
public enum StoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The directory that should hold the database does not exist (it is never created).
    case directoryMissing(directory: String)
    /// The directory exists but this process cannot create files in it.
    case directoryNotWritable(directory: String, reason: String)
    /// SQLITE_FULL: the disk (or a `max_page_count` limit) is full.
    case diskFull(path: String, sqliteCode: Int32)
    /// SQLITE_READONLY / SQLITE_PERM: the file, its directory or the file system is read-only.
    case readOnly(path: String, sqliteCode: Int32, detail: String)
    /// SQLITE_CORRUPT / SQLITE_NOTADB, or a value in a column that our schema never writes.
    case corrupt(path: String, sqliteCode: Int32?, detail: String)
    /// SQLITE_BUSY / SQLITE_LOCKED after the busy timeout: another process holds the lock.
    case busy(path: String, sqliteCode: Int32)
    /// SQLITE_CANTOPEN: the file could not be opened or created.
    case cannotOpen(path: String, sqliteCode: Int32, detail: String)
    /// SQLITE_IOERR: the storage device failed a read or write.
    case io(path: String, sqliteCode: Int32?, detail: String)
    /// A caller passed a value the store refuses (bad limit, heatmap size mismatch, ...).
    case invalidArgument(String)
    /// A paging cursor that this store did not produce.
    case invalidCursor(String)
    /// Any other SQLite error.
    case sqlite(path: String, sqliteCode: Int32, detail: String)

    /// The extended SQLite result code, when the error came from SQLite.
    public var sqliteCode: Int32? {
        switch self {
        case .diskFull(_, let code), .busy(_, let code): code
        case .readOnly(_, let code, _), .cannotOpen(_, let code, _), .sqlite(_, let code, _): code
        case .corrupt(_, let code, _), .io(_, let code, _): code
        case .directoryMissing, .directoryNotWritable, .invalidArgument, .invalidCursor: nil
        }
    }

    /// A stable machine-readable name for the error kind (for the control protocol).
    public var code: String {
        switch self {
        case .directoryMissing: "db_directory_missing"
        case .directoryNotWritable: "db_directory_not_writable"
        case .diskFull: "db_disk_full"
        case .readOnly: "db_read_only"
        case .corrupt: "db_corrupt"
        case .busy: "db_busy"
        case .cannotOpen: "db_cannot_open"
        case .io: "db_io_error"
        case .invalidArgument: "bad_argument"
        case .invalidCursor: "bad_cursor"
        case .sqlite: "db_error"
        }
    }

    public var description: String {
        switch self {
        case .directoryMissing(let directory):
            "database directory does not exist: \(directory); create it (under systemd, "
                + "StateDirectory= does) or choose another database path"
        case .directoryNotWritable(let directory, let reason):
            "database directory is not writable: \(directory) (\(reason)); give the daemon's "
                + "user write access to it or choose another database path"
        case .diskFull(let path, let code):
            "database disk is full: \(path) (SQLite code \(code)); free space on the device or "
                + "lower the retention limits (maximum database bytes)"
        case .readOnly(let path, let code, let detail):
            "database is read-only: \(path) (SQLite code \(code): \(detail)); check that the file, "
                + "its -wal/-shm files and the directory are writable by the daemon's user and that "
                + "the file system is not mounted read-only"
        case .corrupt(let path, let code, let detail):
            "database is corrupt or not an EdgeCAM database: \(path) (\(Self.codeText(code))\(detail)); "
                + "stop the daemon, move the file and its -wal/-shm files aside (a new database is "
                + "created on start) and keep the old one for `sqlite3 FILE .recover`"
        case .busy(let path, let code):
            "database is locked: \(path) (SQLite code \(code)); another process holds it "
                + "(is a second edgecamd or a long sqlite3 session running?)"
        case .cannotOpen(let path, let code, let detail):
            "cannot open database: \(path) (SQLite code \(code): \(detail)); check that the path "
                + "names a file in an existing, writable directory"
        case .io(let path, let code, let detail):
            "I/O error on database: \(path) (\(Self.codeText(code))\(detail)); check the storage "
                + "device (SD cards wear out) and the kernel log"
        case .invalidArgument(let message):
            "invalid argument: \(message)"
        case .invalidCursor(let cursor):
            "invalid paging cursor \"\(cursor)\"; pass back the next_cursor of a previous page unchanged"
        case .sqlite(let path, let code, let detail):
            "database error on \(path) (SQLite code \(code)): \(detail)"
        }
    }

    private static func codeText(_ code: Int32?) -> String {
        code.map { "SQLite code \($0): " } ?? ""
    }

    /// Maps an error thrown by GRDB (or by the store itself) to a `StoreError`.
    static func wrap(_ error: any Error, path: String) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError else {
            // GRDB throws RowDecodingError when a column holds a value of the wrong type: the
            // schema's NOT NULL constraints and typed writes make that a sign of outside edits.
            return .corrupt(path: path, sqliteCode: nil, detail: String(describing: error))
        }
        let code = error.extendedResultCode.rawValue
        let detail = error.message ?? "no message"
        switch error.resultCode {
        case .SQLITE_FULL: return .diskFull(path: path, sqliteCode: code)
        case .SQLITE_READONLY, .SQLITE_PERM: return .readOnly(path: path, sqliteCode: code, detail: detail)
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: return .corrupt(path: path, sqliteCode: code, detail: detail)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .busy(path: path, sqliteCode: code)
        case .SQLITE_CANTOPEN: return .cannotOpen(path: path, sqliteCode: code, detail: detail)
        case .SQLITE_IOERR: return .io(path: path, sqliteCode: code, detail: detail)
        default: return .sqlite(path: path, sqliteCode: code, detail: detail)
        }
    }
}
