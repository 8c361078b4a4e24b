import Foundation
import Glibc
import Testing

/// edgecamd under a stand-in for systemd: a datagram socket as $NOTIFY_SOCKET receives
/// READY=1, WATCHDOG=1 and STOPPING=1; SIGHUP reloads the configuration file.
@Suite("sd_notify and SIGHUP")
struct SystemdNotifyTests {
    /// A bound AF_UNIX datagram socket, like systemd's notification socket.
    final class NotifySocket {
        let path: String
        let fd: Int32

        init() throws {
            path = NSTemporaryDirectory() + "edgecamd-notify-\(UUID().uuidString.prefix(8)).sock"
            unlink(path)
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard fd >= 0, bound == 0 else { throw DaemonTestError("cannot bind \(path)") }
        }

        deinit {
            close(fd)
            unlink(path)
        }

        /// Messages until one contains `line` (as a whole line), or nil after `timeout` seconds.
        func wait(for line: String, timeout: Double) -> [String]? {
            var seen: [String] = []
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 100) > 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(fd, &buffer, buffer.count, 0)
                guard count > 0 else { continue }
                let message = String(decoding: buffer[0..<count], as: UTF8.self)
                seen.append(message)
                if message.split(separator: "\n").contains(Substring(line)) { return seen }
            }
            return nil
        }
    }

    @Test func notifiesReadyWatchdogStoppingAndReloadsOnSIGHUP() throws {
        let notify = try NotifySocket()
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("edgecamd-hup-\(UUID().uuidString.prefix(8)).toml")
        defer { try? FileManager.default.removeItem(at: config) }
        let base = """
            [model]
            path = "demo/efficientnet_lite0_int8.tflite"
            labels = "demo/imagenet_labels.txt"
            [source]
            uri = "mjpeg:demo/sample.mjpeg"
            fps = 10.0
            loop = true
            [detection]

            """
        try (base + "min_score = 0.9\n").write(to: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["--config", config.path],
                                       environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        let ready = notify.wait(for: "READY=1", timeout: 20)
        #expect(ready != nil, "\(daemon.standardError)")
        #expect(ready?.joined().contains("STATUS=") == true)
        #expect(notify.wait(for: "WATCHDOG=1", timeout: 5) != nil)

        try (base + "min_score = 0.25\n").write(to: config, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        #expect(notify.wait(for: "RELOADING=1", timeout: 5) != nil)
        // READY=1 again once the new configuration is applied.
        #expect(notify.wait(for: "READY=1", timeout: 10) != nil)
        let value = try daemon.cli(["config", "get", "detection.min_score"])
        #expect(value.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.25", "\(value.stderr)")

        kill(daemon.process.processIdentifier, SIGTERM)
        #expect(notify.wait(for: "STOPPING=1", timeout: 10) != nil)
        #expect(daemon.terminate() == 0)
    }

    @Test func watchdogMeantForAnotherProcessIsNotFed() throws {
        let notify = try NotifySocket()
        let daemon = try DaemonProcess(
            arguments: EndToEndTests.modelArguments + ["--source", "mjpeg:demo/sample.mjpeg", "--fps", "5"],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        #expect(notify.wait(for: "READY=1", timeout: 20) != nil, "\(daemon.standardError)")
        #expect(notify.wait(for: "WATCHDOG=1", timeout: 1) == nil)
        #expect(daemon.terminate() == 0)
    }
}
