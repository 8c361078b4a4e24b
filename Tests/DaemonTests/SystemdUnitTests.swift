import Foundation
import Testing

/// `systemd/edgecamd.service` passes `systemd-analyze verify` without a word, and its
/// `systemd-analyze security` report is printed for the record.
@Suite("systemd unit")
struct SystemdUnitTests {
    static let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The unit with ExecStart pointing at the built edgecamd (verify checks the binary exists),
    /// in a directory of its own: the suite's tests run in parallel and each removes its copy.
    func unitCopy() throws -> URL {
        let text = try String(contentsOf: DaemonProcess.projectRoot.appendingPathComponent("systemd/edgecamd.service"), encoding: .utf8)
        let built = DaemonProcess.productsDirectory.appendingPathComponent("edgecamd").path
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgecamd-unit-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let unit = directory.appendingPathComponent("edgecamd.service")
        try text.replacingOccurrences(of: "/usr/local/bin/edgecamd", with: built).write(to: unit, atomically: true, encoding: .utf8)
        return unit
    }

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.analyze, "systemd-analyze is missing: run scripts/install-deps"))
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func unitVerifiesWithoutOutput() throws {
        let unit = try unitCopy()
        defer { try? FileManager.default.removeItem(at: unit.deletingLastPathComponent()) }
        let result = try run(["verify", unit.path])
        #expect(result.status == 0)
        #expect(result.output.isEmpty, "\(result.output)")
    }

    @Test func unitKeepsTheCameraReachableAndIsHardened() throws {
        let text = try String(contentsOf: DaemonProcess.projectRoot.appendingPathComponent("systemd/edgecamd.service"), encoding: .utf8)
        for line in ["Type=notify", "WatchdogSec=", "Restart=on-failure", "SupplementaryGroups=video", "DeviceAllow=char-video4linux rw",
                     "StateDirectory=edgecam", "RuntimeDirectory=edgecam", "ConfigurationDirectory=edgecam", "ProtectSystem=strict"] {
            #expect(text.contains(line), "missing \(line)")
        }
        #expect(!text.contains("PrivateDevices=yes"), "PrivateDevices hides /dev/video*")
        let unit = try unitCopy()
        defer { try? FileManager.default.removeItem(at: unit.deletingLastPathComponent()) }
        let report = try run(["security", "--offline=yes", unit.path])
        print(report.output)
        #expect(report.output.contains("Overall exposure level"))
    }
}
