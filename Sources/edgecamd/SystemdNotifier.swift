import Glibc

/// Talks to systemd's notification socket (`$NOTIFY_SOCKET`, a datagram socket) the way
/// `sd_notify(3)` does, without linking libsystemd: one `sendto` per message.
/// Outside systemd (no `$NOTIFY_SOCKET`) every call does nothing.
struct SystemdNotifier: Sendable {
    let socketPath: String?

    init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"]
        socketPath = path?.isEmpty == false ? path : nil
    }

    /// Sends `message` (e.g. "READY=1\nSTATUS=serving"). Returns false if it could not be sent.
    @discardableResult
    func notify(_ message: String) -> Bool {
        guard let socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        // "@name" is an abstract socket: its address starts with a NUL byte.
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in pathBytes.enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == bytes.count
    }

    /// Half the watchdog interval systemd asked for, when the watchdog is meant for this
    /// process: `$WATCHDOG_USEC` set, and `$WATCHDOG_PID` unset or our pid.
    static func watchdogInterval(environment: [String: String], pid: pid_t = getpid()) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], !owner.isEmpty, owner != String(pid) { return nil }
        return .microseconds(Int64(usec / 2))
    }
}
