import Foundation
import Testing
@testable import Control

@Suite struct ControlClientTests {
    @Test func aMissingSocketSaysTheDaemonIsNotRunning() {
        let path = "/tmp/ctl-absent-\(getpid())/control.sock"
        do {
            _ = try ControlClient(socketPath: path)
            Issue.record("connected to nothing")
        } catch {
            #expect(error == .notRunning(path: path))
            #expect(error.description == "edgecamd is not running (no socket at \(path))")
            #expect(error.exitCode == 69)
        }
    }

    @Test func messagesTellTheUserWhatToDo() {
        #expect(ControlClientError.permissionDenied(path: "/run/edgecam/control.sock").description
            .hasPrefix("permission denied on /run/edgecam/control.sock: add your user to the edgecam group"))
        #expect(ControlClientError.permissionDenied(path: "/x").exitCode == 77)
        #expect(ControlClientError.staleSocket(path: "/x").description.contains("stale socket at /x"))
        #expect(ControlClientError.server(.notFound("no detection 4")).description == "no detection 4")
        #expect(ControlClientError.server(.notFound("no detection 4")).exitCode == 66)
        #expect(ControlClientError.server(.badArguments("args.limit …")).exitCode == 64)
    }

    @Test func callsTimeOut() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        #expect(throws: ControlClientError.timedOut(command: "sleep", after: .milliseconds(100))) {
            try client.call("sleep", arguments: ["ms": 600], timeout: .milliseconds(100))
        }
        // The late reply to the timed-out call is skipped, not mistaken for the next one.
        #expect(try client.call("add", arguments: ["a": 1, "b": 1]) == 2)
    }

    @Test func eventsThatArriveDuringACallAreKept() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = try server.client()
        _ = try client.subscribe()
        server.server.events.publish(kind: "detection", data: ["id": 1])
        Thread.sleep(forTimeInterval: 0.05)
        #expect(try client.call("echo", arguments: ["k": "v"]) == ["k": "v"])
        #expect(try client.nextEvent(timeout: .seconds(1)) == ControlEvent(kind: "detection", data: ["id": 1]))
    }
}

@Suite struct ControlSocketPathTests {
    @Test func theFlagWinsThenTheEnvironmentThenTheRuntimeDirectory() {
        let environment = ["EDGECAM_SOCKET": "/tmp/env.sock", "RUNTIME_DIRECTORY": "/run/edgecam-x"]
        #expect(ControlSocketPath.resolve(explicit: "/tmp/flag.sock", environment: environment) == "/tmp/flag.sock")
        #expect(ControlSocketPath.resolve(explicit: nil, environment: environment) == "/tmp/env.sock")
        #expect(ControlSocketPath.resolve(explicit: "", environment: ["RUNTIME_DIRECTORY": "/run/a/:/run/b"]) == "/run/a/control.sock")
        #expect(ControlSocketPath.resolve(explicit: nil, environment: ["EDGECAM_SOCKET": ""]) == "/run/edgecam/control.sock")
        #expect(ControlSocketPath.resolve(explicit: nil, environment: [:]) == "/run/edgecam/control.sock")
    }
}
