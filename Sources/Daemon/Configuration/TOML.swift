/// A value of the TOML subset edgecamd's configuration uses.
public enum TOMLValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case float(Double)
    case bool(Bool)
    case array([TOMLValue])

    /// The value written back as TOML (strings quoted, arrays bracketed).
    public var description: String {
        switch self {
        case .string(let text):
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        case .integer(let value): return String(value)
        case .float(let value): return value.isFinite ? String(value) : (value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf"))
        case .bool(let value): return value ? "true" : "false"
        case .array(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// The kind's name, for error messages.
    var kindName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .bool: "a boolean"
        case .array: "an array"
        }
    }
}

/// One `key = value` of a TOML document, with its full dotted key (`table.key`) and line.
public struct TOMLEntry: Sendable, Hashable {
    public var key: String
    public var value: TOMLValue
    /// 1-based line of the key.
    public var line: Int
}

/// Why a TOML text could not be read.
public struct TOMLSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A small TOML reader for configuration files: `[table]` headers (dotted names allowed),
/// `key = value` with bare or quoted keys, basic and literal strings, integers (with `_`,
/// `0x`/`0o`/`0b`), floats (with exponent, `inf`, `nan`), booleans, and arrays (which may span
/// lines and hold comments). Not supported, and reported as errors: inline tables, arrays of
/// tables, multi-line strings, dates. Duplicate keys are errors.
///
/// Hand-written (instead of a TOML package) to keep the daemon's build small and every error
/// tied to a line number.
public enum TOMLParser {
    public static func parse(_ text: String) throws(TOMLSyntaxError) -> [TOMLEntry] {
        var cursor = Cursor(Array(text.unicodeScalars))
        var table = ""
        var entries: [TOMLEntry] = []
        var seen: Set<String> = []
        var tables: Set<String> = []
        while true {
            cursor.skipWhitespaceAndComments(newlines: true)
            guard let c = cursor.peek else { break }
            let line = cursor.line
            if c == "[" {
                cursor.advance()
                if cursor.peek == "[" { throw TOMLSyntaxError(line: line, message: "arrays of tables ([[…]]) are not supported") }
                cursor.skipBlanks()
                let name = try cursor.dottedKey()
                cursor.skipBlanks()
                guard cursor.peek == "]" else { throw TOMLSyntaxError(line: line, message: "expected ']' after table name") }
                cursor.advance()
                guard tables.insert(name).inserted else {
                    throw TOMLSyntaxError(line: line, message: "table [\(name)] is defined twice")
                }
                table = name
            } else {
                let key = try cursor.dottedKey()
                cursor.skipBlanks()
                guard cursor.peek == "=" else { throw TOMLSyntaxError(line: line, message: "expected '=' after key '\(key)'") }
                cursor.advance()
                cursor.skipBlanks()
                let value = try cursor.value()
                let full = table.isEmpty ? key : table + "." + key
                guard seen.insert(full).inserted else {
                    throw TOMLSyntaxError(line: line, message: "key '\(full)' is set twice")
                }
                entries.append(TOMLEntry(key: full, value: value, line: line))
            }
            cursor.skipBlanks()
            if cursor.peek == "#" { cursor.skipComment() }
            if let next = cursor.peek, next != "\n", next != "\r" {
                throw TOMLSyntaxError(line: cursor.line, message: "unexpected '\(next)' after the value; one key per line")
            }
        }
        return entries
    }

    /// Parses a lone value (e.g. `0.3`, `"gradcam"`, `["cat", "dog"]`), as given to `config set`.
    public static func parseValue(_ text: String) throws(TOMLSyntaxError) -> TOMLValue {
        var cursor = Cursor(Array(text.unicodeScalars))
        cursor.skipBlanks()
        let value = try cursor.value()
        cursor.skipWhitespaceAndComments(newlines: true)
        guard cursor.peek == nil else { throw TOMLSyntaxError(line: cursor.line, message: "unexpected text after the value") }
        return value
    }

    private struct Cursor {
        let scalars: [Unicode.Scalar]
        var index = 0
        var line = 1

        init(_ scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var peek: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func advance() {
            if scalars[index] == "\n" { line += 1 }
            index += 1
        }

        mutating func skipBlanks() {
            while let c = peek, c == " " || c == "\t" { advance() }
        }

        mutating func skipComment() {
            while let c = peek, c != "\n" { advance() }
        }

        mutating func skipWhitespaceAndComments(newlines: Bool) {
            while let c = peek {
                if c == " " || c == "\t" || (newlines && (c == "\n" || c == "\r")) { advance() } else if c == "#" { skipComment() } else { break }
            }
        }

        static func isBare(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
        }

        mutating func dottedKey() throws(TOMLSyntaxError) -> String {
            var parts: [String] = []
            while true {
                skipBlanks()
                if peek == "\"" || peek == "'" {
                    parts.append(try string())
                } else {
                    var part = ""
                    while let c = peek, Self.isBare(c) {
                        part.unicodeScalars.append(c)
                        advance()
                    }
                    guard !part.isEmpty else {
                        throw TOMLSyntaxError(line: line, message: peek.map { "unexpected '\($0)' where a key was expected" } ?? "a key was expected")
                    }
                    parts.append(part)
                }
                skipBlanks()
                guard peek == "." else { break }
                advance()
            }
            return parts.joined(separator: ".")
        }

        mutating func value() throws(TOMLSyntaxError) -> TOMLValue {
            guard let c = peek, c != "\n", c != "#" else { throw TOMLSyntaxError(line: line, message: "a value was expected") }
            switch c {
            case "\"", "'": return .string(try string())
            case "[": return try array()
            case "{": throw TOMLSyntaxError(line: line, message: "inline tables are not supported; use a [table]")
            default: return try scalar()
            }
        }

        mutating func array() throws(TOMLSyntaxError) -> TOMLValue {
            let start = line
            advance()  // [
            var values: [TOMLValue] = []
            while true {
                skipWhitespaceAndComments(newlines: true)
                guard let c = peek else { throw TOMLSyntaxError(line: start, message: "array is not closed with ']'") }
                if c == "]" {
                    advance()
                    return .array(values)
                }
                values.append(try value())
                skipWhitespaceAndComments(newlines: true)
                if peek == "," {
                    advance()
                } else if peek != "]" {
                    throw TOMLSyntaxError(line: line, message: "expected ',' or ']' in array")
                }
            }
        }

        mutating func string() throws(TOMLSyntaxError) -> String {
            guard let quote = peek else { throw TOMLSyntaxError(line: line, message: "a string was expected") }
            let start = line
            advance()
            if peek == quote, index + 1 < scalars.count, scalars[index + 1] == quote {
                throw TOMLSyntaxError(line: start, message: "multi-line strings are not supported")
            }
            var out = ""
            while true {
                guard let c = peek, c != "\n" else { throw TOMLSyntaxError(line: start, message: "string is not closed") }
                advance()
                if c == quote { return out }
                if c == "\\" && quote == "\"" {
                    guard let e = peek else { throw TOMLSyntaxError(line: start, message: "string is not closed") }
                    advance()
                    switch e {
                    case "n": out += "\n"
                    case "t": out += "\t"
                    case "r": out += "\r"
                    case "\\": out += "\\"
                    case "\"": out += "\""
                    case "b": out += "\u{8}"
                    case "f": out += "\u{C}"
                    case "u", "U":
                        let count = e == "u" ? 4 : 8
                        var hex = ""
                        for _ in 0..<count {
                            guard let h = peek, h.properties.isASCIIHexDigit else {
                                throw TOMLSyntaxError(line: line, message: "\\\(e) needs \(count) hex digits")
                            }
                            hex.unicodeScalars.append(h)
                            advance()
                        }
                        guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                            throw TOMLSyntaxError(line: line, message: "\\\(e)\(hex) is not a Unicode scalar")
                        }
                        out.unicodeScalars.append(scalar)
                    default:
                        throw TOMLSyntaxError(line: line, message: "unknown escape \\\(e)")
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }

        mutating func scalar() throws(TOMLSyntaxError) -> TOMLValue {
            var token = ""
            while let c = peek, Self.isBare(c) || c == "." || c == "+" {
                token.unicodeScalars.append(c)
                advance()
            }
            guard !token.isEmpty else {
                throw TOMLSyntaxError(line: line, message: "unexpected '\(peek.map(String.init) ?? "end of text")' where a value was expected")
            }
            switch token {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "inf", "+inf": return .float(.infinity)
            case "-inf": return .float(-.infinity)
            case "nan", "+nan", "-nan": return .float(.nan)
            default: break
            }
            let invalid = TOMLSyntaxError(line: line, message: "'\(token)' is not a valid value (strings need quotes)")
            if token.hasPrefix("_") || token.hasSuffix("_") || token.contains("__") { throw invalid }
            let digits = String(token.filter { $0 != "_" })
            for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where digits.hasPrefix(prefix) {
                guard let value = Int64(digits.dropFirst(2), radix: radix) else { throw invalid }
                return .integer(value)
            }
            if let value = Int64(digits) {
                let unsigned = digits.hasPrefix("+") || digits.hasPrefix("-") ? digits.dropFirst() : Substring(digits)
                if unsigned.count > 1 && unsigned.hasPrefix("0") { throw invalid }
                return .integer(value)
            }
            if digits.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), !digits.hasSuffix("."),
               !digits.hasPrefix("."), let value = Double(digits), value.isFinite {
                return .float(value)
            }
            throw invalid
        }
    }
}
