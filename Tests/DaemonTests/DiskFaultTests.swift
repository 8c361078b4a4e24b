import Control
import Foundation
import SanitizerSupport
import Glibc
import Store
import Testing

/// edgecamd's database on a disk that fills up or turns read-only, and retention under a small
/// byte limit (issue 6, item 5), with real file systems: a size-limited tmpfs, an ext4 image on
/// a loop device. Mounting needs root (the development and CI machines run the tests as root);
/// where it is not permitted these tests are reported as skipped with the reason, and
/// StoreWriterFaultTests covers the writer's behaviour with SQLite's own limits instead.
@Suite("edgecamd disk faults", .serialized)
struct DiskFaultTests {
    static let mountSkipReason: Comment =
        "mount(8) is not permitted here: real-file-system disk tests skipped (StoreWriterFaultTests covers the writer with PRAGMA max_page_count / query_only)"

    /// Arguments with which every frame of the demo clip, as fast as it can be processed, logs
    /// one detection; the configuration file is written to `configuration`.
    static func loggingEveryFrame(configuration: String, extra: String = "") throws -> [String] {
        try FaultTestSupport.writeConfiguration(to: configuration, """
            [detection]
            min_score = 0.0
            repeat_seconds = 0.0
            change_seconds = 0.0
            [store]
            batch_ms = 50
            \(extra)
            """)
        return FaultTestSupport.shapesModelArguments + [
            "--config", configuration, "--source", "mjpeg:demo/sample.mjpeg", "--fps", "0", "--loop",
        ]
    }

    /// A fresh empty directory for a mount point.
    static func makeMountPoint(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "edgecamd-\(name)-\(getpid())-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func db(_ status: JSONValue, _ key: String) -> JSONValue? { status["db"]?[key] }

    @Test(.enabled(if: FaultTestSupport.mountPermitted, mountSkipReason))
    func fullFileSystemIsReportedBoundedAndLoggingResumesWhenSpaceReturns() throws {
        let mountPoint = try Self.makeMountPoint("tmpfs-full")
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        let mounted = FaultTestSupport.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=768k", "tmpfs", mountPoint])
        try #require(mounted.status == 0, "\(mounted.output)")
        defer { FaultTestSupport.run("/usr/bin/umount", ["-l", mountPoint]) }

        let configuration = mountPoint + ".toml"
        defer { try? FileManager.default.removeItem(atPath: configuration) }
        let daemon = try DaemonProcess(arguments: try Self.loggingEveryFrame(configuration: configuration), database: mountPoint + "/edgecam.db")
        let client = try ControlClient(socketPath: daemon.socket, timeout: .seconds(20))
        let full = FaultTestSupport.waitForStatus(client, timeout: 50, interval: 0.2) { Self.db($0, "state")?.stringValue == "full" }
        try #require(full.met, "the database never reported full: \(full.status?.jsonText ?? "no status")\n\(daemon.standardError.suffix(2000))")
        let pid = daemon.process.processIdentifier
        let atFull = try FaultTestSupport.resources(of: pid)

        // The pipeline keeps running while the disk is full; status keeps telling.
        let first = try #require(full.status)
        usleep(3_000_000)
        let later = try client.call("status")
        let processed = { (s: JSONValue) in s["frames"]?["processed"]?.intValue ?? 0 }
        #expect(processed(later) > processed(first), "the pipeline stopped while the disk was full")
        #expect(Self.db(later, "state")?.stringValue == "full")
        #expect(Self.db(later, "error")?.stringValue?.contains("disk is full") == true, "\(later.jsonText)")
        #expect(Self.db(later, "failing_since")?.intValue != nil)
        let buffered = Self.db(later, "buffered_bytes")?.intValue ?? -1
        #expect(buffered >= 0 && buffered <= 2 * (8 << 20), "buffer over its budget: \(buffered)")
        let waiting = (Self.db(later, "buffered")?.intValue ?? 0) + (Self.db(later, "dropped")?.intValue ?? 0)
        #expect(waiting > 0, "detections made while full must be buffered or counted as dropped: \(later.jsonText)")
        #expect(daemon.standardError.contains("database writes failing (full)"), "\(daemon.standardError.suffix(2000))")
        let whileFull = try FaultTestSupport.resources(of: pid)
        print("[relB] tmpfs 768 KiB full: written \(Self.db(later, "written")?.intValue ?? 0), buffered \(Self.db(later, "buffered")?.intValue ?? 0) (\(buffered) bytes), dropped \(Self.db(later, "dropped")?.intValue ?? 0), VmRSS \(atFull.rssKiB) → \(whileFull.rssKiB) KiB over 3 s, fds \(atFull.fds) → \(whileFull.fds)")

        // Space returns: the buffered detections are written and logging goes on.
        let grown = FaultTestSupport.run("/usr/bin/mount", ["-o", "remount,size=64m", mountPoint])
        try #require(grown.status == 0, "\(grown.output)")
        let written = Self.db(later, "written")?.intValue ?? 0
        let resumed = FaultTestSupport.waitForStatus(client, timeout: 20, interval: 0.2) {
            Self.db($0, "state")?.stringValue == "ok" && (Self.db($0, "written")?.intValue ?? 0) > written + 10
        }
        #expect(resumed.met, "logging did not resume: \(resumed.status?.jsonText ?? "none")\n\(daemon.standardError.suffix(2000))")
        #expect(daemon.standardError.contains("writing again"))
        #expect(daemon.terminate() == 0, "\(daemon.standardError.suffix(2000))")

        let store = try DetectionStore(path: daemon.database)
        defer { try? store.close() }
        #expect(try store.integrityCheck().ok)
        let events = try store.events(limit: 1000)
        #expect(events.contains { $0.kind == .error && $0.message.contains("database writes failed") && $0.message.contains("full") },
                "\(events.map(\.message))")
    }

    /// The failure a board really sees: ext4 with `errors=remount-ro` (the Raspberry Pi OS default)
    /// hits an error and the kernel turns the file system read-only under the running daemon.
    /// The kernel (6.x: "emergency_ro") offers no way back without unmounting, so this test checks
    /// that the daemon survives and reports; recovery is covered by the tmpfs test above and by
    /// StoreWriterFaultTests (SQLITE_READONLY, then writable again).
    @Test(.enabled(if: FaultTestSupport.mountPermitted && FileManager.default.fileExists(atPath: "/usr/sbin/mkfs.ext4"), mountSkipReason))
    func fileSystemTurnedReadOnlyByTheKernelIsReportedAndTheDaemonKeepsRunning() throws {
        let mountPoint = try Self.makeMountPoint("ext4-ro")
        let image = mountPoint + ".img"
        defer {
            try? FileManager.default.removeItem(atPath: mountPoint)
            try? FileManager.default.removeItem(atPath: image)
        }
        try #require(FaultTestSupport.run("/usr/bin/truncate", ["-s", "16M", image]).status == 0)
        let made = FaultTestSupport.run("/usr/sbin/mkfs.ext4", ["-q", "-F", image])
        try #require(made.status == 0, "\(made.output)")
        let mounted = FaultTestSupport.run("/usr/bin/mount", ["-o", "loop,errors=remount-ro", image, mountPoint])
        try #require(mounted.status == 0, "loop mount not permitted: \(mounted.output)")
        defer { FaultTestSupport.run("/usr/bin/umount", ["-l", mountPoint]) }
        let source = FaultTestSupport.run("/usr/bin/findmnt", ["-n", "-o", "SOURCE", mountPoint]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let trigger = "/sys/fs/ext4/\((source as NSString).lastPathComponent)/trigger_fs_error"
        try #require(FileManager.default.fileExists(atPath: trigger), "no \(trigger)")

        let configuration = mountPoint + ".toml"
        defer { try? FileManager.default.removeItem(atPath: configuration) }
        let daemon = try DaemonProcess(arguments: try Self.loggingEveryFrame(configuration: configuration), database: mountPoint + "/edgecam.db")
        let client = try ControlClient(socketPath: daemon.socket, timeout: .seconds(20))
        let writing = FaultTestSupport.waitForStatus(client, timeout: 40, interval: 0.2) { (Self.db($0, "written")?.intValue ?? 0) >= 10 }
        try #require(writing.met, "nothing written: \(daemon.standardError.suffix(2000))")

        try "edgecamd read-only test\n".write(toFile: trigger, atomically: false, encoding: .utf8)
        let options = FaultTestSupport.run("/usr/bin/findmnt", ["-n", "-o", "OPTIONS", mountPoint]).output
        let failing = FaultTestSupport.waitForStatus(client, timeout: 20, interval: 0.2) {
            let state = Self.db($0, "state")?.stringValue ?? "ok"
            return state != "ok"
        }
        let status = try #require(failing.status)
        #expect(failing.met, "writes on a read-only file system were not reported: \(status.jsonText)")
        let state = Self.db(status, "state")?.stringValue ?? ""
        #expect(["io_error", "read_only"].contains(state), "state \(state)")
        usleep(2_000_000)
        let later = try client.call("status")
        let processed = { (s: JSONValue) in s["frames"]?["processed"]?.intValue ?? 0 }
        #expect(processed(later) > processed(status), "the pipeline stopped")
        #expect(daemon.process.isRunning)
        #expect(daemon.standardError.contains("database writes failing"))
        #expect((try? client.call("detections", arguments: ["limit": 5])) != nil, "queries must still be answered from the database")
        print("[relB] ext4 errors=remount-ro after trigger_fs_error (mount options: \(options.trimmingCharacters(in: .whitespacesAndNewlines))): db state \(Self.db(later, "state")?.stringValue ?? "?"), written \(Self.db(later, "written")?.intValue ?? 0), buffered \(Self.db(later, "buffered")?.intValue ?? 0), dropped \(Self.db(later, "dropped")?.intValue ?? 0); error: \(Self.db(later, "error")?.stringValue ?? "")")
        // Stopping cannot flush to a read-only disk: it says so and still exits cleanly.
        #expect(daemon.terminate() == 0, "\(daemon.standardError.suffix(2000))")
        #expect(daemon.standardError.contains("were not written before exit"))
    }

    /// Accelerated retention soak: 1 MiB byte limit, pruning every second, every frame logged as
    /// fast as the pipeline goes, for 30 s (longer when too little was written by then). The main database file must stay within the limit
    /// plus one prune interval of inserts (margin 512 KiB), the -wal file within its checkpoint
    /// size (4 MiB) plus the same margin.
    @Test func retentionKeepsTheDatabaseUnderItsByteLimitDuringASoak() throws {
        let configuration = NSTemporaryDirectory() + "edgecamd-retention-\(getpid())-\(UUID().uuidString.prefix(6)).toml"
        defer { try? FileManager.default.removeItem(atPath: configuration) }
        let daemon = try DaemonProcess(arguments: try Self.loggingEveryFrame(configuration: configuration, extra: """
            max_megabytes = 1
            prune_interval_seconds = 1
            """))
        let client = try ControlClient(socketPath: daemon.socket, timeout: .seconds(20))
        let limit = 1 << 20, margin = 512 << 10, walLimit = 4 << 20
        var maxDatabase = 0, maxWAL = 0
        // 30 s. Where fewer detections were written by then (a loaded machine, a sanitizer build)
        // it goes on, up to 90 s × the build's time factor, until 3× what is kept was written
        // (so that well over twice the limit went through; a normal build on a machine busy with
        // a TSan build wrote 201 in 30 s, none pruned).
        let start = Date(), longest = SanitizerBuild.current.seconds(90)
        var lastProgressCheck = 0.0
        while true {
            let elapsed = Date().timeIntervalSince(start)
            if elapsed >= longest { break }
            if elapsed >= 30, elapsed - lastProgressCheck >= 1 {
                lastProgressCheck = elapsed
                if let status = try? client.call("status"),
                   (Self.db(status, "written")?.intValue ?? 0) > 3 * (Self.db(status, "detections")?.intValue ?? 0) { break }
            }
            maxDatabase = max(maxDatabase, FaultTestSupport.fileSize(daemon.database))
            maxWAL = max(maxWAL, FaultTestSupport.fileSize(daemon.database + "-wal"))
            usleep(100_000)
        }
        let soakSeconds = Date().timeIntervalSince(start)
        let status = try client.call("status")
        let written = Self.db(status, "written")?.intValue ?? 0
        let kept = Self.db(status, "detections")?.intValue ?? 0
        #expect(daemon.terminate() == 0, "\(daemon.standardError.suffix(2000))")
        let store = try DetectionStore(path: daemon.database)
        let stats = try store.stats()
        #expect(try store.integrityCheck().ok)
        try store.close()
        let perDetection = stats.detections > 0 ? Double(stats.usedBytes) / Double(stats.detections) : 0
        print("[relB] retention soak \(String(format: "%.0f", soakSeconds)) s (\(SanitizerBuild.current)), limit 1 MiB: \(written) detections written, \(kept) kept; max database file \(maxDatabase) bytes, max -wal \(maxWAL) bytes; ≈\(Int(perDetection)) bytes per detection")
        // The soak must have written well past the limit for the check to mean anything.
        #expect(Double(written) * perDetection > 2 * Double(limit), "only \(written) detections written")
        #expect(kept < written)
        #expect(maxDatabase <= limit + margin, "database file reached \(maxDatabase) bytes")
        #expect(maxWAL <= walLimit + margin, "-wal file reached \(maxWAL) bytes")
    }
}
