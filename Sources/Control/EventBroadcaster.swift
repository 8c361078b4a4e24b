import Locking

/// Fans live events out to the clients that sent `subscribe`.
///
/// The daemon calls `publish(kind:data:)` from any thread; it returns at once. Each event
/// is encoded once and appended to every matching subscriber's bounded queue; a subscriber
/// whose queue is full loses the event (counted, and later announced to it with a
/// `{"event":"dropped","data":{"count":N}}` line). Publishing never blocks on a client.
public final class EventBroadcaster: Sendable {
    /// Counters since the broadcaster was made.
    public struct Statistics: Sendable, Hashable {
        /// `publish` calls that had at least one matching subscriber.
        public var published = 0
        /// Event lines queued to subscribers (one event to three clients counts three).
        public var delivered = 0
        /// Event lines dropped because a subscriber's queue was full.
        public var dropped = 0
    }

    private struct Subscriber {
        /// `nil` means every kind.
        var kinds: Set<String>?
        var outbox: ConnectionOutbox
    }

    private let subscribers = PThreadMutex<[UInt64: Subscriber]>([:])
    private let counters = PThreadMutex(Statistics())

    public init() {}

    /// Sends `{"event": kind, "data": data}` to every subscriber that asked for `kind`.
    /// Events with non-finite numbers cannot be encoded and are dropped (and counted).
    public func publish(kind: String, data: JSONValue) {
        let targets = subscribers.withLock { subscribers in
            subscribers.values.compactMap { subscriber -> ConnectionOutbox? in
                guard subscriber.kinds?.contains(kind) ?? true else { return nil }
                return subscriber.outbox
            }
        }
        guard !targets.isEmpty else { return }
        guard let line = try? JSONLineCodec.encodeLine(ControlEvent(kind: kind, data: data)) else {
            counters.withLock { $0.dropped += targets.count }
            return
        }
        var delivered = 0
        var wakeups: [ObjectIdentifier: Wakeup] = [:]
        for outbox in targets where outbox.enqueueEvent(line) {
            delivered += 1
            wakeups[ObjectIdentifier(outbox.wakeup)] = outbox.wakeup
        }
        for wakeup in wakeups.values { wakeup.signal() }
        counters.withLock {
            $0.published += 1
            $0.delivered += delivered
            $0.dropped += targets.count - delivered
        }
    }

    /// Encodes `value` (e.g. a store record) and publishes it.
    public func publish<T: Encodable>(kind: String, encoding value: T) throws {
        publish(kind: kind, data: try JSONValue(encoding: value))
    }

    /// How many clients are subscribed right now.
    public var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// Event counters.
    public var statistics: Statistics { counters.withLock { $0 } }

    func add(connection id: UInt64, kinds: Set<String>?, outbox: ConnectionOutbox) {
        subscribers.withLock { $0[id] = Subscriber(kinds: kinds, outbox: outbox) }
    }

    func remove(connection id: UInt64) {
        _ = subscribers.withLock { $0.removeValue(forKey: id) }
    }
}
