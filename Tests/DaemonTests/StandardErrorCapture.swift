import Foundation
import Glibc

/// Everything a child process writes to its standard error, read on a thread of its own until
/// end of file — which comes when the child (and whatever inherited the descriptor) has exited,
/// however it ended. The thread then closes the pipe and ends, so nothing outlives the child.
///
/// Not `FileHandle.readabilityHandler`: Foundation keeps the dispatch source behind it (and
/// what it refers to) alive when the handler is not cleared at exactly the right moment, which
/// LeakSanitizer reported for every daemon a test started (`scripts/sanitize asan`).
final class StandardErrorCapture: Sendable {
    /// The pipe's write end, for `Process.standardError`; `closeWriteEnd()` once the child runs.
    let writeEnd: FileHandle
    private let readDescriptor: Int32
    private let collected = LockedData()
    private let ended = DispatchSemaphore(value: 0)

    init() throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw DaemonTestError("pipe failed: errno \(errno)") }
        // Close-on-exec: other processes the tests start must not hold the write end, or end
        // of file would wait for them too (Process dup2()s it to the child's fd 2, which
        // clears the flag there).
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        readDescriptor = ends[0]
        writeEnd = FileHandle(fileDescriptor: ends[1], closeOnDealloc: true)
    }

    /// Starts reading; call after the child was started and `closeWriteEnd()`.
    func start(name: String) {
        let thread = Thread { [self] in readUntilEnd() }
        thread.name = name
        thread.start()
    }

    /// Our copy of the write end: closed once the child has its own, so that end of file comes
    /// when the child exits. When the child could not be started, call it and `start` too:
    /// the reader then sees end of file at once and closes the read end.
    func closeWriteEnd() {
        try? writeEnd.close()
    }

    private func readUntilEnd() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readDescriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            collected.append(Data(buffer[0..<count]))
        }
        close(readDescriptor)
        ended.signal()
    }

    /// Waits up to `timeout` seconds for end of file; true when everything was read.
    @discardableResult
    func waitForEnd(timeout: Double) -> Bool {
        guard ended.wait(timeout: .now() + timeout) == .success else { return false }
        ended.signal()  // later waits return at once
        return true
    }

    /// What was read so far.
    var text: String { collected.text }
}

/// Bytes appended from one thread and read from others.
final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func append(_ more: Data) {
        lock.lock()
        data.append(more)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
