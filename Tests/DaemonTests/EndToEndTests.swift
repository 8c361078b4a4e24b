import Control
import Foundation
import SanitizerSupport
import Glibc
import Store
import Testing

/// edgecamd and edgecam as processes: replay the demo clip, query, follow, change settings,
/// stop; then a camera run under the fake V4L2 camera.
@Suite("edgecamd end to end", .serialized)
struct EndToEndTests {
    static let modelArguments = [
        "--model", "demo/efficientnet_lite0_int8.tflite", "--labels", "demo/imagenet_labels.txt", "--threads", "1",
    ]

    /// Reads events until `count` detections arrived or `timeout` passed.
    func detections(from stream: ControlEventStream, atLeast count: Int, timeout: Double) throws -> [JSONValue] {
        var found: [JSONValue] = []
        let deadline = Date().addingTimeInterval(timeout)
        while found.count < count, Date() < deadline {
            guard let event = try? stream.next(timeout: .milliseconds(500)) else { continue }
            if event.kind == "detection" { found.append(event.data) }
        }
        return found
    }

    @Test func replayIsLoggedQueriedFollowedAndStoppedCleanly() throws {
        let daemon = try DaemonProcess(arguments: Self.modelArguments + [
            "--source", "mjpeg:demo/sample.mjpeg", "--fps", "30", "--loop", "--min-score", "0.05",
        ])
        let subscriber = try ControlClient(socketPath: daemon.socket, timeout: .seconds(10))
        let stream = try subscriber.subscribe(kinds: ["detection"])
        var acknowledged = try detections(from: stream, atLeast: 2, timeout: 40)
        try #require(acknowledged.count >= 2, "no detections: \(daemon.standardError)")
        let first = acknowledged[0]
        for key in ["id", "time", "label", "class", "score", "box", "frame", "latency_ms", "method", "has_heatmap"] {
            #expect(first[key] != nil, "detection event lacks \(key): \(first.jsonText)")
        }
        #expect(first["method"]?.stringValue == "gradcam" && first["has_heatmap"]?.boolValue == true)

        // status --json
        let status = try daemon.cli(["status", "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let statusJSON = try JSONLineDecoding.decode(status.stdout)
        #expect(statusJSON["state"]?.stringValue == "running")
        #expect((statusJSON["frames"]?["processed"]?.intValue ?? 0) > 0)
        #expect(statusJSON["model"]?["name"]?.stringValue == "efficientnet_lite0_int8.tflite")
        // `sha256sum demo/efficientnet_lite0_int8.tflite` (coreutils)
        #expect(statusJSON["model"]?["sha256"]?.stringValue == "3befa823005a80d7b25e0833a9114e761c95124234c0d5489557add77d607c2a")
        #expect(statusJSON["latency_ms"]?["infer"]?["p50"]?.doubleValue != nil)

        // detections --json: stable fields; the table by default
        let listed = try daemon.cli(["detections", "--json", "--limit", "5"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let page = try JSONLineDecoding.decode(listed.stdout)
        let items = page["items"]?.arrayValue ?? []
        #expect(!items.isEmpty)
        let id = try #require(items.first?["id"]?.intValue)
        let table = try daemon.cli(["detections", "--label", first["label"]?.stringValue ?? ""])
        #expect(table.status == 0 && table.stdout.contains(first["label"]?.stringValue ?? "?"))
        let shown = try daemon.cli(["show", String(id)])
        #expect(shown.status == 0 && shown.stdout.contains("\"id\" : \(id)"), "\(shown.stdout)")

        // heatmap export: overlay JPEG and the raw grid as .npy
        let jpeg = daemon.directory.appendingPathComponent("overlay.jpg").path
        let npy = daemon.directory.appendingPathComponent("grid.npy").path
        let exported = try daemon.cli(["heatmap", String(id), "-o", jpeg, "--raw", npy])
        #expect(exported.status == 0, "\(exported.stderr)")
        let jpegBytes = [UInt8](FileManager.default.contents(atPath: jpeg) ?? Data())
        #expect(Array(jpegBytes.prefix(3)) == [0xFF, 0xD8, 0xFF])
        let npyBytes = [UInt8](FileManager.default.contents(atPath: npy) ?? Data())
        #expect(Array(npyBytes.prefix(6)) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59])  // "\x93NUMPY"
        #expect(String(decoding: npyBytes.prefix(128), as: UTF8.self).contains("'|u1'"))

        // a live setting and a restart-only one; unknown keys and bad values are refused
        let set = try daemon.cli(["config", "set", "detection.repeat_seconds", "0.5"])
        #expect(set.status == 0 && set.stdout.contains("applied"), "\(set.stdout)\(set.stderr)")
        let get = try daemon.cli(["config", "get", "detection.repeat_seconds"])
        #expect(get.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.5")
        // `tail` prints live events (repeat_seconds 0.5 keeps detections coming)
        let tail = try daemon.cli(["tail", "--kind", "detection", "--json", "--count", "2"])
        #expect(tail.status == 0, "\(tail.stderr)")
        let tailed = tail.stdout.split(separator: "\n").compactMap { try? JSONLineDecoding.decode(String($0)) }
        #expect(tailed.count == 2 && tailed.allSatisfy { $0["event"]?.stringValue == "detection" && $0["data"]?["id"] != nil })
        let restart = try daemon.cli(["config", "set", "source.fps", "5"])
        #expect(restart.status == 0 && restart.stdout.contains("restart"))
        let bad = try daemon.cli(["config", "set", "detection.min_score", "high"])
        #expect(bad.status == 64 && bad.stderr.contains("detection.min_score"))
        let unknown = try daemon.cli(["config", "get", "detection.nope"])
        #expect(unknown.status == 66)

        // db.stats and a prune within limits (deletes nothing)
        let admin = try ControlClient(socketPath: daemon.socket)
        let stats = try admin.call("db.stats")
        #expect((stats["detections"]?.intValue ?? 0) >= 1 && (stats["heatmaps"]?.intValue ?? 0) >= 1)
        let pruned = try admin.call("db.prune", arguments: ["max_age_days": 30])
        #expect(pruned["deleted_detections"]?.intValue == 0 && pruned["limits_hold"]?.boolValue == true)
        admin.close()

        // explain on the latest frame, without storing
        // An EfficientNet explanation beside the running pipeline; scaled under a sanitizer
        // (ASan on a loaded machine took more than 30 s).
        let explainer = try ControlClient(socketPath: daemon.socket, timeout: SanitizerBuild.current.duration(.seconds(30)))
        let explained = try explainer.call("explain", arguments: ["method": "cam", "target": .number(281)])
        #expect(explained["class"]?.intValue == 281 && explained["label"]?.stringValue == "tabby, tabby cat")
        #expect(explained["method"]?.stringValue == "cam" && explained["width"]?.intValue == 7)
        #expect(throws: ControlClientError.self) { try explainer.call("explain", arguments: ["method": "magic"]) }
        explainer.close()
        // the same through the CLI: `edgecam explain --live` writes the daemon's overlay
        let liveOverlay = daemon.directory.appendingPathComponent("live.jpg").path
        let live = try daemon.cli(["explain", "--live", "-m", "gradcam", "--target", "281", "-o", liveOverlay])
        #expect(live.status == 0 && live.stdout.contains("class 281 'tabby, tabby cat'"), "\(live.stdout)\(live.stderr)")
        #expect(Array([UInt8](FileManager.default.contents(atPath: liveOverlay) ?? Data()).prefix(2)) == [0xFF, 0xD8])

        // pause / resume / snapshot
        #expect(try daemon.cli(["pause"]).status == 0)
        let paused = try JSONLineDecoding.decode(try daemon.cli(["status", "--json"]).stdout)
        #expect(paused["state"]?.stringValue == "paused")
        #expect(try daemon.cli(["resume"]).status == 0)
        let snapshot = daemon.directory.appendingPathComponent("frame.jpg").path
        #expect(try daemon.cli(["snapshot", "-o", snapshot]).status == 0)
        #expect(Array([UInt8](FileManager.default.contents(atPath: snapshot) ?? Data()).prefix(2)) == [0xFF, 0xD8])

        // SIGTERM: exit 0, socket removed, every detection a subscriber heard of is in the DB
        acknowledged += try detections(from: stream, atLeast: 1, timeout: 10)
        let status0 = daemon.terminate()
        #expect(status0 == 0, "\(daemon.standardError)")
        while let event = try? stream.next(timeout: .seconds(2)) {
            if event.kind == "detection" { acknowledged.append(event.data) }
        }
        #expect(!FileManager.default.fileExists(atPath: daemon.socket))
        let store = try DetectionStore(path: daemon.database)
        for detection in acknowledged {
            let id = try #require(detection["id"]?.intValue)
            let stored = try store.detection(id: Int64(id))
            #expect(stored?.label == detection["label"]?.stringValue, "detection \(id) acknowledged but not stored")
        }
        let events = try store.events(limit: 100).map(\.kind)
        #expect(events.contains(.start) && events.contains(.stop) && events.contains(.pause) && events.contains(.config))
        try store.close()
    }

    @Test func unpacedReplayRunsEveryFrameWithoutDrops() throws {
        // --fps 0: the clip's 48 frames as fast as the model takes them. The capture thread asks
        // for a frame only once the inference thread took the last one, so none is dropped (and
        // capture does not spin through the clip ahead of the model).
        let daemon = try DaemonProcess(arguments: Self.modelArguments + ["--source", "mjpeg:demo/sample.mjpeg", "--fps", "0"])
        let deadline = Date().addingTimeInterval(SanitizerBuild.current.seconds(120))
        var frames: JSONValue?
        func count(_ key: String) -> Int { frames?[key]?.intValue ?? 0 }
        repeat {
            Thread.sleep(forTimeInterval: 0.2)
            let status = try daemon.cli(["status", "--json"])
            try #require(status.status == 0, "\(status.stderr)")
            frames = try JSONLineDecoding.decode(status.stdout)["frames"]
        } while count("processed") + count("errors") + count("dropped") + count("paused") < 48 && Date() < deadline
        #expect(count("in") == 48, "\(frames?.jsonText ?? "no status")")
        #expect(count("dropped") == 0, "\(frames?.jsonText ?? "no status")")
        #expect(count("processed") == 48, "\(frames?.jsonText ?? "no status")")
        #expect(daemon.terminate() == 0, "\(daemon.standardError)")
    }

    @Test func pausedUnpacedReplayReadsNothingAndResumesAtOnce() throws {
        let daemon = try DaemonProcess(arguments: Self.modelArguments + ["--source", "mjpeg:demo/sample.mjpeg", "--fps", "0", "--loop"])
        func framesIn() throws -> Int {
            let status = try daemon.cli(["status", "--json"])
            try #require(status.status == 0, "\(status.stderr)")
            return try JSONLineDecoding.decode(status.stdout)["frames"]?["in"]?.intValue ?? -1
        }
        let deadline = Date().addingTimeInterval(SanitizerBuild.current.seconds(60))
        while try framesIn() < 5, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(try daemon.cli(["pause"]).status == 0)
        // A frame asked for before the pause may still arrive; after that, none.
        Thread.sleep(forTimeInterval: 0.3)
        let pausedAt = try framesIn()
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try framesIn() == pausedAt)
        #expect(try daemon.cli(["resume"]).status == 0)
        while try framesIn() < pausedAt + 5, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try framesIn() >= pausedAt + 5, "no frames after resume")
        // Stopped while paused: the capture thread's wait ends with the stop.
        #expect(try daemon.cli(["pause"]).status == 0)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(daemon.terminate() == 0, "\(daemon.standardError)")
    }

    @Test func cliExplainsWhenTheDaemonIsNotRunning() throws {
        let result = try DaemonProcess.cli(["status", "--socket", "/tmp/edgecam-no-such-\(getpid()).sock"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("not running"))
    }

    @Test func badConfigurationIsRejectedWithLineAndKey() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("edgecamd-bad-\(UUID().uuidString.prefix(8)).toml")
        try "[model]\nthreads = 2\n\n[detection]\nmin_scor = 0.3\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = DaemonProcess.productsDirectory.appendingPathComponent("edgecamd")
        process.arguments = ["--config", file.path, "--check-config"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(text.contains(":5:") && text.contains("detection.min_scor") && text.contains("detection.min_score"), "\(text)")
    }

    @Test func demoConfigurationIsValid() throws {
        let process = Process()
        process.executableURL = DaemonProcess.productsDirectory.appendingPathComponent("edgecamd")
        process.arguments = ["--config", "config/demo.toml", "--check-config"]
        process.currentDirectoryURL = DaemonProcess.projectRoot
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let reference = Process()
        reference.executableURL = DaemonProcess.productsDirectory.appendingPathComponent("edgecamd")
        reference.arguments = ["--config", "config/edgecamd.toml", "--check-config"]
        reference.currentDirectoryURL = DaemonProcess.projectRoot
        reference.standardError = FileHandle.nullDevice
        reference.standardOutput = FileHandle.nullDevice
        try reference.run()
        reference.waitUntilExit()
        #expect(reference.terminationStatus == 0)
    }
}

/// Parses the CLI's JSON output.
enum JSONLineDecoding {
    static func decode(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}
