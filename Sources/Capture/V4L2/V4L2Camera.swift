import Glibc
import Locking

/// A V4L2 camera read through libv4l2 with mmap streaming, that survives unplugs, I/O errors
/// and stalls by reopening the device with bounded exponential back-off, in the same process.
///
/// Drive it from one capture thread with `nextFrame(timeout:)`; reconnection happens inside
/// that call. `state`, `counters`, `negotiated` and `stop()` may be used from any thread.
public final class V4L2Camera: FrameSource {
    public let configuration: V4L2CameraConfiguration
    private let onStateChange: (@Sendable (CameraState) -> Void)?
    /// A pipe whose read end `nextFrame` polls beside the camera, so `stop()` wakes it at once.
    private let wakeFD: Int32
    private let wakeWriteFD: Int32
    /// Owned by the thread inside `nextFrame`; held for the whole call.
    private let loop: PThreadMutex<Loop>
    /// Cheap to read from other threads; never held across blocking calls.
    private let status: PThreadMutex<Status>

    private struct Loop: ~Copyable {
        var session: V4L2Session?
        var opened = false
        var failedAttempts = 0
        var nextAttempt: UInt64 = 0
        var nextSequence: UInt64 = 0
        var sessionBase: UInt64 = 0
    }

    private struct Status {
        var state = CameraState.idle
        var counters = CaptureCounters()
        var negotiated: NegotiatedFormat?
        var stopRequested = false
    }

    /// - Parameter onStateChange: called on the capture thread after every state change
    ///   (for logging); keep it short.
    public init(
        configuration: V4L2CameraConfiguration, onStateChange: (@Sendable (CameraState) -> Void)? = nil
    ) throws(CaptureError) {
        try configuration.validate()
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .systemCall(path: configuration.devicePath, operation: "pipe", errno: errno) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        self.configuration = configuration
        self.onStateChange = onStateChange
        self.wakeFD = fds[0]
        self.wakeWriteFD = fds[1]
        self.loop = PThreadMutex(Loop())
        self.status = PThreadMutex(Status())
    }

    deinit {
        loop.withLock { $0.session?.close() }
        Glibc.close(wakeFD)
        Glibc.close(wakeWriteFD)
    }

    public var state: CameraState { status.withLock { $0.state } }
    public var counters: CaptureCounters { status.withLock { $0.counters } }
    /// What the current (or last) stream agreed on; nil before the first successful open.
    public var negotiated: NegotiatedFormat? { status.withLock { $0.negotiated } }

    /// Opens and starts streaming now instead of at the first `nextFrame`, so configuration
    /// and permission problems surface at startup. Throws the first open's error unless
    /// `waitForDevice` is set.
    public func start() throws(CaptureError) {
        try loop.withLock { (loop) throws(CaptureError) in
            let stopRequested = status.withLock { $0.stopRequested }
            if !loop.opened, !stopRequested { try openFirst(&loop) }
        }
    }

    public func stop() {
        let first = status.withLock { status in
            defer { status.stopRequested = true }
            return !status.stopRequested
        }
        if first {
            var byte: UInt8 = 1
            _ = write(wakeWriteFD, &byte, 1)
        }
        // Waits for a running nextFrame to notice the wake-up and return. A second caller
        // waits here too, so every stop() returns only once the camera is stopped.
        loop.withLock { loop in
            loop.session?.close()
            loop.session = nil
            setState(.stopped)
        }
    }

    public func nextFrame(timeout: Duration) throws(CaptureError) -> FrameReadResult {
        let deadline = MonotonicClock.now() &+ MonotonicClock.nanoseconds(timeout)
        return try loop.withLock { (loop) throws(CaptureError) -> FrameReadResult in
            try next(&loop, deadline: deadline)
        }
    }

    // MARK: The capture loop

    private func next(_ loop: inout Loop, deadline: UInt64) throws(CaptureError) -> FrameReadResult {
        while true {
            let (stopRequested, state) = status.withLock { ($0.stopRequested, $0.state) }
            if stopRequested {
                loop.session?.close()
                loop.session = nil
                return .endOfStream
            }
            if case .failed(let reason) = state { throw reason }
            if !loop.opened {
                try openFirst(&loop)
                continue
            }
            let now = MonotonicClock.now()

            guard let session = loop.session else {
                if now < loop.nextAttempt {
                    if now >= deadline { return .timedOut }
                    waitForWake(until: min(loop.nextAttempt, deadline))
                    continue
                }
                try reconnect(&loop)
                continue
            }

            let stallDeadline = session.lastActivity &+ MonotonicClock.nanoseconds(configuration.stallTimeout)
            if now >= stallDeadline {
                lose(&loop, .stalled(path: configuration.devicePath, seconds: Self.seconds(configuration.stallTimeout)))
                continue
            }
            if now >= deadline { return .timedOut }
            guard waitForFrame(session.device.fd, until: min(deadline, stallDeadline)) else { continue }
            do {
                switch try session.dequeue(sequenceBase: loop.sessionBase) {
                case .notReady:
                    continue
                case .corrupt(let drops):
                    status.withLock {
                        $0.counters.corrupt += 1
                        $0.counters.drops += drops
                    }
                case .frame(let frame):
                    status.withLock {
                        $0.counters.frames += 1
                        $0.counters.drops += frame.dropsBefore
                    }
                    return .frame(frame)
                }
            } catch {
                lose(&loop, error)
            }
        }
    }

    private func openFirst(_ loop: inout Loop) throws(CaptureError) {
        loop.opened = true
        do {
            try open(&loop)
        } catch {
            guard configuration.waitForDevice else {
                setState(.failed(reason: error))
                throw error
            }
            scheduleAttempt(&loop, after: error)
        }
    }

    private func open(_ loop: inout Loop) throws(CaptureError) {
        let session = try V4L2Session(configuration: configuration)
        loop.session = session
        loop.sessionBase = loop.nextSequence
        loop.failedAttempts = 0
        status.withLock { $0.negotiated = session.negotiated }
        setState(.streaming)
    }

    private func reconnect(_ loop: inout Loop) throws(CaptureError) {
        do {
            try open(&loop)
            status.withLock { $0.counters.reconnects += 1 }
        } catch {
            loop.failedAttempts += 1
            if let limit = configuration.maxReconnectAttempts, loop.failedAttempts >= limit {
                setState(.failed(reason: error))
                throw error
            }
            scheduleAttempt(&loop, after: error)
        }
    }

    /// The stream broke: release everything and schedule the first reopen.
    private func lose(_ loop: inout Loop, _ error: CaptureError) {
        if let session = loop.session {
            loop.nextSequence = session.nextSequence(after: loop.sessionBase)
            session.close()
        }
        loop.session = nil
        loop.failedAttempts = 0
        scheduleAttempt(&loop, after: error)
    }

    /// Schedules reopen attempt number `failedAttempts + 1` after its back-off delay.
    private func scheduleAttempt(_ loop: inout Loop, after error: CaptureError) {
        let attempt = loop.failedAttempts + 1
        let delay = configuration.backoff.delay(beforeAttempt: attempt)
        loop.nextAttempt = MonotonicClock.now() &+ MonotonicClock.nanoseconds(delay)
        setState(.reconnecting(attempt: attempt, lastError: error))
    }

    private func setState(_ state: CameraState) {
        let changed = status.withLock { status in
            guard status.state != state else { return false }
            switch status.state {
            case .stopped, .failed: return false  // final: keep the reason a camera failed
            default: break
            }
            status.state = state
            return true
        }
        if changed { onStateChange?(state) }
    }

    // MARK: Waiting

    /// Polls the camera and the wake fd; true when the camera fd is ready (or in error).
    private func waitForFrame(_ fd: Int32, until deadline: UInt64) -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        let result = poll(&fds, 2, Self.milliseconds(until: deadline))
        return result > 0 && fds[0].revents != 0
    }

    private func waitForWake(until deadline: UInt64) {
        var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 1, Self.milliseconds(until: deadline))
    }

    /// Rounded up so that a wait never ends just before its deadline and spins.
    private static func milliseconds(until deadline: UInt64) -> Int32 {
        let now = MonotonicClock.now()
        guard deadline > now else { return 0 }
        return Int32(min((deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(MonotonicClock.nanoseconds(duration)) / 1e9
    }
}
