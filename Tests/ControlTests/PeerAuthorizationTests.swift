import Foundation
import Glibc
import Testing
@testable import Control

@Suite struct PeerAuthorizationTests {
    let policy = PeerAuthorization(allowedUIDs: [1001], allowedGIDs: [500])
    let daemonUID: uid_t = 990

    @Test func rootAndTheDaemonsOwnUserAreAlwaysAllowed() {
        #expect(PeerAuthorization().allows(PeerCredentials(pid: 1, uid: 0, gid: 0), serverUID: daemonUID))
        #expect(PeerAuthorization().allows(PeerCredentials(pid: 1, uid: 990, gid: 990), serverUID: daemonUID))
    }

    @Test func allowedUsersAndGroupMembersPass() {
        #expect(policy.allows(PeerCredentials(pid: 1, uid: 1001, gid: 1001), serverUID: daemonUID))
        #expect(policy.allows(PeerCredentials(pid: 1, uid: 1002, gid: 500), serverUID: daemonUID))
        // Membership through a supplementary group (usermod -aG) counts too.
        #expect(policy.allows(PeerCredentials(pid: 1, uid: 1003, gid: 1003, supplementaryGroups: [27, 500]), serverUID: daemonUID))
    }

    @Test func everyoneElseIsRefused() {
        #expect(!policy.allows(PeerCredentials(pid: 1, uid: 1004, gid: 1004, supplementaryGroups: [27]), serverUID: daemonUID))
        #expect(!PeerAuthorization().allows(PeerCredentials(pid: 1, uid: 65534, gid: 65534), serverUID: daemonUID))
    }

    @Test func theServerSeesThisProcessAsItsPeer() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { fds.forEach(UnixSocket.close) }
        let peer = try PeerCredentials.ofPeer(connectedTo: fds[0])
        #expect(peer.pid == getpid())
        #expect(peer.uid == geteuid())
        #expect(peer.gid == getegid())
    }

    /// End to end: a process running as `nobody` is refused with one `forbidden` line, and
    /// admitted once its uid is allowed. Needs root (to switch user) and setpriv + python3.
    @Test(.enabled(if: geteuid() == 0
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")))
    func aPeerThatIsNotAllowedGetsForbidden() throws {
        for allowed in [false, true] {
            let server = try TestServer {
                $0.socketMode = 0o666  // let nobody reach the socket, so the peer check decides
                if allowed { $0.authorization = PeerAuthorization(allowedUIDs: [65534]) }
            }
            defer { server.stop() }
            #expect(chmod(server.directory.path, 0o755) == 0)
            let reply = try runAsNobody(connectingTo: server.path)
            let parsed = try JSONLineCodec.decode(line: Array(reply.utf8))
            if allowed {
                #expect(parsed["ok"] == true)
                #expect(parsed["result"]?["protocol"] == 1)
            } else {
                #expect(parsed.errorCode == "forbidden")
                #expect(parsed["error"]?["message"]?.stringValue?.contains("uid 65534") == true)
                #expect(server.statistics(once: { $0.refusedForbidden >= 1 }).refusedForbidden == 1)
            }
        }
    }

    private func runAsNobody(connectingTo path: String) throws -> String {
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(sys.argv[1])
            try:
                s.sendall(b'{"id":1,"cmd":"hello"}\\n')
            except OSError:
                pass
            data = b''
            while not data.endswith(b'\\n'):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            sys.stdout.write(data.decode().strip())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
