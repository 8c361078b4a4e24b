import Capture
import Dispatch
import Locking

/// The hand-off between the capture thread and the inference thread: one slot, latest frame
/// wins. `put` never waits; a frame still in the slot when the next arrives is replaced, and
/// the replacement is counted as a drop. So the camera's queue never backs up behind a slow
/// model, and the model always sees the newest frame. A producer that makes frames on demand
/// (unpaced replay) waits in ``waitUntilEmpty()`` instead, and so drops none.
final class FrameSlot: Sendable {
    private struct State {
        var frame: Frame?
        var closed = false
    }

    private let state = PThreadMutex(State())
    /// Signalled once per empty → full transition (and once at close): only the consumer
    /// empties the slot, so a wake-up always finds a frame unless the slot was closed.
    private let filled = DispatchSemaphore(value: 0)
    /// Signalled each time the consumer takes a frame (and at close), for a producer waiting
    /// in ``waitUntilEmpty()``; it re-checks the slot, so surplus signals only cost a loop.
    private let emptied = DispatchSemaphore(value: 0)

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
        let frame = state.withLock { state in
            defer { state.frame = nil }
            return state.frame
        }
        if frame != nil { emptied.signal() }
        return frame
    }

    /// Waits until the consumer has taken the frame in the slot (at once when it is empty), for
    /// a producer that makes frames on demand. False once the slot is closed.
    func waitUntilEmpty() -> Bool {
        while true {
            let (empty, closed) = state.withLock { ($0.frame == nil, $0.closed) }
            if closed { return false }
            if empty { return true }
            emptied.wait()
        }
    }

    /// Ends the hand-off: later `put`s are dropped; `take` returns what is left, then `nil`.
    func close() {
        let first = state.withLock { state in
            defer { state.closed = true }
            return !state.closed
        }
        if first {
            filled.signal()
            emptied.signal()
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }
}
