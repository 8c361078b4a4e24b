import Foundation
import Glibc
import Testing
@testable import Control

/// A short temporary directory (socket paths must fit in 108 bytes), removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/ctl-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard made != nil else { throw TestFailure("mkdtemp failed: errno \(errno)") }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    var socketPath: String { path + "/control.sock" }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Commands with known answers, for driving the server.
struct TestHandler: ControlHandler {
    var commands: [String] { ["echo", "add", "sleep", "missing", "crash", "nan"] }

    struct Crash: Error {}

    func handle(_ request: ControlRequest, peer: PeerCredentials) async throws -> JSONValue {
        switch request.command {
        case "echo":
            return .object(request.arguments.values)
        case "add":
            try request.arguments.rejectUnknown(allowing: ["a", "b"])
            let a = try request.arguments.requiredInteger("a", in: 0...1000)
            let b = try request.arguments.requiredInteger("b", in: 0...1000)
            return .number(Double(a + b))
        case "sleep":
            let milliseconds = try request.arguments.integer("ms", in: 0...5000) ?? 100
            try await Task.sleep(for: .milliseconds(milliseconds))
            return "slept"
        case "missing":
            throw ControlError.notFound("detection 9 does not exist")
        case "crash":
            throw Crash()
        case "nan":
            return .number(.nan)
        default:
            throw ControlError(.unknownCommand, request.command)
        }
    }
}

/// A running server on a fresh temporary socket; `stop()` tears everything down.
final class TestServer {
    let directory: TemporaryDirectory
    let server: ControlServer
    var path: String { server.configuration.socketPath }

    init(_ adjust: (inout ControlServerConfiguration) -> Void = { _ in }) throws {
        directory = try TemporaryDirectory()
        var configuration = ControlServerConfiguration(socketPath: directory.socketPath)
        configuration.serverVersion = "9.9.9-test"
        adjust(&configuration)
        server = ControlServer(configuration: configuration, handler: TestHandler())
        try server.start()
    }

    func stop() {
        server.stop()
        directory.remove()
    }

    func client() throws -> ControlClient {
        try ControlClient(socketPath: path, timeout: .seconds(5))
    }

    func raw() throws -> RawClient {
        try RawClient(path: path)
    }

    /// The server's statistics once `settled` holds, or after 5 s. The server publishes them
    /// after each turn of its loop, which can end after a client has already seen the reply.
    func statistics(once settled: (ControlServerStatistics) -> Bool) -> ControlServerStatistics {
        let deadline = ContinuousClock().now.advanced(by: .seconds(5))
        var statistics = server.statistics
        while !settled(statistics), ContinuousClock().now < deadline {
            usleep(1_000)
            statistics = server.statistics
        }
        return statistics
    }
}

/// Sends bytes as they are and reads reply lines, for malformed-input tests.
final class RawClient {
    let connection: LineConnection

    init(path: String) throws {
        connection = try LineConnection(path: path, maxLineBytes: 1 << 20)
    }

    func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) throws {
        do {
            try connection.send(bytes, deadline: ContinuousClock().now.advanced(by: .seconds(5)))
        } catch {
            throw TestFailure("send failed: \(error)")
        }
    }

    /// The next line as text; `nil` at end of stream.
    func readText(timeout: Duration = .seconds(5)) throws -> String? {
        do {
            guard let line = try connection.readLine(deadline: ContinuousClock().now.advanced(by: timeout)) else { return nil }
            return String(decoding: line, as: UTF8.self)
        } catch {
            throw TestFailure("read failed: \(error)")
        }
    }

    /// The next line parsed; `nil` at end of stream.
    func read(timeout: Duration = .seconds(5)) throws -> JSONValue? {
        guard let text = try readText(timeout: timeout) else { return nil }
        return try JSONLineCodec.decode(line: Array(text.utf8))
    }

    /// Sends one line and returns the reply.
    func exchange(_ line: String) throws -> JSONValue {
        try send(line + "\n")
        guard let reply = try read() else { throw TestFailure("connection closed instead of replying to \(line)") }
        return reply
    }
}

extension JSONValue {
    /// `error.code` of a reply, for terse expectations.
    var errorCode: String? { self["error"]?["code"]?.stringValue }
}
