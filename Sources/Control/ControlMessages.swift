// The lines a server writes, as they appear on the wire.

/// `{"id": …, "ok": true, "result": …}` or `{"id": …, "ok": false, "error": {…}}`.
/// `id` is `null` when the request's id could not be read.
struct ResponseLine: Encodable {
    var id: RequestID?
    var outcome: Result<JSONValue, ControlError>

    private enum CodingKeys: String, CodingKey { case id, ok, result, error }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let id { try container.encode(id, forKey: .id) } else { try container.encodeNil(forKey: .id) }
        switch outcome {
        case .success(let result):
            try container.encode(true, forKey: .ok)
            try container.encode(result, forKey: .result)
        case .failure(let error):
            try container.encode(false, forKey: .ok)
            try container.encode(error, forKey: .error)
        }
    }

    /// The encoded line. A result that cannot be encoded (a NaN from a handler) becomes an
    /// `internal` error rather than a dropped reply.
    func encoded() -> [UInt8] {
        if let line = try? JSONLineCodec.encodeLine(self) { return line }
        let fallback = ResponseLine(id: id, outcome: .failure(.internalError("the result could not be encoded as JSON (a non-finite number?)")))
        return (try? JSONLineCodec.encodeLine(fallback)) ?? Array("{\"id\":null,\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"encoding failed\"}}\n".utf8)
    }
}

/// An event pushed to subscribers: `{"event": "<kind>", "data": {…}}`.
public struct ControlEvent: Sendable, Hashable, Codable {
    /// The event kind, e.g. `"detection"`, `"camera"`, or `"dropped"` (the server's notice
    /// that `data.count` events were discarded because the client was not reading).
    public var kind: String
    /// The event payload.
    public var data: JSONValue

    public init(kind: String, data: JSONValue) {
        self.kind = kind
        self.data = data
    }

    private enum CodingKeys: String, CodingKey {
        case kind = "event"
        case data
    }

    /// The kind of the server's drop notice.
    public static let droppedKind = "dropped"
}
