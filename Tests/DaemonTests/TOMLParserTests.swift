import Testing
@testable import Daemon

@Suite("TOML subset parser")
struct TOMLParserTests {
    @Test func readsTablesScalarsAndArraysWithLines() throws {
        let text = """
        # comment
        top = "a \\"quoted\\" \\u00e9"
        [model]
        path = '/opt/m.tflite'   # trailing comment
        threads = 2
        mean = [127, 127.5,
                128e0]   # spans lines
        [detection]
        min_score = -0.25
        big = 1_000
        hex = 0x1F
        on = true
        """
        let entries = try TOMLParser.parse(text)
        #expect(entries.map(\.key) == ["top", "model.path", "model.threads", "model.mean", "detection.min_score", "detection.big",
                                       "detection.hex", "detection.on"])
        #expect(entries[0].value == .string("a \"quoted\" é"))
        #expect(entries[1].value == .string("/opt/m.tflite") && entries[1].line == 4)
        #expect(entries[3].value == .array([.integer(127), .float(127.5), .float(128)]))
        #expect(entries[4].value == .float(-0.25) && entries[5].value == .integer(1000) && entries[6].value == .integer(31))
        #expect(entries[7].value == .bool(true) && entries[7].line == 12)
    }

    @Test(arguments: [
        ("a = ", 1), ("a = b", 1), ("x = 1\ny = \"open", 2), ("[t]\n[t]", 2), ("a = 1\na = 2", 2), ("a = 1 2", 1),
        ("a = {b = 1}", 1), ("[[t]]", 1), ("a = 01", 1), ("a = [1, 2", 1), ("a = 1.", 1),
    ])
    func rejectsMalformedTextWithItsLine(text: String, line: Int) {
        #expect(throws: TOMLSyntaxError.self) { try TOMLParser.parse(text) }
        do {
            _ = try TOMLParser.parse(text)
        } catch {
            #expect(error.line == line, "\(text): \(error)")
        }
    }
}
