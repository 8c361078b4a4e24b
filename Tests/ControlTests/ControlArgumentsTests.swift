import Testing
@testable import Control

@Suite struct ControlArgumentsTests {
    let arguments = ControlArguments([
        "limit": 50, "big": 5000, "half": 2.5, "label": "person", "flag": true,
        "kinds": ["detection", "camera"], "mixed": ["a", 1], "nothing": nil, "id": 9_007_199_254_740_992,
    ])

    private func message(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as ControlError {
            #expect(error.code == .badArguments)
            return error.message
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func readsWellTypedValues() throws {
        #expect(try arguments.integer("limit", in: 1...1000) == 50)
        #expect(try arguments.number("half", in: 0...10) == 2.5)
        #expect(try arguments.string("label") == "person")
        #expect(try arguments.bool("flag") == true)
        #expect(try arguments.strings("kinds") == ["detection", "camera"])
        #expect(try arguments.int64("id", minimum: 1) == 9_007_199_254_740_992)
        #expect(try arguments.string("label", oneOf: ["person", "car"]) == "person")
    }

    @Test func absentAndNullAreNil() throws {
        #expect(try arguments.integer("absent") == nil)
        #expect(try arguments.string("nothing") == nil)
    }

    @Test func errorsNameTheFieldAndTheRule() {
        #expect(message { _ = try arguments.integer("big", in: 1...1000) } == "args.big must be an integer between 1 and 1000")
        #expect(message { _ = try arguments.integer("half", in: 1...1000) } == "args.half must be an integer between 1 and 1000")
        #expect(message { _ = try arguments.integer("label", in: 1...Int.max) } == "args.label must be an integer of at least 1")
        #expect(message { _ = try arguments.number("big", in: 0...1) } == "args.big must be a number between 0 and 1")
        #expect(message { _ = try arguments.string("limit") } == "args.limit must be a string")
        #expect(message { _ = try arguments.bool("limit") } == "args.limit must be true or false")
        #expect(message { _ = try arguments.strings("mixed") } == "args.mixed must be an array of strings")
        #expect(message { _ = try arguments.requiredString("absent") } == "args.absent is required")
        #expect(message { _ = try arguments.string("label", oneOf: ["car", "bus"]) } == "args.label must be one of car, bus")
        #expect(message { try ControlArguments(["limt": 1]).rejectUnknown(allowing: ["limit"]) }
            == "unknown argument args.limt; known: args.limit")
    }
}
