import Foundation
import Glibc
import Testing
@testable import Control

/// The socket file: stale ones replaced, live ones kept, mode and group, removal at stop.
@Suite struct SocketFileTests {
    /// Leaves a socket file with nothing listening, as a crashed daemon does.
    private func makeStaleSocket(at path: String) throws {
        guard let address = UnixSocket.address(for: path) else { throw TestFailure("bad path") }
        let fd = try UnixSocket.makeStreamSocket()
        defer { UnixSocket.close(fd) }
        try UnixSocket.bind(fd, to: address)
    }

    private func fileStatus(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    @Test func aStaleSocketFileIsReplaced() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try makeStaleSocket(at: directory.socketPath)
        #expect(throws: ControlClientError.staleSocket(path: directory.socketPath)) {
            try ControlClient(socketPath: directory.socketPath)
        }
        let server = ControlServer(configuration: ControlServerConfiguration(socketPath: directory.socketPath), handler: TestHandler())
        try server.start()
        defer { server.stop() }
        #expect(try ControlClient(socketPath: directory.socketPath).call("hello")["protocol"] == 1)
    }

    @Test func aLiveSocketIsNotStolen() throws {
        let running = try TestServer()
        defer { running.stop() }
        let intruder = ControlServer(configuration: ControlServerConfiguration(socketPath: running.path), handler: TestHandler())
        #expect(throws: ControlServerError.alreadyRunning(path: running.path)) { try intruder.start() }
        #expect(try running.client().call("hello")["protocol"] == 1)
        #expect(String(describing: ControlServerError.alreadyRunning(path: running.path)).contains("already serving"))
    }

    @Test func aFileThatIsNotASocketIsLeftAlone() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = FileManager.default.createFile(atPath: directory.socketPath, contents: Data("keep me".utf8))
        let server = ControlServer(configuration: ControlServerConfiguration(socketPath: directory.socketPath), handler: TestHandler())
        #expect(throws: ControlServerError.notASocket(path: directory.socketPath)) { try server.start() }
        #expect(FileManager.default.contents(atPath: directory.socketPath) == Data("keep me".utf8))
    }

    @Test func aTooLongPathIsReportedNotTruncated() throws {
        let path = "/tmp/" + String(repeating: "d", count: 200) + "/control.sock"
        let server = ControlServer(configuration: ControlServerConfiguration(socketPath: path), handler: TestHandler())
        #expect(throws: ControlServerError.invalidSocketPath(path, maximumLength: 107)) { try server.start() }
    }

    @Test func theSocketFileHasMode0660() throws {
        let server = try TestServer()
        defer { server.stop() }
        let info = try #require(fileStatus(server.path))
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o7777 == 0o660)
    }

    /// /etc/group on Debian has "daemon" as gid 1. Needs root: other users may give files
    /// only to their own groups.
    @Test(.enabled(if: geteuid() == 0))
    func theSocketGroupIsSetByNameOrID() throws {
        let byName = try TestServer { $0.socketGroup = .name("daemon") }
        defer { byName.stop() }
        #expect(fileStatus(byName.path)?.st_gid == 1)
        let byID = try TestServer { $0.socketGroup = .id(2) }
        defer { byID.stop() }
        #expect(fileStatus(byID.path)?.st_gid == 2)
    }

    @Test func anUnknownGroupIsAClearError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var configuration = ControlServerConfiguration(socketPath: directory.socketPath)
        configuration.socketGroup = .name("no-such-group-edgecam")
        let server = ControlServer(configuration: configuration, handler: TestHandler())
        #expect(throws: ControlServerError.groupNotFound("no-such-group-edgecam")) { try server.start() }
        #expect(fileStatus(directory.socketPath) == nil)
        #expect(String(describing: ControlServerError.groupNotFound("edgecam")).contains("groupadd edgecam"))
    }

    @Test func stopRemovesTheSocketAndClosesClients() throws {
        let server = try TestServer()
        defer { server.directory.remove() }
        let raw = try server.raw()
        #expect(try raw.exchange(#"{"id":1,"cmd":"hello"}"#)["ok"] == true)
        let subscriber = try server.client().subscribe()
        server.server.stop()
        #expect(fileStatus(server.path) == nil)
        #expect(try raw.read() == nil)
        #expect(try subscriber.next(timeout: .seconds(2)) == nil)
        #expect(!server.server.isRunning)
        #expect(throws: ControlClientError.notRunning(path: server.path)) { try server.client() }
        server.server.stop()  // a second stop is harmless
    }

    @Test func stopLeavesASocketThatIsNoLongerOurs() throws {
        let server = try TestServer()
        defer { server.directory.remove() }
        // Another daemon replaced the file after we started (e.g. after a manual rm).
        _ = unlink(server.path)
        try makeStaleSocket(at: server.path)
        server.server.stop()
        #expect(fileStatus(server.path) != nil)
    }

    @Test func startingTwiceIsAnError() throws {
        let server = try TestServer()
        defer { server.stop() }
        #expect(throws: ControlServerError.alreadyStarted) { try server.server.start() }
    }
}
