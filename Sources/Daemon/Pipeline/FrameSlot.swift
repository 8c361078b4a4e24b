import Capture
import Dispatch
import Locking

/// The hand-off between the capture thread and the inference thread: one slot, latest frame
/// wins. `put` never waits; a frame still in the slot when the next arrives is replaced, and
/// the replacement is counted as a drop. So the camera's queue never backs up behind a slow
/// model, and the model always sees the newest frame.
final class FrameSlot: Sendable {
    private struct State {
        var frame: Frame?
        var closed = false
    }

    private let state = PThreadMutex(State())
    /// Signalled once per empty → full transition (and once at close): only the consumer
    /// empties the slot, so a wake-up always finds a frame unless the slot was closed.
    private let filled = DispatchSemaphore(value: 0)

    /// Puts `frame` in the slot. Returns true when it replaced a frame nobody took (a drop).
    @discardableResult
    func put(_ frame: Frame) -> Bool {
        let (replaced, wake) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (true, false) }
            let replaced = state.frame != nil
            state.frame = frame
            return (replaced, !replaced)
        }
        if wake { filled.signal() }
        return replaced
    }

    /// The frame in the slot, waiting up to `timeout`. `nil` on timeout or once the slot is
    /// closed and empty.
    func take(timeout: Duration) -> Frame? {
        let nanoseconds = max(0, Int(timeout.components.seconds) * 1_000_000_000 + Int(timeout.components.attoseconds / 1_000_000_000))
        guard filled.wait(timeout: .now() + .nanoseconds(nanoseconds)) == .success else { return nil }
        return state.withLock { state in
            defer { state.frame = nil }
            return state.frame
        }
    }

    /// Ends the hand-off: later `put`s are dropped; `take` returns what is left, then `nil`.
    func close() {
        let first = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        if first { filled.signal() }
    }

    var isClosed: Bool { state.withLock { $0.closed } }
}
