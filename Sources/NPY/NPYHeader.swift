/// The three keys of a `.npy` header dictionary, parsed from its Python-literal text,
/// e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
///
/// A tiny tokenizer rather than a general literal parser: the format allows exactly
/// these keys with string, bool and tuple-of-int values, and anything else is an error.
struct NPYHeader {
    var descriptor: String
    var fortranOrder: Bool
    var shape: [Int]

    init(parsing text: String) throws(NPYError) {
        var scanner = Scanner(Array(text.utf8))
        var descriptor: String?
        var fortranOrder: Bool?
        var shape: [Int]?
        try scanner.expect(UInt8(ascii: "{"))
        while true {
            scanner.skipSpaces()
            if scanner.consume(UInt8(ascii: "}")) { break }
            let key = try scanner.string()
            try scanner.expect(UInt8(ascii: ":"))
            switch key {
            case "descr": descriptor = try scanner.string()
            case "fortran_order": fortranOrder = try scanner.bool()
            case "shape": shape = try scanner.tuple()
            default: throw NPYError.malformedHeader("unexpected key '\(key)'")
            }
            scanner.skipSpaces()
            if scanner.consume(UInt8(ascii: ",")) { continue }
            try scanner.expect(UInt8(ascii: "}"))
            break
        }
        guard let descriptor, let fortranOrder, let shape else {
            throw NPYError.malformedHeader("'descr', 'fortran_order' and 'shape' are all required")
        }
        self.descriptor = descriptor
        self.fortranOrder = fortranOrder
        self.shape = shape
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpaces() {
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x0A || bytes[position] == 0x09 {
                position += 1
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipSpaces()
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func expect(_ byte: UInt8) throws(NPYError) {
            guard consume(byte) else {
                throw NPYError.malformedHeader("expected '\(Character(Unicode.Scalar(byte)))' at offset \(position)")
            }
        }

        mutating func string() throws(NPYError) -> String {
            skipSpaces()
            guard position < bytes.count, bytes[position] == 0x27 || bytes[position] == 0x22 else {
                throw NPYError.malformedHeader("expected a quoted string at offset \(position)")
            }
            let quote = bytes[position]
            position += 1
            let start = position
            while position < bytes.count, bytes[position] != quote { position += 1 }
            guard position < bytes.count else { throw NPYError.malformedHeader("unterminated string") }
            let value = String(decoding: bytes[start..<position], as: UTF8.self)
            position += 1
            return value
        }

        mutating func bool() throws(NPYError) -> Bool {
            skipSpaces()
            for (word, value) in [("True", true), ("False", false)] {
                let utf8 = Array(word.utf8)
                if position + utf8.count <= bytes.count, Array(bytes[position..<position + utf8.count]) == utf8 {
                    position += utf8.count
                    return value
                }
            }
            throw NPYError.malformedHeader("expected True or False at offset \(position)")
        }

        mutating func tuple() throws(NPYError) -> [Int] {
            try expect(UInt8(ascii: "("))
            var values: [Int] = []
            while true {
                if consume(UInt8(ascii: ")")) { return values }
                values.append(try integer())
                if consume(UInt8(ascii: ",")) { continue }
                try expect(UInt8(ascii: ")"))
                return values
            }
        }

        mutating func integer() throws(NPYError) -> Int {
            skipSpaces()
            var value = 0
            let start = position
            while position < bytes.count, (0x30...0x39).contains(bytes[position]) {
                let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = shifted.addingReportingOverflow(Int(bytes[position] - 0x30))
                guard !overflowA, !overflowB else { throw NPYError.malformedHeader("dimension too large") }
                value = sum
                position += 1
            }
            // NumPy may write Python 2 longs as "3L".
            if position < bytes.count, bytes[position] == UInt8(ascii: "L") { position += 1 }
            guard position > start else { throw NPYError.malformedHeader("expected a dimension at offset \(start)") }
            return value
        }
    }
}
