import Glibc
import Locking

/// A self-pipe that interrupts the server's `poll()` when another thread has queued
/// output (a reply, an event) or asked the server to stop.
final class Wakeup: Sendable {
    /// Read end, polled by the server thread.
    let readFD: Int32
    /// Write end; `nil` once closed, so a late `signal()` never writes to a reused fd number.
    private let writeFD: PThreadMutex<Int32?>

    init() throws(SystemCallError) {
        var fds: [Int32] = [0, 0]
        try UnixSocket.retryingInterrupts("pipe") {
            fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress) }
        }
        do {
            for fd in fds {
                try UnixSocket.setNonBlocking(fd, true)
                try UnixSocket.setCloseOnExec(fd)
            }
        } catch {
            fds.forEach(UnixSocket.close)
            throw error
        }
        readFD = fds[0]
        writeFD = PThreadMutex(fds[1])
    }

    /// Makes the next (or current) `poll()` return. A full pipe already means "wake up".
    func signal() {
        writeFD.withLock { fd in
            guard let fd else { return }
            var byte: UInt8 = 1
            _ = write(fd, &byte, 1)
        }
    }

    /// Empties the pipe after `poll()` reported it readable.
    func drain() {
        var scratch = [UInt8](repeating: 0, count: 64)
        while true {
            let count = scratch.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if count <= 0 { break }
        }
    }

    /// Closes both ends; later `signal()` calls do nothing.
    func close() {
        writeFD.withLock { fd in
            if let open = fd { UnixSocket.close(open) }
            fd = nil
        }
        UnixSocket.close(readFD)
    }
}
