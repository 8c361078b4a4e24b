import Control
import Foundation
import Glibc

/// What the fault tests need around a running edgecamd: its open fds and resident memory from
/// /proc, `status` through one reused control connection, and mounting small file systems.
enum FaultTestSupport {
    /// edgecamd on the small shapes model (Tests/Fixtures/refs/shapes, labels in Tests/Fixtures/daemon), cheap enough in a debug build
    /// to log many detections per second.
    static let shapesModelArguments = [
        "--model", "Tests/Fixtures/refs/shapes/shapes-a_int8.tflite", "--labels", "Tests/Fixtures/daemon/shapes_labels.txt",
        "--threads", "1",
    ]

    /// Open file descriptors and VmRSS (KiB) of `pid`.
    static func resources(of pid: Int32) throws -> (fds: Int, rssKiB: Int) {
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        let rss = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (fds, rss)
    }

    /// Size of a file in bytes, 0 when it does not exist.
    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Writes a TOML configuration file.
    static func writeConfiguration(to path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Calls `status` until `condition` holds or `timeout` passes; returns the last status.
    @discardableResult
    static func waitForStatus(_ client: ControlClient, timeout: Double, interval: Double = 0.05,
                              _ condition: (JSONValue) -> Bool) -> (status: JSONValue?, met: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var last: JSONValue?
        repeat {
            if let status = try? client.call("status") {
                last = status
                if condition(status) { return (status, true) }
            }
            usleep(UInt32(interval * 1e6))
        } while Date() < deadline
        return (last, false)
    }

    /// Runs a command; returns its exit status and standard error.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Whether this process may mount file systems (root with CAP_SYS_ADMIN, as on the
    /// development and CI machines): tried once by mounting a tiny tmpfs.
    static let mountPermitted: Bool = {
        let directory = NSTemporaryDirectory() + "edgecamd-mount-probe-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", directory]).status == 0 else { return false }
        run("/usr/bin/umount", [directory])
        return true
    }()

    /// Appends a command line to the fake camera's control file.
    static func send(_ command: String, to controlFile: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: controlFile))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((command + "\n").utf8))
    }
}
