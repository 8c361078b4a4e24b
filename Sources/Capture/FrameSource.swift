/// What a `FrameSource` returned from one `nextFrame(timeout:)` call.
public enum FrameReadResult: Sendable, Equatable {
    case frame(Frame)
    /// No frame arrived within the timeout; the source is still alive (it may be reconnecting).
    case timedOut
    /// The source is finished: a replay reached its end without looping, or `stop()` was called.
    case endOfStream
}

/// Counters every source keeps. Read them from any thread.
public struct CaptureCounters: Sendable, Equatable, CustomStringConvertible {
    /// Frames delivered to the caller.
    public var frames: UInt64 = 0
    /// Frames lost before delivery (driver sequence gaps).
    public var drops: UInt64 = 0
    /// Buffers rejected as broken (no SOI/EOI, empty, error flag, short raw frame) and skipped.
    public var corrupt: UInt64 = 0
    /// Successful reopens after the device was lost or stalled.
    public var reconnects: UInt64 = 0

    public init() {}

    public var description: String {
        "frames \(frames), drops \(drops), corrupt \(corrupt), reconnects \(reconnects)"
    }
}

/// A producer of frames, meant to be driven by one capture thread that the daemon owns.
///
/// Thread safety: `nextFrame(timeout:)` blocks and is serialized (concurrent callers wait for
/// each other), so call it from one thread. `counters`, `stop()` and the sources' status
/// properties may be used from any thread at any time; `stop()` wakes a blocked `nextFrame`.
public protocol FrameSource: AnyObject, Sendable {
    /// Blocks until a frame is available, the timeout passes or the source ends.
    /// Throws only when the source cannot go on (e.g. the camera is missing at start, or
    /// reconnection gave up); transient faults are handled inside and show in the counters.
    func nextFrame(timeout: Duration) throws(CaptureError) -> FrameReadResult
    /// Counters since the source was created.
    var counters: CaptureCounters { get }
    /// Ends the source: later and pending `nextFrame` calls return `.endOfStream`. Idempotent.
    func stop()
    /// Whether a frame is made when asked for (a replay without pacing) rather than arriving
    /// in real time (a camera, a paced replay). A consumer should ask such a source for a frame
    /// only when it can use it: reading ahead only makes frames to drop, on a busy CPU.
    var deliversOnDemand: Bool { get }
}

extension FrameSource {
    /// Real-time sources (cameras) are the default.
    public var deliversOnDemand: Bool { false }
}
