import Glibc

/// Why a `ControlServer` could not start.
public enum ControlServerError: Error, CustomStringConvertible, Equatable {
    /// The path is empty, has a NUL byte, or does not fit in `sockaddr_un`.
    case invalidSocketPath(String, maximumLength: Int)
    /// Something accepted a connection on the path: another daemon is serving it.
    case alreadyRunning(path: String)
    /// A file that is not a socket is in the way.
    case notASocket(path: String)
    /// The configured socket group does not exist.
    case groupNotFound(String)
    /// `chown` to the socket group failed (the daemon's user must be a member of it).
    case cannotSetGroup(path: String, gid: gid_t, errno: Int32)
    /// Another system call failed while setting up the socket.
    case systemCall(operation: String, path: String, errno: Int32)
    /// `start()` was called on a server that was already started.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidSocketPath(let path, let maximum):
            "control socket path '\(path)' is empty, contains NUL or is longer than \(maximum) bytes; choose a shorter --socket"
        case .alreadyRunning(let path):
            "another edgecamd is already serving \(path); stop it first or choose another --socket"
        case .notASocket(let path):
            "\(path) exists and is not a socket; remove it or choose another --socket"
        case .groupNotFound(let name):
            "control socket group '\(name)' does not exist; create it (groupadd \(name)) or change the configured group"
        case .cannotSetGroup(let path, let gid, let code):
            "cannot give \(path) to group \(gid): \(Self.reason(code)); the daemon's user must be a member of that group"
        case .systemCall(let operation, let path, let code):
            "\(operation) on \(path) failed: \(Self.reason(code))"
        case .alreadyStarted:
            "the control server was already started"
        }
    }

    private static func reason(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}
