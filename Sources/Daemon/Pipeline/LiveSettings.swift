import Locking

/// The configuration in force, readable from every thread; `config.set` and SIGHUP replace it.
public final class LiveSettings: Sendable {
    private let value: PThreadMutex<DaemonConfiguration>

    public init(_ configuration: DaemonConfiguration) {
        value = PThreadMutex(configuration)
    }

    public var current: DaemonConfiguration { value.withLock { $0 } }

    public func update(_ body: (inout DaemonConfiguration) -> Void) {
        value.withLock { body(&$0) }
    }
}
