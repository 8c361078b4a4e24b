/// One request from a client: `{"id": …, "cmd": "<name>", "args": {…}}`.
public struct ControlRequest: Sendable, Hashable {
    /// Echoed in the response so that clients can match replies to requests.
    public var id: RequestID
    /// The command name, e.g. `"status"` or `"detections"`.
    public var command: String
    /// The `args` object (empty when the request has none).
    public var arguments: ControlArguments

    public init(id: RequestID, command: String, arguments: ControlArguments = ControlArguments()) {
        self.id = id
        self.command = command
        self.arguments = arguments
    }

    /// Validates a parsed line as a request. On failure returns the id (when one could be
    /// read, so the error reply can carry it) and a `bad_request` error.
    static func parse(_ value: JSONValue) -> Result<ControlRequest, RejectedRequest> {
        guard case .object(let members) = value else {
            return .failure(RejectedRequest(id: nil, error: ControlError(.badRequest, "a request must be a JSON object")))
        }
        guard let rawID = members["id"] else {
            return .failure(RejectedRequest(id: nil, error: ControlError(.badRequest, "the request has no \"id\"")))
        }
        guard let id = RequestID(rawID) else {
            return .failure(RejectedRequest(id: nil, error: ControlError(.badRequest, "\"id\" must be a string or a finite number")))
        }
        guard let rawCommand = members["cmd"] else {
            return .failure(RejectedRequest(id: id, error: ControlError(.badRequest, "the request has no \"cmd\"")))
        }
        guard case .string(let command) = rawCommand, !command.isEmpty else {
            return .failure(RejectedRequest(id: id, error: ControlError(.badRequest, "\"cmd\" must be a non-empty string")))
        }
        var arguments: [String: JSONValue] = [:]
        switch members["args"] {
        case nil, .null?: break
        case .object(let values)?: arguments = values
        default:
            return .failure(RejectedRequest(id: id, error: ControlError(.badRequest, "\"args\" must be an object")))
        }
        return .success(ControlRequest(id: id, command: command, arguments: ControlArguments(arguments)))
    }
}

/// A line that is JSON but not a valid request.
struct RejectedRequest: Error {
    var id: RequestID?
    var error: ControlError
}
