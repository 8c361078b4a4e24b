/// Counters a `ControlServer` keeps, for `status` and for tests.
public struct ControlServerStatistics: Sendable, Hashable {
    /// Connections accepted and served (refused ones not included).
    public var acceptedConnections = 0
    /// Connections open right now.
    public var currentClients = 0
    /// Connections refused with `busy` (too many clients).
    public var refusedBusy = 0
    /// Connections refused with `forbidden` (peer credentials not allowed).
    public var refusedForbidden = 0
    /// Request lines answered (including errors).
    public var requests = 0
    /// Lines rejected with `too_large`.
    public var tooLargeRequests = 0
    /// Clients disconnected for being idle.
    public var idleDisconnects = 0
    /// Clients disconnected with `too_slow` (a request line took longer than `requestTimeout`).
    public var slowRequests = 0
    /// Connections refused with `busy` because the process had run out of descriptors.
    public var refusedNoDescriptors = 0
    /// Output bytes queued for all clients now, and the most ever (bounded by
    /// `maxTotalOutgoingBytes` plus the replies in flight).
    public var queuedOutputBytes = 0
    public var peakQueuedOutputBytes = 0
    /// The soft open-file limit after `start()` raised it (`nil` = unlimited or unknown).
    public var descriptorLimit: Int?
    /// The most request bytes ever buffered for one client (at most `maxRequestBytes + 1`).
    public var peakInputBufferBytes = 0
    /// `accept` failures from running out of file descriptors or memory.
    public var acceptFailures = 0

    public init() {}
}
