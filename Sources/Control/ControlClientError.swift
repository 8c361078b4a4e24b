import Glibc

/// Why a control client call failed, with a message for the person at the terminal and
/// an exit code for scripts.
public enum ControlClientError: Error, CustomStringConvertible, Equatable {
    /// No socket file: the daemon is not running (or uses another path).
    case notRunning(path: String)
    /// The socket exists but we may not connect (not in the socket's group).
    case permissionDenied(path: String)
    /// A socket file with nobody listening: the daemon died without removing it.
    case staleSocket(path: String)
    /// The path cannot be a socket address (empty or too long).
    case invalidSocketPath(String)
    /// Connecting failed for another reason.
    case connectionFailed(path: String, errno: Int32)
    /// No reply within the timeout.
    case timedOut(command: String, after: Duration)
    /// The daemon closed the connection before replying.
    case disconnected
    /// The daemon sent something that is not the protocol.
    case protocolViolation(String)
    /// The daemon answered with an error.
    case server(ControlError)

    public var description: String {
        switch self {
        case .notRunning(let path):
            "edgecamd is not running (no socket at \(path))"
        case .permissionDenied(let path):
            "permission denied on \(path): add your user to the edgecam group (then log in again)"
        case .staleSocket(let path):
            "edgecamd is not running (stale socket at \(path): nothing is listening)"
        case .invalidSocketPath(let path):
            "'\(path)' cannot be a socket path (empty or longer than \(UnixSocket.maximumPathLength) bytes)"
        case .connectionFailed(let path, let code):
            "cannot connect to edgecamd at \(path): \(String(cString: strerror(code)))"
        case .timedOut(let command, let after):
            "edgecamd did not answer '\(command)' within \(after)"
        case .disconnected:
            "edgecamd closed the connection"
        case .protocolViolation(let detail):
            "unexpected reply from edgecamd: \(detail)"
        case .server(let error):
            error.message
        }
    }

    /// A process exit status for the CLI, from `<sysexits.h>` so scripts can tell causes apart:
    /// 69 daemon unavailable (not running, stale socket, `unavailable`), 77 permission denied
    /// (`forbidden`), 75 try again (timeout, `busy`), 64 usage (`bad_args`, `bad_request`,
    /// `unknown_command`, `too_large`, `too_slow`), 66 `not_found`, 76 protocol error (`bad_json`, garbage),
    /// 70 `internal`, 74 other I/O errors.
    public var exitCode: Int32 {
        switch self {
        case .notRunning, .staleSocket: 69
        case .permissionDenied: 77
        case .timedOut: 75
        case .invalidSocketPath: 64
        case .connectionFailed, .disconnected: 74
        case .protocolViolation: 76
        case .server(let error):
            switch error.code {
            case .forbidden: 77
            case .busy: 75
            case .unavailable: 69
            case .badArguments, .badRequest, .unknownCommand, .tooLarge, .tooSlow: 64
            case .notFound: 66
            case .badJSON: 76
            default: 70
            }
        }
    }
}
