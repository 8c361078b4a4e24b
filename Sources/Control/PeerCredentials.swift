import Glibc

/// Who is on the other end of a control connection, as the kernel reports it
/// (`SO_PEERCRED` and `SO_PEERGROUPS`, captured when the peer connected).
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The peer's process id.
    public var pid: pid_t
    /// The peer's effective user id.
    public var uid: uid_t
    /// The peer's effective (primary) group id.
    public var gid: gid_t
    /// The peer's supplementary groups; empty when the kernel cannot report them
    /// (`SO_PEERGROUPS` needs Linux 4.13).
    public var supplementaryGroups: [gid_t]

    public init(pid: pid_t, uid: uid_t, gid: gid_t, supplementaryGroups: [gid_t] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.supplementaryGroups = supplementaryGroups
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }

    /// Reads the credentials of the peer connected to `fd`.
    /// The corresponding C call is `getsockopt(fd, SOL_SOCKET, SO_PEERCRED, …)`.
    static func ofPeer(connectedTo fd: Int32) throws(SystemCallError) -> PeerCredentials {
        // Glibc's `struct ucred` is not imported into Swift (it needs _GNU_SOURCE);
        // its layout is three 32-bit integers on every Linux ABI.
        var raw = KernelPeerCredentials(pid: 0, uid: 0, gid: 0)
        var length = socklen_t(MemoryLayout<KernelPeerCredentials>.size)
        try UnixSocket.retryingInterrupts("getsockopt(SO_PEERCRED)") {
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &raw, &length)
        }
        return PeerCredentials(pid: raw.pid, uid: raw.uid, gid: raw.gid,
                               supplementaryGroups: supplementaryGroups(ofPeer: fd))
    }

    /// `SO_PEERGROUPS`, so that a user who is in the socket's group only as a supplementary
    /// group (the usual `usermod -aG edgecam user`) is recognised. Empty if unsupported.
    private static func supplementaryGroups(ofPeer fd: Int32) -> [gid_t] {
        let soPeerGroups: Int32 = 59  // <asm-generic/socket.h>; same value on x86, ARM, ARM64
        var groups = [gid_t](repeating: 0, count: 64)
        for _ in 0..<2 {
            var length = socklen_t(groups.count * MemoryLayout<gid_t>.stride)
            let result = groups.withUnsafeMutableBytes { raw in
                getsockopt(fd, SOL_SOCKET, soPeerGroups, raw.baseAddress, &length)
            }
            let count = Int(length) / MemoryLayout<gid_t>.stride
            if result == 0 { return Array(groups.prefix(count)) }
            // ERANGE reports the size needed; retry once with that much room.
            guard errno == ERANGE, count > groups.count, count <= 65_536 else { return [] }
            groups = [gid_t](repeating: 0, count: count)
        }
        return []
    }
}

/// Mirror of Linux `struct ucred`.
private struct KernelPeerCredentials {
    var pid: pid_t
    var uid: uid_t
    var gid: gid_t
}
