/// How fast a replay source hands out frames.
public enum ReplayPacing: Sendable, Hashable {
    /// Every call returns the next frame at once (benchmarks, batch processing).
    case asFastAsPossible
    /// Frames are due at a fixed rate, as from a camera.
    case framesPerSecond(Double)
}

/// What a replay source does after its last frame.
public enum ReplayEnd: Sendable, Hashable {
    /// Start again from the first frame (sequence numbers keep increasing).
    case loop
    /// Return `.endOfStream`.
    case stop
}

/// Due times for paced replay. A consumer that falls behind gets the next frame at once but
/// never a burst of catch-up frames.
struct ReplaySchedule {
    let period: UInt64?
    private var nextDue: UInt64?

    init(pacing: ReplayPacing) {
        switch pacing {
        case .asFastAsPossible: period = nil
        case .framesPerSecond(let fps): period = UInt64((1e9 / fps).rounded())
        }
    }

    /// When the next frame is due (monotonic ns); nil means now.
    var due: UInt64? { period == nil ? nil : nextDue }

    mutating func delivered(at now: UInt64) {
        guard let period else { return }
        let scheduled = (nextDue ?? now) &+ period
        nextDue = scheduled < now ? now &+ period : scheduled
    }
}
