/// A stable, machine-readable error code of the control protocol.
///
/// Scripts match on these strings, so existing codes never change meaning; new ones may
/// be added (the type is a struct, not an enum, for that reason).
public struct ControlErrorCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The line is not valid UTF-8 or not valid JSON, or nests deeper than 64 levels.
    public static let badJSON = ControlErrorCode(rawValue: "bad_json")
    /// Valid JSON, but not a request: not an object, or `id`/`cmd`/`args` missing or mistyped.
    public static let badRequest = ControlErrorCode(rawValue: "bad_request")
    /// `cmd` names no command this server knows (see `hello`).
    public static let unknownCommand = ControlErrorCode(rawValue: "unknown_command")
    /// An argument is missing, of the wrong type or out of range; the message names it.
    public static let badArguments = ControlErrorCode(rawValue: "bad_args")
    /// The request line is longer than the server's limit; the connection is closed.
    public static let tooLarge = ControlErrorCode(rawValue: "too_large")
    /// The request line did not arrive whole within the server's time limit; the connection is closed.
    public static let tooSlow = ControlErrorCode(rawValue: "too_slow")
    /// The peer is not allowed to use this socket (or this command).
    public static let forbidden = ControlErrorCode(rawValue: "forbidden")
    /// The server has as many clients as it accepts; try again later.
    public static let busy = ControlErrorCode(rawValue: "busy")
    /// The command cannot run now (e.g. no camera frame yet, daemon shutting down).
    public static let unavailable = ControlErrorCode(rawValue: "unavailable")
    /// A bug or unexpected failure in the daemon; the message says what failed.
    public static let internalError = ControlErrorCode(rawValue: "internal")
    /// The thing the request names (a detection id, a file) does not exist.
    public static let notFound = ControlErrorCode(rawValue: "not_found")

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}

/// An error reply: a stable `code` and a message for a person.
///
/// Handlers throw it to answer a request with an error; the client throws it (wrapped in
/// `ControlClientError.server`) when the daemon answers with one.
public struct ControlError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: ControlErrorCode
    public var message: String

    public init(_ code: ControlErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(message) [\(code.rawValue)]" }

    /// `bad_args` with `message`, e.g. `"args.limit must be an integer between 1 and 1000"`.
    public static func badArguments(_ message: String) -> ControlError { ControlError(.badArguments, message) }
    /// `not_found` with `message`.
    public static func notFound(_ message: String) -> ControlError { ControlError(.notFound, message) }
    /// `unavailable` with `message`.
    public static func unavailable(_ message: String) -> ControlError { ControlError(.unavailable, message) }
    /// `forbidden` with `message`.
    public static func forbidden(_ message: String) -> ControlError { ControlError(.forbidden, message) }
    /// `internal` with `message`.
    public static func internalError(_ message: String) -> ControlError { ControlError(.internalError, message) }
}
