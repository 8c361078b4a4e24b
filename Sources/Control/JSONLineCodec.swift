import Foundation

/// Reading and writing single lines of the wire protocol.
///
/// Input is checked in cheap passes before it reaches the JSON parser: valid UTF-8, then a
/// nesting-depth scan, so that a line of 100 000 `[` is rejected without recursion.
enum JSONLineCodec {
    /// The deepest nesting of arrays and objects a line may have.
    static let maximumNestingDepth = 64

    /// Whether `bytes` (JSON text) nests arrays/objects deeper than `limit`.
    /// Brackets inside strings don't count. Linear, no allocation.
    static func nestingExceeds(_ limit: Int, in bytes: UnsafeRawBufferPointer) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            default:
                break
            }
        }
        return false
    }

    /// Parses one line (without its newline) into a `JSONValue`, or throws `bad_json`.
    static func decode(line bytes: some Collection<UInt8>) throws(ControlError) -> JSONValue {
        let data = Data(bytes)
        guard String(validating: data, as: UTF8.self) != nil else {
            throw ControlError(.badJSON, "the line is not valid UTF-8")
        }
        let tooDeep = data.withUnsafeBytes { nestingExceeds(maximumNestingDepth, in: $0) }
        if tooDeep {
            throw ControlError(.badJSON, "the line nests arrays/objects deeper than \(maximumNestingDepth) levels")
        }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ControlError(.badJSON, "the line is not valid JSON")
        }
    }

    /// Encodes `value` as compact JSON followed by a newline. JSON escapes control
    /// characters inside strings, so the only newline is the terminator.
    static func encodeLine<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = [UInt8](try encoder.encode(value))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}
