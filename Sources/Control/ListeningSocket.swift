import Glibc

/// The server's bound and listening socket, and the file it made.
struct ListeningSocket: Sendable {
    let fd: Int32
    let path: String
    /// Device and inode of the socket file we created: `removeFile()` deletes the path only
    /// if it is still ours, not a socket a newer daemon has since put there.
    private let device: UInt64
    private let inode: UInt64

    /// Binds and listens at `configuration.socketPath`. A stale socket file (nothing accepts
    /// connections on it) is replaced; a live one is left alone and reported.
    static func open(_ configuration: ControlServerConfiguration) throws(ControlServerError) -> ListeningSocket {
        let path = configuration.socketPath
        guard let address = UnixSocket.address(for: path) else {
            throw .invalidSocketPath(path, maximumLength: UnixSocket.maximumPathLength)
        }
        let gid = try configuration.socketGroup?.resolve()
        try removeStaleSocket(at: path, address: address)

        let fd: Int32
        do {
            fd = try UnixSocket.makeStreamSocket()
        } catch {
            throw .systemCall(operation: "socket", path: path, errno: error.errno)
        }
        do {
            try UnixSocket.bind(fd, to: address)
        } catch {
            UnixSocket.close(fd)
            // EADDRINUSE: lost a race with another daemon starting at the same moment.
            if error.errno == EADDRINUSE { throw .alreadyRunning(path: path) }
            throw .systemCall(operation: "bind", path: path, errno: error.errno)
        }
        // From here on the file is ours: on failure, close and remove it.
        func abandon(_ error: ControlServerError) -> ControlServerError {
            UnixSocket.close(fd)
            _ = unlink(path)
            return error
        }
        // No client can connect before listen(), so setting mode and group here leaves
        // no window in which the socket is reachable with the wrong permissions.
        if chmod(path, configuration.socketMode) != 0 {
            throw abandon(.systemCall(operation: "chmod", path: path, errno: errno))
        }
        if let gid, chown(path, uid_t.max, gid) != 0 {
            throw abandon(.cannotSetGroup(path: path, gid: gid, errno: errno))
        }
        var info = stat()
        if stat(path, &info) != 0 {
            throw abandon(.systemCall(operation: "stat", path: path, errno: errno))
        }
        if listen(fd, max(1, configuration.listenBacklog)) != 0 {
            throw abandon(.systemCall(operation: "listen", path: path, errno: errno))
        }
        do {
            try UnixSocket.setNonBlocking(fd, true)
        } catch {
            throw abandon(.systemCall(operation: "fcntl", path: path, errno: error.errno))
        }
        return ListeningSocket(fd: fd, path: path, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// If `path` is a socket nobody listens on, deletes it; if someone does, refuses.
    private static func removeStaleSocket(at path: String, address: sockaddr_un) throws(ControlServerError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw .systemCall(operation: "lstat", path: path, errno: errno)
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path: path) }
        let probe: Int32
        do {
            probe = try UnixSocket.makeStreamSocket()
        } catch {
            throw .systemCall(operation: "socket", path: path, errno: error.errno)
        }
        defer { UnixSocket.close(probe) }
        do {
            // Non-blocking, so a live server with a full backlog (EAGAIN) can't hang us.
            try UnixSocket.setNonBlocking(probe, true)
            try UnixSocket.connect(probe, to: address)
        } catch {
            if error.errno == EAGAIN { throw .alreadyRunning(path: path) }
            // ECONNREFUSED: a socket file with no listener behind it, left by a crash.
            guard error.errno == ECONNREFUSED else {
                throw .systemCall(operation: "connect (probing the existing socket)", path: path, errno: error.errno)
            }
            if unlink(path) != 0, errno != ENOENT {
                throw .systemCall(operation: "unlink (stale socket)", path: path, errno: errno)
            }
            return
        }
        throw .alreadyRunning(path: path)
    }

    /// Deletes the socket file if it is still the one this server made.
    func removeFile() {
        var info = stat()
        guard lstat(path, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode else { return }
        _ = unlink(path)
    }
}
