import Foundation
import Glibc

/// Runs the built `edgecamd` and `edgecam` executables (they sit beside the test bundle, as in
/// the CLI tests) on temporary paths, as a user or systemd would.
final class DaemonProcess {
    static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let productsDirectory: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 where !FileManager.default.fileExists(atPath: directory.appendingPathComponent("edgecamd").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }()

    let directory: URL
    let socket: String
    let database: String
    let process = Process()
    private let errorPipe = Pipe()
    private let collected = LockedData()

    /// Starts edgecamd with `arguments` plus a temp socket and database (or `database`), and
    /// waits until the socket answers (or the process dies).
    init(arguments: [String], environment: [String: String] = [:], database: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgecamd-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socket = directory.appendingPathComponent("control.sock").path
        self.database = database ?? directory.appendingPathComponent("edgecam.db").path
        process.executableURL = Self.productsDirectory.appendingPathComponent("edgecamd")
        process.arguments = arguments + ["--socket", socket, "--db", self.database]
        process.currentDirectoryURL = Self.projectRoot
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "EDGECAM_SOCKET")
        env.merge(environment) { $1 }
        process.environment = env
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        let sink = collected
        errorPipe.fileHandleForReading.readabilityHandler = { handle in sink.append(handle.availableData) }
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socket) {
            guard process.isRunning, Date() < deadline else {
                throw DaemonTestError("edgecamd did not start: \(standardError)")
            }
            usleep(20_000)
        }
    }

    var standardError: String { collected.text }

    /// SIGTERM, then the exit status (or nil if it did not exit within `timeout` seconds).
    func terminate(timeout: Double = 20) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        errorPipe.fileHandleForReading.readabilityHandler = nil
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs `edgecam arguments… --socket SOCKET`.
    func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Self.cli(arguments + ["--socket", socket])
    }

    static func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("edgecam")
        process.arguments = arguments
        process.currentDirectoryURL = projectRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

struct DaemonTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Bytes appended from a pipe's handler thread.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
