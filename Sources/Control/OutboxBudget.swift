import Synchronization

/// The bytes queued for all clients of one server, so that many subscribers that never read
/// cannot together hold more than `limit` (each is also bounded on its own by
/// `ControlServerConfiguration.maxOutgoingBytes`).
///
/// When the budget is spent, a client still gets events while it has less than its fair
/// share (`limit / maxClients`) queued: clients that read keep receiving events however many
/// others have stopped, and the total stays under `2 × limit`. Only events are refused;
/// replies are always queued (the server bounds them per client by not reading a client's
/// next request while its queue is full).
final class OutboxBudget: Sendable {
    /// Queued bytes beyond which events are refused to clients above their fair share.
    let limit: Int
    /// Bytes of events a client may always have queued (within its own limit).
    let fairShare: Int
    private let queued = Atomic<Int>(0)

    init(limit: Int, clients: Int) {
        self.limit = limit
        self.fairShare = max(4096, limit / max(1, clients))
    }

    /// Bytes queued over all clients right now.
    var queuedBytes: Int { queued.load(ordering: .relaxed) }

    /// Whether `count` more bytes of events fit for a client that has `pending` bytes queued.
    func allows(_ count: Int, pending: Int) -> Bool {
        pending + count <= fairShare || queued.load(ordering: .relaxed) + count <= limit
    }

    func add(_ count: Int) {
        queued.add(count, ordering: .relaxed)
    }

    func remove(_ count: Int) {
        queued.subtract(count, ordering: .relaxed)
    }
}
