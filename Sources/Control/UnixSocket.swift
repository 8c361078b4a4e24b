import Glibc

/// Thin wrappers over the socket calls the control server and client use.
///
/// Every call goes through `retryingInterrupts`, so `EINTR` is handled in one place; calls
/// that may not complete on a non-blocking socket return `nil` for `EAGAIN`/`EWOULDBLOCK`
/// instead of throwing.
enum UnixSocket {
    /// Runs `call` until it does not fail with `EINTR`; throws `SystemCallError` on `-1`.
    @discardableResult
    static func retryingInterrupts<T: BinaryInteger>(
        _ operation: String, _ call: () -> T
    ) throws(SystemCallError) -> T {
        while true {
            let result = call()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemCallError(operation: operation, errno: code)
        }
    }

    /// Like `retryingInterrupts`, but `EAGAIN`/`EWOULDBLOCK` yield `nil`.
    static func nonBlocking<T: BinaryInteger>(
        _ operation: String, _ call: () -> T
    ) throws(SystemCallError) -> T? {
        do {
            return try retryingInterrupts(operation, call)
        } catch {
            if error.errno == EAGAIN || error.errno == EWOULDBLOCK { return nil }
            throw error
        }
    }

    /// The longest path `sockaddr_un.sun_path` holds, leaving room for the terminating NUL.
    static var maximumPathLength: Int {
        MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1
    }

    /// Builds a `sockaddr_un` for `path`, or `nil` when the path is empty or too long.
    static func address(for path: String) -> sockaddr_un? {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumPathLength, !bytes.contains(0) else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// A new `AF_UNIX` stream socket, close-on-exec. The corresponding C function is `socket`.
    static func makeStreamSocket() throws(SystemCallError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        return try retryingInterrupts("socket") { socket(AF_UNIX, type, 0) }
    }

    /// Binds `fd` to `address`. The corresponding C function is `bind`.
    static func bind(_ fd: Int32, to address: sockaddr_un) throws(SystemCallError) {
        var address = address
        try retryingInterrupts("bind") {
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
    }

    /// Connects `fd` to `address` (a Unix socket connects or fails at once).
    /// The corresponding C function is `connect`.
    static func connect(_ fd: Int32, to address: sockaddr_un) throws(SystemCallError) {
        var address = address
        try retryingInterrupts("connect") {
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec socket, or `nil`
    /// when none is pending. The corresponding C functions are `accept` and `fcntl`
    /// (Glibc's `accept4` is a GNU extension Swift does not import).
    static func acceptNonBlocking(_ fd: Int32) throws(SystemCallError) -> Int32? {
        guard let accepted = try nonBlocking("accept", { Glibc.accept(fd, nil, nil) }) else { return nil }
        do {
            try setCloseOnExec(accepted)
            try setNonBlocking(accepted, true)
        } catch {
            close(accepted)
            throw error
        }
        return accepted
    }

    /// Sets `FD_CLOEXEC`, so descriptors don't leak into processes the daemon starts.
    static func setCloseOnExec(_ fd: Int32) throws(SystemCallError) {
        try retryingInterrupts("fcntl") { fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }

    /// Sets or clears `O_NONBLOCK`. The corresponding C function is `fcntl`.
    static func setNonBlocking(_ fd: Int32, _ enabled: Bool) throws(SystemCallError) {
        let flags = try retryingInterrupts("fcntl") { fcntl(fd, F_GETFL) }
        let updated = enabled ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        try retryingInterrupts("fcntl") { fcntl(fd, F_SETFL, updated) }
    }

    /// Sends bytes without raising `SIGPIPE`; `nil` when the socket buffer is full.
    /// The corresponding C function is `send`.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) -> Int? {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        return try nonBlocking("send") { Glibc.send(fd, base, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Receives up to `buffer.count` bytes; `0` at end of stream, `nil` when nothing is
    /// available on a non-blocking socket. The corresponding C function is `recv`.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return 0 }
        return try nonBlocking("recv") { recv(fd, base, buffer.count, 0) }
    }

    /// Sends `bytes[offset...]`; `nil` when the socket buffer is full.
    static func send(_ fd: Int32, _ bytes: [UInt8], from offset: Int) throws(SystemCallError) -> Int? {
        // withUnsafeBytes only rethrows untyped errors, so the typed error travels in a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(SystemCallError) -> Int? in
                try send(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
        }.get()
    }

    /// Receives at most `count` bytes into the start of `buffer`; `0` at end of stream,
    /// `nil` when nothing is available.
    static func receive(_ fd: Int32, into buffer: inout [UInt8], count: Int) throws(SystemCallError) -> Int? {
        try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(SystemCallError) -> Int? in
                try receive(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<min(count, raw.count)]))
            }
        }.get()
    }

    /// Closes `fd`, ignoring errors (a close error on a socket loses nothing we could retry).
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Waits for events on `fds` for at most `timeoutMilliseconds` (`-1` waits forever).
    /// Returns the number of ready descriptors; `0` on timeout or interruption.
    /// The corresponding C function is `poll`.
    static func poll(_ fds: inout [pollfd], timeoutMilliseconds: Int32) throws(SystemCallError) -> Int {
        let result = fds.withUnsafeMutableBufferPointer { buffer in
            Glibc.poll(buffer.baseAddress, nfds_t(buffer.count), timeoutMilliseconds)
        }
        if result >= 0 { return Int(result) }
        let code = errno
        if code == EINTR { return 0 }
        throw SystemCallError(operation: "poll", errno: code)
    }
}
