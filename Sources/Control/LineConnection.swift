import Glibc

/// A client's end of a control connection: a non-blocking socket with deadline-bounded
/// line reads and writes. Used by `ControlClient` (and by tests to send raw bytes).
final class LineConnection {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []
    private var scannedUpTo = 0
    private var endOfStream = false
    /// Longest line accepted from the server.
    let maxLineBytes: Int

    /// Connects to the socket at `path`, mapping failures to actionable errors.
    init(path: String, maxLineBytes: Int) throws(ControlClientError) {
        guard let address = UnixSocket.address(for: path) else { throw .invalidSocketPath(path) }
        let fd: Int32
        do {
            fd = try UnixSocket.makeStreamSocket()
            try UnixSocket.setNonBlocking(fd, true)
        } catch {
            throw .connectionFailed(path: path, errno: error.errno)
        }
        do {
            try UnixSocket.connect(fd, to: address)
        } catch {
            UnixSocket.close(fd)
            switch error.errno {
            case ENOENT, ENOTDIR: throw .notRunning(path: path)
            case EACCES, EPERM: throw .permissionDenied(path: path)
            case ECONNREFUSED: throw .staleSocket(path: path)
            default: throw .connectionFailed(path: path, errno: error.errno)
            }
        }
        self.fd = fd
        self.maxLineBytes = maxLineBytes
    }

    deinit { close() }

    func close() {
        if fd >= 0 { UnixSocket.close(fd) }
        fd = -1
    }

    /// Writes all of `bytes` before `deadline`.
    func send(_ bytes: [UInt8], deadline: ContinuousClock.Instant?) throws(LineConnectionError) {
        var offset = 0
        while offset < bytes.count {
            let sent: Int?
            do {
                sent = try UnixSocket.send(fd, bytes, from: offset)
            } catch {
                throw .closed
            }
            if let sent {
                offset += sent
            } else {
                try wait(for: POLLOUT, until: deadline)
            }
        }
    }

    /// The next line without its newline; `nil` at end of stream.
    func readLine(deadline: ContinuousClock.Instant?) throws(LineConnectionError) -> [UInt8]? {
        while true {
            if let newline = buffer[scannedUpTo...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeFirst(newline + 1)
                scannedUpTo = 0
                return line
            }
            scannedUpTo = buffer.count
            if buffer.count > maxLineBytes { throw .lineTooLong }
            if endOfStream {
                // A final line without newline still counts; then end of stream.
                guard !buffer.isEmpty else { return nil }
                defer { buffer = []; scannedUpTo = 0 }
                return buffer
            }
            try fill(deadline: deadline)
        }
    }

    /// Whether a complete line is already buffered (no system call).
    var hasBufferedLine: Bool { buffer[scannedUpTo...].contains(UInt8(ascii: "\n")) }

    private func fill(deadline: ContinuousClock.Instant?) throws(LineConnectionError) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let received: Int?
            do {
                received = try UnixSocket.receive(fd, into: &chunk, count: chunk.count)
            } catch {
                // ECONNRESET arrives after the data the server wrote before closing, so
                // it means the same as end of stream here.
                endOfStream = true
                return
            }
            guard let received else {
                try wait(for: POLLIN, until: deadline)
                continue
            }
            if received == 0 { endOfStream = true } else { buffer.append(contentsOf: chunk[..<received]) }
            return
        }
    }

    private func wait(for event: Int32, until deadline: ContinuousClock.Instant?) throws(LineConnectionError) {
        let clock = ContinuousClock()
        while true {
            var timeout: Int32 = -1
            if let deadline {
                let remaining = deadline - clock.now
                if remaining <= .zero { throw .timedOut }
                let (seconds, attoseconds) = remaining.components
                timeout = Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            }
            var fds = [pollfd(fd: fd, events: Int16(event), revents: 0)]
            let ready: Int
            do {
                ready = try UnixSocket.poll(&fds, timeoutMilliseconds: timeout)
            } catch {
                throw .closed
            }
            if ready > 0 { return }
        }
    }
}

/// Failures of a `LineConnection`, mapped to `ControlClientError` by the client.
enum LineConnectionError: Error {
    case timedOut
    case closed
    case lineTooLong
}
