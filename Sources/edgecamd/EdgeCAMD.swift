import ArgumentParser
import Daemon
import Dispatch
import Foundation
import Glibc
import Logging

/// `edgecamd`: watches a camera (or replays a clip), logs what an int8 model detects with a
/// heatmap of where it looked, and answers the control socket that `edgecam` talks to.
@main
struct EdgeCAMD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgecamd",
        abstract: "The EdgeCAM daemon: camera → int8 model → detections with heatmaps → SQLite and the control socket.",
        discussion: """
        Settings come from the TOML file (--config, else $CONFIGURATION_DIRECTORY/edgecamd.toml when \
        present), then from these flags. SIGTERM/SIGINT stop gracefully, SIGHUP reloads the file.
        """,
        version: "0.1.0"
    )

    @Option(help: "TOML configuration file.")
    var config: String?

    @Option(help: "The int8 .tflite model (model.path).")
    var model: String?

    @Option(help: "Class names, one per line (model.labels).")
    var labels: String?

    @Option(help: "Frame source: v4l2:/dev/videoN, jpeg-dir:PATH or mjpeg:PATH (source.uri).")
    var source: String?

    @Option(help: "Camera frame rate, or replay pacing (0 = as fast as the model takes frames) (source.fps).")
    var fps: Double?

    @Flag(help: "Replay sources start again at the end (source.loop).")
    var loop = false

    @Option(help: "SQLite database file (store.path).")
    var db: String?

    @Option(help: "Control socket path (control.socket).")
    var socket: String?

    @Option(help: "Minimum score of a logged detection (detection.min_score).")
    var minScore: Double?

    @Option(help: "Threads per inference (model.threads).")
    var threads: Int?

    @Flag(help: "Check the configuration and exit.")
    var checkConfig = false

    /// The file (if any) and the flags, as one configuration; also used by SIGHUP.
    func loadConfiguration(environment: [String: String]) throws -> DaemonConfiguration {
        var path = config
        if path == nil, let directory = environment["CONFIGURATION_DIRECTORY"]?.split(separator: ":").first {
            let candidate = String(directory) + "/edgecamd.toml"
            if FileManager.default.fileExists(atPath: candidate) { path = candidate }
        }
        var configuration = DaemonConfiguration()
        if let path {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError.unreadable(path: path, reason: error.localizedDescription)
            }
            configuration = try ConfigurationKeys.load(text, path: path)
        }
        func set(_ key: String, _ value: TOMLValue?, flag: String) throws {
            guard let value, let entry = ConfigurationKeys.key(key) else { return }
            do {
                try entry.apply(value, to: &configuration)
            } catch {
                throw ValidationError("--\(flag): \(error.message)")
            }
        }
        try set("model.path", model.map { .string($0) }, flag: "model")
        try set("model.labels", labels.map { .string($0) }, flag: "labels")
        try set("source.uri", source.map { .string($0) }, flag: "source")
        try set("source.fps", fps.map { .float($0) }, flag: "fps")
        if loop { try set("source.loop", .bool(true), flag: "loop") }
        try set("store.path", db.map { .string($0) }, flag: "db")
        try set("control.socket", socket.map { .string($0) }, flag: "socket")
        try set("detection.min_score", minScore.map { .float($0) }, flag: "min-score")
        try set("model.threads", threads.map { .integer(Int64($0)) }, flag: "threads")
        return configuration
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let underSystemd = environment["JOURNAL_STREAM"] != nil || environment["INVOCATION_ID"] != nil
        LoggingSystem.bootstrap { label in JournalLogHandler(label: label, journal: underSystemd) }
        let logger = Logger(label: "edgecamd")
        let configuration: DaemonConfiguration
        do {
            configuration = try loadConfiguration(environment: environment)
        } catch let error as ConfigurationError {
            // A problem in the file, not in the flags: no usage text.
            throw StartupError(description: error.description)
        }
        setLogLevel(configuration.log.level)
        if checkConfig {
            print("configuration OK")
            return
        }
        let notifier = SystemdNotifier(environment: environment)
        let daemon: EdgeCAMDaemon
        do {
            daemon = try EdgeCAMDaemon(configuration: configuration, logger: logger)
            try daemon.start()
        } catch {
            logger.critical("\(error)")
            notifier.notify("STATUS=failed: \(error)")
            throw ExitCode(1)
        }
        notifier.notify("READY=1\nSTATUS=\(daemon.statusLine)\nMAINPID=\(getpid())")

        let signals = DispatchQueue(label: "edgecamd.signals")
        let stopRequested = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        signal(SIGPIPE, SIG_IGN)
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: signals)
            source.setEventHandler {
                logger.notice("signal \(number): stopping")
                stopRequested.signal()
            }
            source.resume()
            sources.append(source)
        }
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: signals)
        let command = self
        hangup.setEventHandler {
            notifier.notify("RELOADING=1")
            do {
                let reloaded = try command.loadConfiguration(environment: environment)
                setLogLevel(reloaded.log.level)
                let restart = daemon.reload(reloaded)
                logger.notice("configuration reloaded\(restart.isEmpty ? "" : "; restart to apply " + restart.joined(separator: ", "))")
            } catch {
                logger.error("reload failed, keeping the running configuration: \(error)")
            }
            notifier.notify("READY=1\nSTATUS=\(daemon.statusLine)")
        }
        hangup.resume()
        sources.append(hangup)

        let timers = DispatchQueue(label: "edgecamd.timers")
        let statusTimer = DispatchSource.makeTimerSource(queue: timers)
        statusTimer.schedule(deadline: .now() + 5, repeating: 5)
        statusTimer.setEventHandler {
            setLogLevel(daemon.configuration.log.level)  // follows `config set log.level`
            notifier.notify("STATUS=\(daemon.statusLine)")
        }
        statusTimer.resume()
        var watchdogTimer: (any DispatchSourceTimer)?
        if let interval = SystemdNotifier.watchdogInterval(environment: environment) {
            let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
            let timer = DispatchSource.makeTimerSource(queue: timers)
            timer.schedule(deadline: .now(), repeating: seconds)
            timer.setEventHandler {
                // A stuck inference thread stops the pings, so systemd restarts us.
                if daemon.isHealthy(within: max(2 * seconds, 5)) { notifier.notify("WATCHDOG=1") }
            }
            timer.resume()
            watchdogTimer = timer
        }

        stopRequested.wait()
        notifier.notify("STOPPING=1\nSTATUS=stopping")
        watchdogTimer?.cancel()
        statusTimer.cancel()
        daemon.stop()
        logger.info("stopped")
        _ = sources
    }
}

/// A startup failure printed as one line (`Error: …`), exit status 1.
struct StartupError: Error, CustomStringConvertible {
    var description: String
}

private func setLogLevel(_ name: String) {
    let level = Logger.Level(rawValue: name) ?? .info
    JournalLogHandler.sharedLevel.withLock { $0 = level }
}
