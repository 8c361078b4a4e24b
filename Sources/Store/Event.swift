import Foundation

/// What happened to the camera or the daemon. A struct rather than an enum so that new kinds
/// can be logged without breaking readers; JSON: the raw string.
public struct EventKind: RawRepresentable, Sendable, Codable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public static let start = EventKind("start")
    public static let stop = EventKind("stop")
    public static let connect = EventKind("connect")
    public static let disconnect = EventKind("disconnect")
    public static let error = EventKind("error")
    public static let config = EventKind("config")
    public static let pause = EventKind("pause")
    public static let resume = EventKind("resume")

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A camera or daemon event to log.
public struct NewEvent: Sendable, Equatable {
    /// Unix milliseconds.
    public var time: Int64
    public var kind: EventKind
    public var message: String
    /// Extra key/value context (device path, error code, changed config key, ...).
    public var details: [String: String]?

    public init(time: Int64, kind: EventKind, message: String, details: [String: String]? = nil) {
        self.time = time
        self.kind = kind
        self.message = message
        self.details = details
    }
}

/// A logged event. JSON: `id`, `time` (Unix ms), `kind`, `message`, `details` (object or null).
public struct Event: Sendable, Codable, Equatable, Hashable, Identifiable {
    public var id: Int64
    public var time: Int64
    public var kind: EventKind
    public var message: String
    public var details: [String: String]?

    public init(id: Int64, time: Int64, kind: EventKind, message: String, details: [String: String]?) {
        self.id = id
        self.time = time
        self.kind = kind
        self.message = message
        self.details = details
    }

    enum CodingKeys: String, CodingKey { case id, time, kind, message, details }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(time, forKey: .time)
        try container.encode(kind, forKey: .kind)
        try container.encode(message, forKey: .message)
        try container.encode(details, forKey: .details)
    }
}
