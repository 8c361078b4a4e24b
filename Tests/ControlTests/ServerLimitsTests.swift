import Foundation
import Glibc
import Testing
@testable import Control

/// Size, depth, client-count and idle limits: a client can't exhaust or stall the server.
@Suite struct ServerLimitsTests {
    @Test func anOversizedLineIsRejectedAndTheConnectionClosed() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        let padding = String(repeating: "x", count: 70 * 1024)
        try raw.send(#"{"id":1,"cmd":"echo","args":{"p":""# + padding + "\"}}\n")
        let reply = try raw.read()
        #expect(reply?.errorCode == "too_large")
        #expect(try raw.read() == nil)
        // The server is still fine.
        #expect(try server.client().call("hello")["protocol"] == 1)
    }

    @Test func aLineOfExactlyTheLimitIsAccepted() throws {
        let server = try TestServer { $0.maxRequestBytes = 1000 }
        defer { server.stop() }
        let prefix = #"{"id":1,"cmd":"echo","args":{"p":""#
        let suffix = "\"}}"
        let line = prefix + String(repeating: "y", count: 1000 - prefix.utf8.count - suffix.utf8.count) + suffix
        #expect(line.utf8.count == 1000)
        let raw = try server.raw()
        #expect(try raw.exchange(line)["ok"] == true)
        #expect(try raw.exchange(line + " ")["error"]?["code"] == "too_large")
    }

    @Test func tenMegabytesWithoutNewlineAreNeverBuffered() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        // The server stops reading at the limit and closes, so this send fails part way.
        _ = try? raw.send([UInt8](repeating: UInt8(ascii: "a"), count: 10 << 20))
        #expect(try raw.read()?.errorCode == "too_large")
        #expect(try raw.read() == nil)
        let statistics = server.statistics(once: { $0.tooLargeRequests >= 1 })
        #expect(statistics.peakInputBufferBytes <= 64 * 1024 + 1)
        #expect(statistics.tooLargeRequests == 1)
    }

    @Test func deepNestingIsRejectedBeforeParsing() throws {
        // A larger line limit, so the depth check (not the size check) is what answers.
        let server = try TestServer { $0.maxRequestBytes = 256 * 1024 }
        defer { server.stop() }
        let raw = try server.raw()
        try raw.send(String(repeating: "[", count: 100_000) + "\n")
        #expect(try raw.read()?.errorCode == "bad_json")
        let nestedArgs = #"{"id":1,"cmd":"echo","args":{"a":"# + String(repeating: "{\"a\":", count: 70) + "1" + String(repeating: "}", count: 72)
        #expect(try raw.exchange(nestedArgs).errorCode == "bad_json")
        #expect(try raw.exchange(#"{"id":2,"cmd":"hello"}"#)["ok"] == true)
    }

    @Test func clientsBeyondTheLimitAreToldBusy() throws {
        let server = try TestServer { $0.maxClients = 2 }
        defer { server.stop() }
        let first = try server.client()
        let second = try server.client()
        _ = try first.call("hello")
        _ = try second.call("hello")
        #expect(throws: ControlClientError.self) { try server.client().call("hello") }
        do {
            _ = try server.client().call("hello")
        } catch let error as ControlClientError {
            #expect(error == .server(ControlError(.busy, "the daemon already serves 2 clients; try again later")))
            #expect(error.exitCode == 75)
        }
        #expect(server.statistics(once: { $0.refusedBusy >= 2 }).refusedBusy == 2)
        // A freed slot is usable again.
        first.close()
        let deadline = ContinuousClock().now.advanced(by: .seconds(2))
        var answered = false
        while !answered, ContinuousClock().now < deadline {
            answered = (try? server.client().call("hello")) != nil
        }
        #expect(answered)
    }

    @Test func idleClientsAreDisconnectedButSubscribersAreNot() throws {
        // A timeout of 1 s: long enough that a descheduled test thread does not outlast it
        // between connecting and subscribing.
        let server = try TestServer { $0.idleTimeout = .seconds(1) }
        defer { server.stop() }
        let subscriber = try server.client()
        let events = try subscriber.subscribe()
        let idle = try server.raw()
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try idle.read(timeout: .seconds(10)) == nil)
        let waited = clock.now - start
        #expect(waited >= .milliseconds(900) && waited < .seconds(6))
        Thread.sleep(forTimeInterval: 1.0)
        server.server.events.publish(kind: "detection", data: ["id": 1])
        #expect(try events.next(timeout: .seconds(2))?.data == ["id": 1])
        #expect(server.statistics(once: { $0.idleDisconnects >= 1 }).idleDisconnects >= 1)
    }

    @Test func aCommandLongerThanTheIdleTimeoutIsNotCutOff() throws {
        let server = try TestServer { $0.idleTimeout = .seconds(1) }
        defer { server.stop() }
        let raw = try server.raw()
        // Sent at once on connect, so the idle clock can't expire before the request arrives.
        try raw.send(#"{"id":1,"cmd":"sleep","args":{"ms":3000}}"# + "\n")
        #expect(try raw.read()?["result"] == "slept")
    }

    @Test func randomGarbageLinesAreAnsweredWithErrorsAndTheServerSurvives() throws {
        let server = try TestServer()
        defer { server.stop() }
        let raw = try server.raw()
        var generator = SplitMix64(seed: 0x0EDC_A11E)
        let alphabet = Array(#"{}[]":,\ tfn0123456789.eE-+"#.utf8) + [0x00, 0x80, 0xC3, 0xFF, 0x0D]
        for round in 0..<300 {
            let length = Int(generator.next() % 120)
            var garbage = (0..<length).map { _ -> UInt8 in
                generator.next() % 3 == 0 ? UInt8(truncatingIfNeeded: generator.next() % 256) : alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            garbage.removeAll { $0 == UInt8(ascii: "\n") }
            try raw.send(garbage + Array("\n{\"id\":\"probe-\(round)\",\"cmd\":\"hello\"}\n".utf8))
            // Whatever the garbage was, it is answered (or ignored, if blank) before the probe.
            while true {
                let reply = try #require(try raw.read())
                if reply["id"] == .string("probe-\(round)") {
                    #expect(reply["ok"] == true)
                    break
                }
                #expect(reply["ok"] == false)
            }
        }
    }
}
