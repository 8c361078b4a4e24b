import Glibc

/// Which peers may use the control socket.
///
/// Root and the daemon's own user are always allowed. Anyone else must have an allowed uid,
/// or an allowed gid as their primary or a supplementary group. The socket file's mode and
/// group are a first gate; this check is the second, made on every accepted connection.
public struct PeerAuthorization: Sendable, Hashable {
    /// Users allowed besides root and the daemon's own user.
    public var allowedUIDs: Set<uid_t>
    /// Groups whose members are allowed (primary or supplementary membership).
    public var allowedGIDs: Set<gid_t>

    public init(allowedUIDs: Set<uid_t> = [], allowedGIDs: Set<gid_t> = []) {
        self.allowedUIDs = allowedUIDs
        self.allowedGIDs = allowedGIDs
    }

    /// Whether `peer` may talk to a server running as `serverUID`.
    public func allows(_ peer: PeerCredentials, serverUID: uid_t) -> Bool {
        if peer.uid == 0 || peer.uid == serverUID || allowedUIDs.contains(peer.uid) { return true }
        if allowedGIDs.contains(peer.gid) { return true }
        return peer.supplementaryGroups.contains { allowedGIDs.contains($0) }
    }
}
