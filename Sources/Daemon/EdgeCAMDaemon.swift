import Control
import Foundation
import Glibc
import Logging

/// A running edgecamd: the pipeline, the store and the control socket, started and stopped
/// together. The `edgecamd` executable adds flags, signals and systemd notification around it.
///
/// ```swift
/// let daemon = try EdgeCAMDaemon(configuration: configuration, logger: logger)
/// try daemon.start()          // serving: the socket accepts clients
/// daemon.reload(newConfiguration)
/// daemon.stop()               // finish the frame, flush the store, remove the socket
/// ```
public final class EdgeCAMDaemon: Sendable {
    private let core: DaemonCore
    private let server: ControlServer

    /// Loads the model, opens the store and the source; nothing runs until `start()`.
    public init(configuration: DaemonConfiguration, logger: Logger) throws(DaemonError) {
        var configuration = configuration
        configuration.store.path = Self.resolveStorePath(configuration.store.path)
        let socketPath = ControlSocketPath.resolve(explicit: configuration.control.socket.isEmpty ? nil : configuration.control.socket)
        let events = EventBroadcaster()
        core = try DaemonCore(configuration: configuration, socketPath: socketPath, events: events, logger: logger)
        var serverConfiguration = ControlServerConfiguration(socketPath: socketPath)
        if !configuration.control.group.isEmpty {
            let group = configuration.control.group
            serverConfiguration.socketGroup = gid_t(group).map { .id($0) } ?? .name(group)
        }
        serverConfiguration.authorization.allowedUIDs.formUnion(configuration.control.allowedUIDs.map { uid_t($0) })
        serverConfiguration.maxClients = configuration.control.maxClients
        serverConfiguration.serverVersion = "0.1.0"
        server = ControlServer(configuration: serverConfiguration, handler: DaemonControlHandler(core: core), events: events)
    }

    /// `store.path` when set, else `$STATE_DIRECTORY/edgecam.db`, else `/var/lib/edgecam/edgecam.db`.
    public static func resolveStorePath(_ configured: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if !configured.isEmpty { return configured }
        if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !state.isEmpty {
            return String(state) + "/edgecam.db"
        }
        return "/var/lib/edgecam/edgecam.db"
    }

    /// Starts the pipeline and then the control socket. When this returns, clients can connect.
    public func start() throws(DaemonError) {
        try core.start()
        do {
            try server.start()
        } catch {
            core.stop()
            throw .control(error.description)
        }
        core.logger.info("serving on \(server.configuration.socketPath); source \(core.sourceDescription); model \(core.context.name); db \(core.store.path)")
    }

    /// Finishes the current frame, writes every queued detection, logs the stop, closes the
    /// store and finally removes the socket (subscribers hear every committed detection first).
    public func stop() {
        core.stop()
        server.stop()
    }

    /// Applies a reloaded configuration; returns the changed keys that need a restart.
    @discardableResult
    public func reload(_ configuration: DaemonConfiguration) -> [String] {
        var configuration = configuration
        configuration.store.path = Self.resolveStorePath(configuration.store.path)
        let restart = core.apply(configuration)
        core.logEvent(.config, "configuration reloaded", details: restart.isEmpty ? nil : ["restart_required": restart.joined(separator: ",")])
        return restart
    }

    /// The control socket's path.
    public var socketPath: String { server.configuration.socketPath }

    /// One line for systemd's STATUS=.
    public var statusLine: String { core.statusLine }

    /// The configuration in force.
    public var configuration: DaemonConfiguration { core.settings.current }

    /// False when the inference thread has not turned for `seconds` (it turns at least once a
    /// second even without frames): the watchdog then stops being fed and systemd restarts us.
    public func isHealthy(within seconds: Double) -> Bool {
        core.metrics.secondsSinceHeartbeat < seconds
    }

    /// True once a replay source without `loop` has delivered its last frame.
    public var sourceEnded: Bool { core.pipeline.sourceStatus.ended }
}
