import Control
import Dispatch
import Foundation
import SanitizerSupport
import Glibc
import Store
import Testing

/// kill -9 at random moments (issue 6, item 3): edgecamd logs every frame of the replayed demo
/// clip as fast as it can while a `subscribe` client records every detection it is told about;
/// the daemon is SIGKILLed and restarted on the same database, 50 times. Afterwards the database
/// must pass `PRAGMA integrity_check` and hold every detection that was ever announced — the
/// daemon publishes a detection only after its transaction committed, so an announced row that
/// is missing after a crash would be a lost commit.
@Suite("edgecamd crash consistency", .serialized)
struct CrashConsistencyTests {
    static let cycles = 50
    /// Longest the daemon runs after it answers before it is killed; short, so 50 cycles fit
    /// in well under a minute, yet long enough for a few store batches per cycle. Scaled by a
    /// sanitizer build's time factor (`SanitizerBuild`), so that a cycle still covers about as
    /// much logging work (under TSan, 0.6 s gave 8 detections in 40 cycles, too few to mean much).
    static let maxRunAfterReady = SanitizerBuild.current.seconds(0.6)
    /// One cycle in this many is killed while starting (opening and recovering the database,
    /// loading the model) instead of while logging.
    static let startupKillEvery = 5

    /// Logs every frame (every score passes, `repeat_seconds` 0) with a Grad-CAM heatmap and
    /// overlay per detection, replaying the demo clip as fast as possible; default batching
    /// (`store.batch_ms` 100). The small shapes model (96×96, 5 classes) rather than the demo's
    /// EfficientNet: a debug-build edgecamd starts in a fraction of a second with it (hashing and
    /// preparing the 5 MB model takes seconds), so 50 restarts fit in the time budget, and it
    /// logs many detections per second. Without labels a detection's label is its class index.
    static func configuration() -> String {
        """
        [model]
        path = "Tests/Fixtures/refs/shapes/shapes-a_int8.tflite"
        labels = ""
        threads = 1

        [source]
        uri = "mjpeg:demo/sample.mjpeg"
        fps = 0.0
        loop = true

        [detection]
        min_score = -1000000.0
        top_k = 1
        repeat_seconds = 0.0

        [explain]
        method = "gradcam"
        mode = "all"
        """
    }

    /// What one cycle observed.
    struct Cycle {
        var acknowledged: [JSONValue] = []
        var killedDuringStartup = false
    }

    @Test func everyAcknowledgedDetectionSurvivesRepeatedSIGKILL() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgecamd-crash-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("crash.toml")
        try Self.configuration().write(to: config, atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("edgecam.db").path
        let socket = directory.appendingPathComponent("control.sock").path
        let log = directory.appendingPathComponent("edgecamd.log").path

        // Reproducible kill moments: EDGECAM_CRASH_SEED=N replays a run (the seed is printed).
        let seed = ProcessInfo.processInfo.environment["EDGECAM_CRASH_SEED"].flatMap(UInt64.init)
            ?? UInt64(Date().timeIntervalSince1970 * 1000)
        var random = SplitMix64(seed: seed)
        let started = Date()
        var cycles: [Cycle] = []
        var lastStartup = 0.5
        for index in 0..<Self.cycles {
            let duringStartup = index % Self.startupKillEvery == Self.startupKillEvery - 1
            let cycle = try Self.runCycle(
                config: config.path, database: database, socket: socket, log: log,
                killAfterStart: duringStartup ? random.uniform(0, lastStartup) : nil,
                killAfterReady: random.uniform(0, Self.maxRunAfterReady),
                startup: &lastStartup)
            cycles.append(cycle)
        }
        let wallTime = Date().timeIntervalSince(started)

        let acknowledged = cycles.flatMap(\.acknowledged)
        let ids = acknowledged.compactMap { $0["id"]?.intValue }
        #expect(ids.count == acknowledged.count, "a detection event without an id")
        // An id announced twice would mean a committed row was lost and its id handed out again.
        #expect(Set(ids).count == ids.count, "detection ids announced more than once")
        // Enough work happened for the test to mean something (not a timing assertion: a
        // handful of detections over 40 logging cycles even on a very loaded machine).
        #expect(ids.count >= 10, "only \(ids.count) detections acknowledged; daemon log:\n\(Self.tail(of: log))")

        let store = try DetectionStore(path: database)
        let integrity = try store.integrityCheck()
        #expect(integrity.ok, "integrity check: \(integrity.messages)")
        var missing: [Int] = []
        for detection in acknowledged {
            guard let id = detection["id"]?.intValue else { continue }
            guard let stored = try store.detection(id: Int64(id)) else {
                missing.append(id)
                continue
            }
            #expect(stored.label == detection["label"]?.stringValue && stored.classIndex == detection["class"]?.intValue
                    && Int(stored.frameSequence) == detection["frame"]?.intValue,
                    "detection \(id) differs from what was announced: \(detection.jsonText)")
        }
        #expect(missing.isEmpty, "acknowledged but not in the database: \(missing.prefix(20))")
        let rows = try store.stats().detections
        try store.close()

        let perCycle = cycles.map(\.acknowledged.count)
        print("""
            crash consistency: seed \(seed), \(cycles.count) SIGKILL cycles \
            (\(cycles.filter(\.killedDuringStartup).count) during startup) in \(String(format: "%.1f", wallTime)) s; \
            \(ids.count) detections acknowledged (max \(perCycle.max() ?? 0) per cycle), \
            \(missing.count) missing, \(rows) rows in the database; \
            integrity_check: \(integrity.messages.first ?? "?")
            """)
    }

    /// Starts edgecamd on `database`, subscribes, SIGKILLs it `killAfterReady` seconds after the
    /// subscription is acknowledged (or `killAfterStart` seconds after launch, before it may
    /// answer), and returns every detection the subscriber received. `startup` is updated with
    /// the time from launch to the acknowledged subscription.
    static func runCycle(config: String, database: String, socket: String, log: String,
                         killAfterStart: Double?, killAfterReady: Double, startup: inout Double) throws -> Cycle {
        // A killed daemon leaves its socket file behind; the next one would replace it, but the
        // file's presence is also how we see that the new one is listening.
        unlink(socket)
        let process = Process()
        process.executableURL = DaemonProcess.productsDirectory.appendingPathComponent("edgecamd")
        process.arguments = ["--config", config, "--db", database, "--socket", socket]
        process.currentDirectoryURL = DaemonProcess.projectRoot
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "EDGECAM_SOCKET")
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        // One log for all cycles, appended to, so a failure shows what the daemons said before.
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? logHandle.close() }
        try logHandle.seekToEnd()
        process.standardError = logHandle
        let launched = Date()
        try process.run()
        let pid = process.processIdentifier
        defer {
            // Whatever happened, leave no daemon behind.
            if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
        }

        var cycle = Cycle()
        if let killAfterStart {
            usleep(useconds_t(killAfterStart * 1e6))
            kill(pid, SIGKILL)
            process.waitUntilExit()
            cycle.killedDuringStartup = true
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL,
                    "edgecamd exited by itself while starting: \(tail(of: log))")
            return cycle
        }

        let client = try connect(socket: socket, process: process, log: log)
        let stream = try client.subscribe(kinds: ["detection"])
        startup = Date().timeIntervalSince(launched)
        // The kill comes from another thread at its own moment, unrelated to what the
        // subscriber is reading.
        DispatchQueue.global().asyncAfter(deadline: .now() + killAfterReady) { _ = kill(pid, SIGKILL) }
        // Everything the daemon wrote before it died is still read: those events were sent,
        // so their rows were committed. nil = the daemon's end of the socket closed.
        while true {
            let event: ControlEvent?
            do {
                event = try stream.next(timeout: .seconds(30))
            } catch {
                Issue.record("subscriber: \(error); daemon log:\n\(tail(of: log))")
                break
            }
            guard let event else { break }
            if event.kind == "detection" { cycle.acknowledged.append(event.data) }
        }
        client.close()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL,
                "edgecamd ended other than by SIGKILL (\(process.terminationStatus)): \(tail(of: log))")
        return cycle
    }

    /// Connects once the new daemon listens (its socket file appears just before `listen`).
    static func connect(socket: String, process: Process, log: String) throws -> ControlClient {
        let deadline = Date().addingTimeInterval(60)
        while true {
            if FileManager.default.fileExists(atPath: socket), let client = try? ControlClient(socketPath: socket, timeout: .seconds(30)) {
                return client
            }
            guard process.isRunning, Date() < deadline else {
                throw DaemonTestError("edgecamd did not start listening: \(tail(of: log))")
            }
            usleep(10_000)
        }
    }

    /// The end of the daemon's log, for failure messages.
    static func tail(of log: String) -> String {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return String(text.suffix(3000))
    }
}

/// A small seeded generator (SplitMix64), so a run's kill moments can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `low...high`.
    mutating func uniform(_ low: Double, _ high: Double) -> Double {
        Double.random(in: low...max(low, high), using: &self)
    }
}
