import Synchronization

/// The bytes waiting to be written to one client, shared by the server thread (which
/// writes them), handler tasks (which queue replies) and publishers (which queue events).
///
/// Events are dropped, and counted, rather than queued past `limit`, so a client that stops
/// reading never makes a publisher wait and never makes the queue grow without bound. The
/// count is reported to the client as a `dropped` event as soon as it fits. Replies are
/// always queued; the server bounds them by reading a client's next request only when its
/// queue is under the limit.
final class ConnectionOutbox: Sendable {
    struct State {
        /// Unsent bytes are `bytes[start...]`; always whole lines are appended.
        var bytes: [UInt8] = []
        var start = 0
        var droppedEvents = 0
        var requestInFlight = false
        var closed = false

        var pending: Int { bytes.count - start }
    }

    /// Bytes of queued output beyond which events are dropped.
    let limit: Int
    let wakeup: Wakeup
    private let state = Mutex(State())

    init(limit: Int, wakeup: Wakeup) {
        self.limit = limit
        self.wakeup = wakeup
    }

    /// Queued bytes and whether a request is being handled.
    var snapshot: (pending: Int, requestInFlight: Bool) {
        state.withLock { ($0.pending, $0.requestInFlight) }
    }

    /// Queues a reply the server made itself (no handler task involved).
    func enqueueReply(_ line: [UInt8]) {
        state.withLock { state in
            guard !state.closed else { return }
            state.bytes.append(contentsOf: line)
        }
    }

    /// Marks a request as handed to the handler: the client's next line waits for the reply.
    func beginRequest() {
        state.withLock { $0.requestInFlight = true }
    }

    /// Queues the handler's reply, lets the next request through and wakes the server.
    func finishRequest(with line: [UInt8]) {
        state.withLock { state in
            state.requestInFlight = false
            guard !state.closed else { return }
            state.bytes.append(contentsOf: line)
        }
        wakeup.signal()
    }

    /// Queues an event if it fits under the limit, else counts it as dropped.
    /// Returns whether it was queued. Does not wake the server (the publisher does, once).
    func enqueueEvent(_ line: [UInt8]) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            Self.appendDropNoticeIfItFits(&state, limit: limit)
            guard state.droppedEvents == 0, state.pending + line.count <= limit else {
                state.droppedEvents += 1
                return false
            }
            state.bytes.append(contentsOf: line)
            return true
        }
    }

    /// Writes as much as the socket takes. Returns the bytes still queued.
    func write(to fd: Int32) throws(SystemCallError) -> Int {
        try state.withLock { (state) throws(SystemCallError) -> Int in
            while state.pending > 0 {
                let sent = try UnixSocket.send(fd, state.bytes, from: state.start)
                guard let sent, sent > 0 else { break }
                state.start += sent
            }
            Self.compact(&state, limit: limit)
            Self.appendDropNoticeIfItFits(&state, limit: limit)
            return state.pending
        }
    }

    /// Stops accepting output; called when the connection closes.
    func markClosed() {
        state.withLock { state in
            state.closed = true
            state.bytes = []
            state.start = 0
        }
    }

    private static func compact(_ state: inout State, limit: Int) {
        if state.start == state.bytes.count {
            // Keep a modest buffer for the next lines, but give back the memory of a big reply.
            if state.bytes.capacity > 4 * max(limit, 65_536) {
                state.bytes = []
            } else {
                state.bytes.removeAll(keepingCapacity: true)
            }
            state.start = 0
        } else if state.start >= 65_536, state.start * 2 >= state.bytes.count {
            state.bytes.removeFirst(state.start)
            state.start = 0
        }
    }

    private static func appendDropNoticeIfItFits(_ state: inout State, limit: Int) {
        guard state.droppedEvents > 0 else { return }
        let notice = ControlEvent(kind: ControlEvent.droppedKind, data: ["count": .number(Double(state.droppedEvents))])
        guard let line = try? JSONLineCodec.encodeLine(notice), state.pending + line.count <= limit else { return }
        state.bytes.append(contentsOf: line)
        state.droppedEvents = 0
    }
}
