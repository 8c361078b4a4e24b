/// Bounded exponential back-off between reconnection attempts.
public struct ReconnectBackoff: Sendable, Hashable {
    /// Wait before the first attempt after a loss.
    public var initial: Duration
    /// Upper bound for any wait.
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The wait before attempt number `attempt` (1-based): initial · 2^(attempt-1), capped.
    public func delay(beforeAttempt attempt: Int) -> Duration {
        var delay = initial
        for _ in 1..<max(1, attempt) where delay < maximum { delay *= 2 }
        return min(delay, maximum)
    }
}

/// How to open and keep a V4L2 camera.
public struct V4L2CameraConfiguration: Sendable, Hashable {
    /// Device node, e.g. /dev/video0 or a /dev/v4l/by-id/... link (stable across replugs).
    public var devicePath: String
    public var pixelFormat: PixelFormatPreference = .automatic
    /// Wanted size; the closest offered size is used and reported in `negotiated`.
    public var width: Int = 640
    public var height: Int = 480
    /// Wanted rate; the closest offered rate is used and reported in `negotiated`.
    public var framesPerSecond: Double = 30
    /// mmap buffers to request (the driver may grant a different number).
    public var bufferCount: Int = 4
    /// No frame for this long while streaming counts as a stall and triggers a reconnect
    /// (at least two frame intervals).
    public var stallTimeout: Duration = .seconds(3)
    public var backoff = ReconnectBackoff()
    /// Give up (state `.failed`) after this many failed attempts in a row; nil retries forever.
    public var maxReconnectAttempts: Int? = nil
    /// When true, a camera missing/busy at the first open is waited for like a lost one;
    /// when false, the first `nextFrame`/`start` throws the error.
    public var waitForDevice = false

    public init(devicePath: String) {
        self.devicePath = devicePath
    }

    func validate() throws(CaptureError) {
        guard width > 0, height > 0 else { throw .invalidConfiguration("size \(width)x\(height) must be positive") }
        guard framesPerSecond > 0, framesPerSecond.isFinite else {
            throw .invalidConfiguration("frame rate \(framesPerSecond) must be positive")
        }
        guard (1...32).contains(bufferCount) else { throw .invalidConfiguration("buffer count \(bufferCount) must be 1...32") }
        guard MonotonicClock.nanoseconds(stallTimeout) >= UInt64(2e9 / framesPerSecond) else {
            throw .invalidConfiguration("stall timeout must cover at least two frame intervals at \(framesPerSecond) fps")
        }
        guard backoff.initial > .zero, backoff.maximum >= backoff.initial else {
            throw .invalidConfiguration("back-off must satisfy 0 < initial <= maximum")
        }
    }
}

/// Where a camera is in its life. Read it from any thread with `V4L2Camera.state`.
public enum CameraState: Sendable, Equatable, CustomStringConvertible {
    /// Created, not opened yet.
    case idle
    case streaming
    /// The device was lost, stalled or is not available; attempt `attempt` is next.
    case reconnecting(attempt: Int, lastError: CaptureError)
    /// Reconnection gave up (`maxReconnectAttempts`) or the first open failed. Final: it stays
    /// (also after `stop()`) so the reason remains visible; create a new camera to try again.
    case failed(reason: CaptureError)
    case stopped

    public var description: String {
        switch self {
        case .idle: "idle"
        case .streaming: "streaming"
        case .reconnecting(let attempt, let error): "reconnecting (attempt \(attempt)): \(error)"
        case .failed(let reason): "failed: \(reason)"
        case .stopped: "stopped"
        }
    }
}
