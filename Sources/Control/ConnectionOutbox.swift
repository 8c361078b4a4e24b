import Locking

/// The bytes waiting to be written to one client, shared by the server thread (which
/// writes them), handler tasks (which queue replies) and publishers (which queue events).
///
/// Events are dropped, and counted, rather than queued past `limit`, so a client that stops
/// reading never makes a publisher wait and never makes the queue grow without bound. The
/// count is reported to the client as a `dropped` event as soon as it fits. Events are also
/// dropped while all clients of the server together have `budget.limit` bytes queued. Replies
/// are always queued; the server bounds them by reading a client's next request only when its
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
    /// The server-wide account every queued byte is charged to.
    let budget: OutboxBudget
    private let state = PThreadMutex(State())

    init(limit: Int, wakeup: Wakeup, budget: OutboxBudget) {
        self.limit = limit
        self.wakeup = wakeup
        self.budget = budget
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
            budget.add(line.count)
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
            budget.add(line.count)
        }
        wakeup.signal()
    }

    /// Queues an event if it fits under the limit, else counts it as dropped.
    /// Returns whether it was queued. Does not wake the server (the publisher does, once).
    func enqueueEvent(_ line: [UInt8]) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            appendDropNoticeIfItFits(&state)
            guard state.droppedEvents == 0, fits(line.count, state) else {
                state.droppedEvents += 1
                return false
            }
            state.bytes.append(contentsOf: line)
            budget.add(line.count)
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
                budget.remove(sent)
            }
            Self.compact(&state)
            appendDropNoticeIfItFits(&state)
            return state.pending
        }
    }

    /// Stops accepting output; called when the connection closes.
    func markClosed() {
        state.withLock { state in
            guard !state.closed else { return }
            state.closed = true
            budget.remove(state.pending)
            state.bytes = []
            state.start = 0
        }
    }

    /// Capacity an empty queue keeps for the next lines; more is given back, so a thousand
    /// clients that once had a full queue don't each hold its memory afterwards.
    static let retainedCapacity = 16 * 1024

    private static func compact(_ state: inout State) {
        if state.start == state.bytes.count {
            if state.bytes.capacity > retainedCapacity {
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

    /// Whether an event line of `count` bytes may be queued: under this client's limit and
    /// within the server-wide budget (or this client's fair share of it).
    private func fits(_ count: Int, _ state: State) -> Bool {
        state.pending + count <= limit && budget.allows(count, pending: state.pending)
    }

    /// Longer than any `dropped` notice line, which lets a full queue skip encoding one.
    private static let noticeBytesBound = 64

    private func appendDropNoticeIfItFits(_ state: inout State) {
        // Checked before encoding: a subscriber that never reads meets a full queue on every
        // event, and encoding a notice each time would make publishing cost grow with them.
        guard state.droppedEvents > 0, fits(Self.noticeBytesBound, state) else { return }
        let notice = ControlEvent(kind: ControlEvent.droppedKind, data: ["count": .number(Double(state.droppedEvents))])
        guard let line = try? JSONLineCodec.encodeLine(notice), fits(line.count, state) else { return }
        state.bytes.append(contentsOf: line)
        budget.add(line.count)
        state.droppedEvents = 0
    }
}
