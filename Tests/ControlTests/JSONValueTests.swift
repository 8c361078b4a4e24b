import Foundation
import Testing
@testable import Control

@Suite struct JSONValueTests {
    @Test func decodesEachJSONTypeDistinctly() throws {
        let value = try JSONLineCodec.decode(line: Array(#"{"t":true,"f":false,"one":1,"half":0.5,"s":"x","n":null,"a":[1,"2"]}"#.utf8))
        #expect(value == ["t": true, "f": false, "one": 1, "half": 0.5, "s": "x", "n": nil, "a": [1, "2"]])
        // A JSON 1 is a number, never a Boolean, and true is never a number.
        #expect(value["one"]?.boolValue == nil)
        #expect(value["t"]?.doubleValue == nil)
    }

    @Test func writesIntegersWithoutFraction() throws {
        let value: JSONValue = ["id": 7, "x": 2.5, "s": "a/b"]
        let line = try JSONLineCodec.encodeLine(value)
        #expect(String(decoding: line, as: UTF8.self) == "{\"id\":7,\"s\":\"a/b\",\"x\":2.5}\n")
    }

    @Test func prettyTextIsIndentedAndSorted() {
        let value: JSONValue = ["b": [1], "a": nil]
        #expect(value.prettyJSONText == "{\n  \"a\" : null,\n  \"b\" : [\n    1\n  ]\n}")
        #expect(value.jsonText == #"{"a":null,"b":[1]}"#)
    }

    @Test func encodedLinesHaveOneNewlineEvenWithNewlinesInStrings() throws {
        let line = try JSONLineCodec.encodeLine(JSONValue.string("a\nb\r\nc"))
        #expect(line.filter { $0 == UInt8(ascii: "\n") }.count == 1)
        #expect(line.last == UInt8(ascii: "\n"))
    }

    @Test func intValueRequiresAnExactInteger() {
        #expect(JSONValue.number(3).intValue == 3)
        #expect(JSONValue.number(3.5).intValue == nil)
        #expect(JSONValue.number(1e300).intValue == nil)
        #expect(JSONValue.string("3").intValue == nil)
    }

    @Test func convertsEncodableValuesBothWays() throws {
        struct Detection: Codable, Equatable { var id: Int64; var label: String; var score: Double }
        let detection = Detection(id: 12, label: "person", score: 0.75)
        let value = try JSONValue(encoding: detection)
        #expect(value == ["id": 12, "label": "person", "score": 0.75])
        #expect(try value.decode(as: Detection.self) == detection)
    }

    @Test func nestingScanCountsOnlyStructuralBrackets() {
        func exceeds(_ text: String, _ limit: Int) -> Bool {
            Array(text.utf8).withUnsafeBytes { JSONLineCodec.nestingExceeds(limit, in: $0) }
        }
        let depth64 = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let depth65 = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(!exceeds(depth64, 64))
        #expect(exceeds(depth65, 64))
        #expect(!exceeds(#"["[[[[", "\"[[[[", {"a": "{{{{"}]"#, 2))
        #expect(exceeds(#"{"a": {"b": {"c": 1}}}"#, 2))
        #expect(!exceeds(#"{"a": {"b": {"c": 1}}}"#, 3))
    }

    @Test func rejectsInvalidUTF8AndDeepNestingAsBadJSON() {
        #expect(throws: ControlError.self) { try JSONLineCodec.decode(line: [0x22, 0xC3, 0x28, 0x22]) }
        do {
            _ = try JSONLineCodec.decode(line: Array(repeating: UInt8(ascii: "["), count: 100_000))
            Issue.record("deep nesting was accepted")
        } catch {
            #expect(error.code == .badJSON)
            #expect(error.message.contains("64"))
        }
    }
}
