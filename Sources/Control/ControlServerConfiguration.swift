import Glibc

/// The group that owns the control socket file.
public enum SocketGroup: Sendable, Hashable {
    /// A group name, looked up when the server starts (e.g. `"edgecam"`).
    case name(String)
    /// A numeric group id.
    case id(gid_t)
}

/// How a `ControlServer` listens and what it tolerates from clients.
public struct ControlServerConfiguration: Sendable {
    /// Where the socket file is made; see `ControlSocketPath.resolve` for the default.
    public var socketPath: String
    /// Permission bits of the socket file. Connecting needs write permission, so 0660
    /// admits the owner and the group.
    public var socketMode: mode_t = 0o660
    /// Group of the socket file; `nil` keeps the daemon's group. Its gid is also added to
    /// `authorization.allowedGIDs`, so members of the group pass the peer check.
    public var socketGroup: SocketGroup?
    /// Which peers may talk to the server (root and the daemon's user always may).
    public var authorization = PeerAuthorization()
    /// `listen()` backlog: connections the kernel queues before the server accepts them.
    public var listenBacklog: Int32 = 16
    /// Longest request line, in bytes without the newline. A longer line gets `too_large`
    /// and the connection is closed; no more than this is ever buffered per client.
    public var maxRequestBytes = 64 * 1024
    /// A client that sends nothing for this long (and is neither subscribed nor waiting for
    /// a reply) is disconnected.
    public var idleTimeout: Duration = .seconds(60)
    /// A request line must arrive whole within this long of its first byte; a client that
    /// trickles bytes (a byte a second keeps the idle timeout away) gets `too_slow` and is
    /// closed, so slow writers cannot hold the client slots.
    public var requestTimeout: Duration = .seconds(10)
    /// Connections served at once; more get a `busy` error and are closed. `start()` raises
    /// the process's soft open-file limit to `maxClients + DescriptorLimit.reserve` (at most
    /// to the hard limit) so that clients cannot starve the rest of the daemon of descriptors.
    public var maxClients = 64
    /// Queued output per client beyond which events to it are dropped.
    public var maxOutgoingBytes = 256 * 1024
    /// Queued output over all clients beyond which events are dropped for clients holding more
    /// than their share (`maxTotalOutgoingBytes / maxClients`), so memory stays bounded (under
    /// twice this) however many subscribers stop reading, and readers still get events.
    public var maxTotalOutgoingBytes = 16 * 1024 * 1024
    /// At `stop()`, how long to keep writing queued output before closing clients.
    public var stopFlushTimeout: Duration = .milliseconds(250)
    /// `hello.server`.
    public var serverName = "edgecamd"
    /// `hello.version`.
    public var serverVersion = "0"

    public init(socketPath: String) {
        self.socketPath = socketPath
    }
}

extension SocketGroup {
    /// The group id; `.name` is looked up in the group database.
    /// The corresponding C function is `getgrnam_r`.
    func resolve() throws(ControlServerError) -> gid_t {
        switch self {
        case .id(let gid):
            return gid
        case .name(let name):
            var entry = Glibc.group()
            var result: UnsafeMutablePointer<Glibc.group>?
            var buffer = [CChar](repeating: 0, count: 4096)
            while true {
                let status = buffer.withUnsafeMutableBufferPointer {
                    getgrnam_r(name, &entry, $0.baseAddress, $0.count, &result)
                }
                if status == ERANGE, buffer.count < 1 << 20 {
                    buffer = [CChar](repeating: 0, count: buffer.count * 4)
                    continue
                }
                if status == EINTR { continue }
                guard status == 0, let found = result else { throw .groupNotFound(name) }
                return found.pointee.gr_gid
            }
        }
    }
}
