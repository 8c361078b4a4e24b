import Foundation
import Glibc
import Testing
@testable import Control

/// Request/response behaviour of a live server on a temporary socket.
@Suite struct ServerProtocolTests {
    @Test func helloReportsProtocolServerVersionAndCommands() throws {
        let server = try TestServer()
        defer { server.stop() }
        let hello = try server.client().call("hello")
        #expect(hello["protocol"] == 1)
        #expect(hello["server"] == "edgecamd")
        #expect(hello["version"] == "9.9.9-test")
        #expect(hello["commands"] == ["add", "crash", "echo", "hello", "missing", "nan", "sleep", "subscribe"])
    }

    @Test func repliesEchoStringAndNumericIDsExactly() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        try raw.send(#"{"id":"req-1","cmd":"echo","args":{"x":[1,2]}}"# + "\n")
        #expect(try raw.readText() == #"{"id":"req-1","ok":true,"result":{"x":[1,2]}}"#)
        try raw.send(#"{"id":7,"cmd":"add","args":{"a":2,"b":3}}"# + "\n")
        #expect(try raw.readText() == #"{"id":7,"ok":true,"result":5}"#)
        try raw.send(#"{"id":-1.5,"cmd":"echo"}"# + "\n")
        #expect(try raw.readText() == #"{"id":-1.5,"ok":true,"result":{}}"#)
    }

    @Test func malformedJSONIsAnsweredAndTheConnectionStaysUsable() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        let reply = try raw.exchange(#"{"id":1,"cmd":"hello""#)
        #expect(reply["ok"] == false)
        #expect(reply["id"] == nil as JSONValue)
        #expect(reply.errorCode == "bad_json")
        #expect(try raw.exchange(#"{"id":2,"cmd":"hello"}"#)["ok"] == true)
    }

    @Test func invalidUTF8IsBadJSONAndTheConnectionStaysUsable() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        try raw.send(Array(#"{"id":1,"cmd":""#.utf8) + [0xFF, 0xFE] + Array("\"}\n".utf8))
        #expect(try raw.read()?.errorCode == "bad_json")
        #expect(try raw.exchange(#"{"id":2,"cmd":"hello"}"#)["ok"] == true)
    }

    @Test(arguments: [
        ("[1,2]", nil as JSONValue?),
        (#""hello""#, nil),
        (#"{"cmd":"hello"}"#, nil),
        (#"{"id":true,"cmd":"hello"}"#, nil),
        (#"{"id":{"a":1},"cmd":"hello"}"#, nil),
        (#"{"id":3}"#, 3),
        (#"{"id":4,"cmd":5}"#, 4),
        (#"{"id":"s","cmd":""}"#, "s"),
        (#"{"id":6,"cmd":"echo","args":[1]}"#, 6),
    ])
    func requestsOfTheWrongShapeAreBadRequest(line: String, expectedID: JSONValue?) throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        let reply = try raw.exchange(line)
        #expect(reply.errorCode == "bad_request")
        #expect(reply["id"] == (expectedID ?? .null))
        #expect(try raw.exchange(#"{"id":2,"cmd":"hello"}"#)["ok"] == true)
    }

    @Test func unknownCommandsAreNamedInTheError() throws {
        let server = try TestServer()
        defer { server.stop() }
        let reply = try server.raw().exchange(#"{"id":1,"cmd":"explode"}"#)
        #expect(reply.errorCode == "unknown_command")
        #expect(reply["error"]?["message"]?.stringValue?.contains("'explode'") == true)
    }

    @Test func badArgumentsNameTheField() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        #expect(throws: ControlClientError.server(.badArguments("args.a must be an integer between 0 and 1000"))) {
            try client.call("add", arguments: ["a": "two", "b": 1])
        }
        #expect(throws: ControlClientError.server(.badArguments("args.b is required"))) {
            try client.call("add", arguments: ["a": 1])
        }
        #expect(try client.call("add", arguments: ["a": 1000, "b": 0]) == 1000)
    }

    @Test func handlerErrorsKeepTheirCodeAndOthersBecomeInternal() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        #expect(throws: ControlClientError.server(.notFound("detection 9 does not exist"))) { try client.call("missing") }
        for command in ["crash", "nan"] {
            do {
                _ = try client.call(command)
                Issue.record("\(command) succeeded")
            } catch {
                guard case .server(let serverError) = error else { Issue.record("\(error)"); continue }
                #expect(serverError.code == .internalError)
            }
        }
        #expect(try client.call("hello")["protocol"] == 1)
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        try raw.send("""
            {"id":1,"cmd":"sleep","args":{"ms":150}}
            {"id":2,"cmd":"echo"}

            {"id":3,"cmd":"hello"}\r

            """)
        #expect(try raw.read()?["id"] == 1)
        #expect(try raw.read()?["id"] == 2)
        #expect(try raw.read()?["id"] == 3)
    }

    @Test func aClientThatHalfClosesStillGetsItsReply() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        // No trailing newline: the last line ends with the stream.
        try raw.send(#"{"id":1,"cmd":"sleep","args":{"ms":50}}"#)
        _ = shutdown(raw.connection.fd, Int32(SHUT_WR))
        #expect(try raw.read()?["result"] == "slept")
        #expect(try raw.read() == nil)
    }

    @Test func aSlowCommandDoesNotStallOtherClients() throws {
        let server = try TestServer()
        defer { server.stop() }
        let slow = try server.raw()
        try slow.send(#"{"id":1,"cmd":"sleep","args":{"ms":3000}}"# + "\n")
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for _ in 0..<5 { _ = try server.client().call("hello") }
        }
        // Stalled behind the sleep, the five would take 3 s; a loaded machine may take a second.
        #expect(elapsed < .milliseconds(2000))
        #expect(try slow.read()?["result"] == "slept")
    }
}
