import Foundation
import Glibc
import Locking

/// The daemon's control socket: a Unix stream socket speaking newline-delimited JSON.
///
/// Wire format (full reference: `PROTOCOL.md` in this directory), one JSON object per line:
///
///     → {"id": 1, "cmd": "detections", "args": {"limit": 10}}
///     ← {"id": 1, "ok": true, "result": …}
///     ← {"id": 1, "ok": false, "error": {"code": "bad_args", "message": "args.limit must be …"}}
///     → {"id": 2, "cmd": "subscribe", "args": {"kinds": ["detection"]}}
///     ← {"id": 2, "ok": true, "result": {"kinds": ["detection"]}}
///     ← {"event": "detection", "data": {…}}
///     ← {"event": "dropped", "data": {"count": 3}}
///
/// Error codes (`ControlErrorCode`) are stable: `bad_json`, `bad_request`, `unknown_command`,
/// `bad_args`, `too_large`, `too_slow`, `forbidden`, `busy`, `unavailable`, `internal`, `not_found`.
/// The server answers `hello` (protocol version, server, version, commands) and `subscribe`
/// itself; every other command goes to the `ControlHandler`.
///
/// The server runs one thread with a `poll()` loop over non-blocking sockets: no thread per
/// client, bounded buffers per client, bounded clients. Requests other than `hello` and
/// `subscribe` go to the `ControlHandler` on Swift concurrency tasks, so a slow command never
/// stalls the loop. Live events go through `events`.
///
/// ```swift
/// var configuration = ControlServerConfiguration(socketPath: ControlSocketPath.resolve(explicit: nil))
/// configuration.socketGroup = .name("edgecam")
/// let server = ControlServer(configuration: configuration, handler: daemonHandler)
/// try server.start()
/// server.events.publish(kind: "detection", data: ["id": 42, "label": "person"])
/// server.stop()
/// ```
public final class ControlServer: Sendable {
    private enum Lifecycle {
        case idle
        case running(ServerShared, Wakeup)
        case stopped
    }

    /// The settings the server was made with.
    public let configuration: ControlServerConfiguration
    /// Publish live events here; they go to clients that sent `subscribe`.
    public let events: EventBroadcaster
    private let handler: any ControlHandler
    private let lifecycle = PThreadMutex(Lifecycle.idle)
    /// The counters of the last run, kept after `stop()`.
    private let lastStatistics = PThreadMutex(ControlServerStatistics())

    public init(configuration: ControlServerConfiguration, handler: any ControlHandler,
                events: EventBroadcaster = EventBroadcaster()) {
        self.configuration = configuration
        self.handler = handler
        self.events = events
    }

    deinit {
        stop()
    }

    /// Binds the socket and starts serving on a new thread. Returns once clients can
    /// connect. Throws if the socket cannot be made: a live daemon already serves the path,
    /// the path is not a socket, the group does not exist, and the like.
    public func start() throws(ControlServerError) {
        try lifecycle.withLock { (state) throws(ControlServerError) -> Void in
            guard case .idle = state else { throw .alreadyStarted }
            let gid = try configuration.socketGroup?.resolve()
            var authorization = configuration.authorization
            if let gid { authorization.allowedGIDs.insert(gid) }
            DescriptorLimit.raise(toAtLeast: configuration.maxClients + DescriptorLimit.reserve)
            let listener = try ListeningSocket.open(configuration)
            let wakeup: Wakeup
            switch Result(catching: { () throws(SystemCallError) -> Wakeup in try Wakeup() }) {
            case .success(let made):
                wakeup = made
            case .failure(let error):
                UnixSocket.close(listener.fd)
                listener.removeFile()
                throw .systemCall(operation: "pipe", path: configuration.socketPath, errno: error.errno)
            }
            let shared = ServerShared()
            let configuration = self.configuration
            let handler = self.handler
            let events = self.events
            let authorized = authorization
            let thread = Thread {
                // Set from inside the thread, Foundation passes the name on to the kernel, so
                // the thread shows as such in `top -H` and /proc/PID/task/*/comm.
                Thread.current.name = "edgecam-control"
                let loop = ServerLoop(listener: listener, configuration: configuration, authorization: authorized,
                                      handler: handler, events: events, wakeup: wakeup, shared: shared)
                loop.run()
            }
            thread.name = "edgecam-control"
            thread.start()
            state = .running(shared, wakeup)
        }
    }

    /// Stops gracefully: closes the listener and removes the socket file, gives clients up
    /// to `stopFlushTimeout` to take queued output, closes them, and returns when the server
    /// thread has finished. In-flight handler tasks are cancelled. Safe to call more than once.
    public func stop() {
        let running: ServerShared? = lifecycle.withLock { state in
            guard case .running(let shared, let wakeup) = state else {
                state = .stopped
                return nil
            }
            shared.stopRequested.store(true, ordering: .releasing)
            wakeup.signal()
            state = .stopped
            return shared
        }
        guard let running else { return }
        running.finished.wait()
        let final = running.statistics.withLock { $0 }
        lastStatistics.withLock { $0 = final }
    }

    /// Whether the server is serving.
    public var isRunning: Bool {
        lifecycle.withLock { state in
            if case .running = state { return true }
            return false
        }
    }

    /// Counters, updated once per turn of the server loop.
    public var statistics: ControlServerStatistics {
        let live: ControlServerStatistics? = lifecycle.withLock { state in
            guard case .running(let shared, _) = state else { return nil }
            return shared.statistics.withLock { $0 }
        }
        return live ?? lastStatistics.withLock { $0 }
    }
}
