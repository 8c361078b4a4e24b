/// The `id` of a request, echoed unchanged in its response: a string or a number.
public enum RequestID: Sendable, Hashable, Codable, CustomStringConvertible {
    case string(String)
    case number(Double)

    /// The id as a `JSONValue`, or `nil` for anything JSON can hold that is not a valid id
    /// (`null`, Booleans, arrays, objects, non-finite numbers).
    public init?(_ value: JSONValue) {
        switch value {
        case .string(let text): self = .string(text)
        case .number(let number) where number.isFinite: self = .number(number)
        default: return nil
        }
    }

    public var jsonValue: JSONValue {
        switch self {
        case .string(let text): .string(text)
        case .number(let number): .number(number)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try jsonValue.encode(to: encoder)
    }

    public var description: String { jsonValue.jsonText }
}
