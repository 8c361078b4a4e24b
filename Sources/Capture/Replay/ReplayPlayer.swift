import Locking

/// Where a replay source gets frame `index` from.
protocol ReplayFrames: Sendable {
    var count: Int { get }
    /// The bytes of frame `index`, or nil when they cannot be a JPEG (counted as corrupt).
    func bytes(at index: Int) throws(CaptureError) -> [UInt8]?
    /// Names the source in errors.
    var path: String { get }
}

/// The shared engine of the replay sources: order, looping, pacing and counters.
final class ReplayPlayer<Frames: ReplayFrames>: Sendable {
    private let frames: Frames
    private let end: ReplayEnd
    private let state: PThreadMutex<State>
    /// Unpaced: every call returns the next frame at once (``FrameSource/deliversOnDemand``).
    let deliversOnDemand: Bool

    private struct State {
        var index = 0
        var sequence: UInt64 = 0
        var schedule: ReplaySchedule
        var counters = CaptureCounters()
        var stopped = false
        /// Consecutive unusable frames; a full pass of them means nothing can ever be delivered.
        var unusableRun = 0
    }

    init(frames: Frames, pacing: ReplayPacing, end: ReplayEnd) {
        self.frames = frames
        self.end = end
        self.state = PThreadMutex(State(schedule: ReplaySchedule(pacing: pacing)))
        deliversOnDemand = pacing == .asFastAsPossible
    }

    var counters: CaptureCounters { state.withLock { $0.counters } }

    func stop() { state.withLock { $0.stopped = true } }

    func nextFrame(timeout: Duration) throws(CaptureError) -> FrameReadResult {
        let deadline = MonotonicClock.now() &+ MonotonicClock.nanoseconds(timeout)
        while true {
            let (due, stopped) = state.withLock { ($0.schedule.due, $0.stopped) }
            if stopped { return .endOfStream }
            if let due, due > MonotonicClock.now() {
                if due > deadline {
                    MonotonicClock.sleep(until: deadline)
                    return .timedOut
                }
                MonotonicClock.sleep(until: due)
            }
            // Only the thread calling nextFrame advances the index, so reading it, loading
            // outside the lock and committing afterwards is consistent.
            let index: Int? = state.withLock { state in
                if state.index >= frames.count {
                    guard end == .loop else { return nil }
                    state.index = 0
                }
                return state.index
            }
            guard let index else { return .endOfStream }
            let bytes = try frames.bytes(at: index)
            let now = MonotonicClock.now()
            let result: Frame? = try state.withLock { (state) throws(CaptureError) -> Frame? in
                state.index = index + 1
                guard let bytes else {
                    state.counters.corrupt += 1
                    state.unusableRun += 1
                    if state.unusableRun >= frames.count { throw .noFrames(path: frames.path) }
                    return nil
                }
                state.unusableRun = 0
                state.schedule.delivered(at: now)
                state.counters.frames += 1
                defer { state.sequence += 1 }
                let size = bytes.withUnsafeBytes { JPEGMarkers.dimensions($0) }
                return Frame(
                    bytes: bytes, pixelFormat: .mjpeg, width: size?.width ?? 0, height: size?.height ?? 0,
                    bytesPerLine: 0, sequence: state.sequence, timestampNanoseconds: now)
            }
            if let result { return .frame(result) }
        }
    }
}
