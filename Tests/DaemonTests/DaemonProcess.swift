import Foundation
import SanitizerSupport
import Glibc

/// Runs the built `edgecamd` and `edgecam` executables (they sit beside the test bundle, as in
/// the CLI tests) on temporary paths, as a user or systemd would. Every test that needs a
/// running daemon starts it here (the kill -9 test, which must kill it before it answers,
/// launches its own).
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
    private let errors: StandardErrorCapture

    /// Starts edgecamd and waits until its control socket exists (or the process dies, or
    /// `startTimeout` seconds pass — scaled for sanitizer builds, see `SanitizerBuild`).
    ///
    /// - Parameters:
    ///   - arguments: edgecamd's arguments; `--socket` and `--db` (a temporary directory of its
    ///     own, or `database`) are appended.
    ///   - configuration: TOML text, written to the daemon's directory and passed as `--config`
    ///     before `arguments`.
    ///   - environment: added to (or replacing) this process's environment.
    ///   - launcher: a command that runs edgecamd in its own place (it must exec, so `pid` is
    ///     the daemon's), e.g. `["/usr/bin/prlimit", "--nofile=64:64"]`; edgecamd's path and
    ///     arguments follow it.
    init(arguments: [String] = [], configuration: String? = nil, environment: [String: String] = [:],
         database: String? = nil, launcher: [String] = [], startTimeout: Double = 30) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgecamd-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Whatever the umask: another user must reach the socket (the refused-uid test).
        chmod(directory.path, 0o755)
        socket = directory.appendingPathComponent("control.sock").path
        self.database = database ?? directory.appendingPathComponent("edgecam.db").path
        var daemonArguments = arguments + ["--socket", socket, "--db", self.database]
        if let configuration {
            let file = directory.appendingPathComponent("edgecamd.toml")
            try configuration.write(to: file, atomically: true, encoding: .utf8)
            daemonArguments = ["--config", file.path] + daemonArguments
        }
        // Made last before the launch: from here on its reader is always started, so its
        // descriptors are always closed.
        errors = try StandardErrorCapture()
        let edgecamd = Self.productsDirectory.appendingPathComponent("edgecamd")
        if let command = launcher.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = launcher.dropFirst() + [edgecamd.path] + daemonArguments
        } else {
            process.executableURL = edgecamd
            process.arguments = daemonArguments
        }
        process.currentDirectoryURL = Self.projectRoot
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "EDGECAM_SOCKET")
        env.merge(environment) { $1 }
        process.environment = env
        process.standardError = errors.writeEnd
        process.standardOutput = FileHandle.nullDevice
        let launched = Result { try process.run() }
        errors.closeWriteEnd()
        errors.start(name: "edgecamd stderr")
        try launched.get()

        // The socket file appears at bind(); clients are accepted only after listen().
        let deadline = Date().addingTimeInterval(SanitizerBuild.current.seconds(startTimeout))
        while !Self.isListening(socket) {
            guard process.isRunning, Date() < deadline else {
                throw DaemonTestError("edgecamd did not start: \(standardError)")
            }
            usleep(20_000)
        }
    }

    /// Whether a Unix socket bound to `path` is listening, from /proc/net/unix (connecting to
    /// find out would be a client the daemon counts).
    static func isListening(_ path: String) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8) else {
            return FileManager.default.fileExists(atPath: path)
        }
        // Columns: Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 is __SO_ACCEPTCON.
        return table.split(separator: "\n").contains { line in
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            return columns.count >= 8 && columns[7] == path && columns[3] == "00010000"
        }
    }

    /// What edgecamd wrote to standard error so far (all of it once `terminate` returned).
    var standardError: String { errors.text }

    var pid: Int32 { process.processIdentifier }

    /// VmRSS of the daemon in KiB, 0 when it cannot be read.
    var residentKiB: Int { (try? FaultTestSupport.resources(of: pid))?.rssKiB ?? 0 }

    /// Open descriptors of the daemon, -1 when they cannot be read.
    var openDescriptors: Int { Self.openDescriptors(of: pid) }

    static func openDescriptors(of pid: Int32) -> Int {
        (try? FaultTestSupport.resources(of: pid))?.fds ?? -1
    }

    /// SIGTERM, then the exit status, or nil if it did not exit within `timeout` seconds (scaled
    /// for sanitizer builds) and was killed. Safe to call again: returns the same status.
    func terminate(timeout: Double = 20) -> Int32? {
        var killed = false
        if process.isRunning {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(SanitizerBuild.current.seconds(timeout))
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(pid, SIGKILL)
                killed = true
            }
        }
        Self.release(process)
        // Its last lines (what it could not write, how it stopped) are read before returning.
        errors.waitForEnd(timeout: 10)
        return killed ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(pid, SIGKILL) }
        Self.release(process)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Waits for `process` to have exited (at once when it has, or was never started) — and
    /// lets Foundation free it: swift-corelibs-foundation's `Process` and the run-loop source
    /// `run()` makes for it keep each other alive until `waitUntilExit()` returns, so a
    /// `Process` only polled with `isRunning` is never freed (LeakSanitizer: one `Process`, with
    /// its arguments, environment and standard-error handle, per daemon; 13 in the DaemonTests).
    static func release(_ process: Process) {
        process.waitUntilExit()
    }

    /// Runs `edgecam arguments… --socket SOCKET`.
    func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Self.cli(arguments + ["--socket", socket])
    }

    static func cli(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(productsDirectory.appendingPathComponent("edgecam").path, arguments)
    }

    /// Runs a command to its end in `directory`; its exit status, standard output and error.
    static func run(_ executable: String, _ arguments: [String],
                    in directory: URL = projectRoot) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe()
        let errors = try StandardErrorCapture()
        process.standardOutput = out
        process.standardError = errors.writeEnd
        let launched = Result { try process.run() }
        errors.closeWriteEnd()
        errors.start(name: "\((executable as NSString).lastPathComponent) stderr")
        try launched.get()
        // Standard error is read on its own thread meanwhile, so a chatty child cannot block.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errors.waitForEnd(timeout: 10)
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), errors.text)
    }
}

struct DaemonTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
