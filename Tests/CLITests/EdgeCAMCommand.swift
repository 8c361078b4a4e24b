import Foundation

/// Runs the `edgecam` executable built next to the test bundle, as a user would.
struct EdgeCAMCommand {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The build products directory: the test binary lives there beside `edgecam`.
    static let executable: URL = {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // The bundle may be a directory (`*.xctest/…`) on some platforms: walk up to the products directory.
        for _ in 0..<4 where !FileManager.default.fileExists(atPath: directory.appendingPathComponent("edgecam").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("edgecam")
    }()

    /// Runs `edgecam arguments…` in the project root and captures its output.
    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = projectRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a large output cannot fill the pipe and block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}
