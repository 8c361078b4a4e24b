/// Why the daemon could not start or a stage failed, with a message for the log.
public enum DaemonError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model or labels file is unusable.
    case model(String)
    /// A configuration value does not fit the model or the machine.
    case configuration(String)
    /// The frame source could not be opened.
    case source(String)
    /// The database could not be opened or written.
    case store(String)
    /// The control socket could not be made.
    case control(String)
    /// One frame could not be decoded or prepared (the pipeline skips it).
    case frame(String)
    /// An explanation failed.
    case explain(String)

    public var description: String {
        switch self {
        case .model(let message): "model: \(message)"
        case .configuration(let message): "configuration: \(message)"
        case .source(let message): "source: \(message)"
        case .store(let message): "store: \(message)"
        case .control(let message): "control socket: \(message)"
        case .frame(let message): "frame: \(message)"
        case .explain(let message): "explain: \(message)"
        }
    }
}
