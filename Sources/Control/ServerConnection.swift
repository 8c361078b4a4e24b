import Glibc

/// One accepted client, owned by the server thread (only `outbox` is shared).
final class ServerConnection {
    let id: UInt64
    let fd: Int32
    let peer: PeerCredentials
    let outbox: ConnectionOutbox
    /// Received bytes not yet taken as lines; never more than `maxRequestBytes + 1`.
    var input: [UInt8] = []
    /// `input[..<scannedUpTo]` is known to hold no newline.
    private var scannedUpTo = 0
    var lastActivity: ContinuousClock.Instant
    /// When the first byte of the request line now being received arrived (`nil` while
    /// `input` is empty); the line must be complete within `requestTimeout` of it.
    var lineStartedAt: ContinuousClock.Instant?
    var isSubscriber = false
    /// The client shut down its side (read returned 0).
    var inputEnded = false
    /// Set when the connection is to close once its output is flushed (or at this time).
    var closeDeadline: ContinuousClock.Instant?
    /// A request went to the handler and its completion has not been noticed yet.
    var awaitingReply = false
    /// The handler call in flight, cancelled if the client leaves.
    var task: Task<Void, Never>?

    init(id: UInt64, fd: Int32, peer: PeerCredentials, outbox: ConnectionOutbox, now: ContinuousClock.Instant) {
        self.id = id
        self.fd = fd
        self.peer = peer
        self.outbox = outbox
        self.lastActivity = now
    }

    /// What `takeLine` found.
    enum TakenLine {
        case line(ArraySlice<UInt8>)
        case none
        case tooLarge
    }

    /// The index of the first newline in `input`, scanning each byte once over time.
    func firstNewline() -> Int? {
        let found = input[scannedUpTo...].firstIndex(of: UInt8(ascii: "\n"))
        scannedUpTo = found ?? input.count
        return found
    }

    /// Removes and returns the next complete line (without its newline). At end of input a
    /// final unterminated line counts too. A line longer than `limit` is `.tooLarge`.
    func takeLine(limit: Int) -> TakenLine {
        if let newline = firstNewline() {
            guard newline <= limit else { return .tooLarge }
            let line = input[..<newline]
            input.removeFirst(newline + 1)
            scannedUpTo = 0
            // Give back what a long line grew the buffer to, so idle clients stay small.
            if input.isEmpty, input.capacity > Self.retainedInputCapacity { input = [] }
            return .line(line)
        }
        if input.count > limit { return .tooLarge }
        if inputEnded, !input.isEmpty {
            let line = input[...]
            input = []
            scannedUpTo = 0
            return .line(line)
        }
        return .none
    }

    /// Input buffer capacity an idle client keeps.
    static let retainedInputCapacity = 4096

    /// Whether a complete line is waiting (so reading more can wait).
    var hasCompleteLine: Bool { firstNewline() != nil }
}
