import Foundation
import SanitizerSupport
import Glibc
import Locking
import Synchronization
import Testing
@testable import Control

/// Hostile clients at scale against a `ControlServer`: a thousand connections, slow writers,
/// subscribers that never read, and oversized / malformed / deeply nested lines from many
/// clients at once. Each test prints its figures; a normal client is served throughout.
/// (`DaemonTests/SocketAbuseDaemonTests` does the same against a running edgecamd.)
@Suite(.serialized) struct SocketAbuseTests {
    @Test func aThousandConcurrentConnectionsAreServedUpToTheLimitAndTheRestToldBusy() throws {
        // Both ends of every connection live in this process: 1000 client + 500 server fds.
        let limit = DescriptorLimit.raise(toAtLeast: 4096)
        try #require(limit == nil || (limit ?? 0) >= 2500, "needs 2500 descriptors; the hard limit allows \(limit ?? 0)")
        let server = try TestServer {
            $0.maxClients = 500
            $0.listenBacklog = 128
        }
        defer { server.stop() }
        let descriptorsBefore = openDescriptorCount()
        let clock = ContinuousClock()
        let started = clock.now

        // 1000 blocking connects from 8 threads at once.
        let connected = PThreadMutex<[Int32]>([])
        let path = server.path
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<125 {
                if let fd = BlockingSocket.connect(to: path) {
                    connected.withLock { $0.append(fd) }
                } else {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        let fds = connected.withLock { $0 }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(fds.count == 1000)
        let connectTime = clock.now - started

        // Everyone asks; the 500 served get a reply, the others already hold their `busy` line.
        for (index, fd) in fds.enumerated() { BlockingSocket.send(fd, #"{"id":\#(index),"cmd":"hello"}"# + "\n") }
        var served = 0, busy = 0, other = 0
        for fd in fds {
            let reply = BlockingSocket.readLine(fd, timeout: 10).flatMap { try? JSONLineCodec.decode(line: Array($0.utf8)) }
            if reply?["ok"] == true {
                served += 1
            } else if reply?.errorCode == "busy" {
                busy += 1
                #expect(BlockingSocket.readLine(fd, timeout: 5) == nil, "a refused connection is closed")
            } else {
                other += 1
            }
        }
        let statistics = server.statistics(once: { $0.refusedBusy >= 500 && $0.currentClients >= 500 })
        print("1000 connections: connected in \(connectTime), \(served) served, \(busy) told busy, \(other) other; server clients \(statistics.currentClients), refused busy \(statistics.refusedBusy)")
        #expect(served == 500 && busy == 500 && other == 0)
        #expect(statistics.currentClients == 500)

        for fd in fds { UnixSocket.close(fd) }
        let deadline = clock.now.advanced(by: .seconds(10))
        while server.server.statistics.currentClients > 0, clock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(try server.client().call("hello")["protocol"] == 1)
        // Other suites run in this process at the same time, so its descriptor count is only
        // printed; the daemon test checks edgecamd's own /proc/PID/fd.
        print("descriptors of the test process (server + clients): \(descriptorsBefore) before, \(openDescriptorCount()) after")
        #expect(server.server.statistics.currentClients <= 1)
    }

    @Test func slowWritersAreCutOffWhileOtherClientsAreServed() throws {
        let server = try TestServer { $0.requestTimeout = .seconds(2) }
        defer { server.stop() }
        let clock = ContinuousClock()
        let slowWriters = 8
        // Each slow writer sends `{"id":1,"cmd":"hello"}\n` a byte a second: 23 s if let through.
        let outcomes = PThreadMutex<[(code: String?, after: Duration)]>([])
        let path = server.path
        let group = DispatchGroup()
        for _ in 0..<slowWriters {
            DispatchQueue.global().async(group: group) {
                guard let fd = BlockingSocket.connect(to: path) else {
                    outcomes.withLock { $0.append((nil, .zero)) }
                    return
                }
                defer { UnixSocket.close(fd) }
                let start = clock.now
                var reply: String?
                for byte in (#"{"id":1,"cmd":"hello"}"# + "\n").utf8 where reply == nil {
                    BlockingSocket.send(fd, [byte])
                    reply = BlockingSocket.readLine(fd, timeout: 1)
                }
                let code = reply.flatMap { try? JSONLineCodec.decode(line: Array($0.utf8)) }?.errorCode
                outcomes.withLock { $0.append((code, clock.now - start)) }
            }
        }
        // A line in a few quick chunks is well within the limit.
        let chunked = try server.raw()
        for chunk in [#"{"id":"c","#, #""cmd":"#, #""hello"}"#, "\n"] {
            try chunked.send(chunk)
            Thread.sleep(forTimeInterval: 0.3)
        }
        #expect(try chunked.read()?["ok"] == true)
        // Meanwhile a normal client is answered promptly.
        var probes: [Duration] = []
        while group.wait(timeout: .now() + 0.1) == .timedOut {
            let start = clock.now
            _ = try server.client().call("hello")
            probes.append(clock.now - start)
        }
        let results = outcomes.withLock { $0 }
        let cutAfter = results.map(\.after).sorted()
        print("slow writers: \(results.count) cut off with \(Set(results.map { $0.code ?? "nothing" })) after \(cutAfter.first ?? .zero) … \(cutAfter.last ?? .zero); \(probes.count) probes, slowest \(probes.max() ?? .zero)")
        #expect(results.count == slowWriters)
        #expect(results.allSatisfy { $0.code == "too_slow" })
        #expect(results.allSatisfy { $0.after >= .milliseconds(1500) && $0.after < .seconds(15) })
        #expect(server.statistics(once: { $0.slowRequests >= slowWriters }).slowRequests == slowWriters)
        #expect(!probes.isEmpty)
    }

    @Test func timeSpentOnThePreviousRequestDoesNotCountAgainstTheNextLine() throws {
        let server = try TestServer { $0.requestTimeout = .seconds(2) }
        defer { server.stop() }
        let raw = try server.raw()
        // The start of the next line arrives with a request that takes 3 s: the server is not
        // reading meanwhile, so those 3 s are not the client's.
        try raw.send(#"{"id":1,"cmd":"sleep","args":{"ms":3000}}"# + "\n" + #"{"id":2,"cm"#)
        #expect(try raw.read(timeout: .seconds(20))?["result"] == "slept")
        Thread.sleep(forTimeInterval: 0.5)
        try raw.send(#"d":"hello"}"# + "\n")
        #expect(try raw.read(timeout: .seconds(10))?["ok"] == true)
        #expect(server.server.statistics.slowRequests == 0)
    }

    @Test func subscribersThatNeverReadCannotExhaustMemory() throws {
        let total = 4 * 1024 * 1024
        let server = try TestServer {
            $0.maxClients = 400
            $0.maxOutgoingBytes = 2 * 1024 * 1024
            $0.maxTotalOutgoingBytes = total
        }
        defer { server.stop() }
        // 256 subscribers × 2 MiB per-client queues would be 512 MiB without the server-wide
        // budget: far above the resident-memory bound below, which in turn is far above what
        // the other suites running in this process at the same time allocate.
        let subscribers = (0..<256).compactMap { _ in BlockingSocket.connect(to: server.path, receiveBuffer: 4096) }
        defer { for fd in subscribers { UnixSocket.close(fd) } }
        #expect(subscribers.count == 256)
        for fd in subscribers {
            BlockingSocket.send(fd, #"{"id":"s","cmd":"subscribe"}"# + "\n")
            #expect(BlockingSocket.readLine(fd, timeout: 10)?.contains(#""ok":true"#) == true)
        }
        let rssBefore = residentKiB()
        let payload = JSONValue.string(String(repeating: "x", count: 1000))
        let events = 2000
        let clock = ContinuousClock()
        let probe = try server.client()
        // A subscriber that reads keeps receiving every event while the others hog the budget.
        let reader = try server.client()
        let live = try reader.subscribe()
        var liveReceived = 0
        var slowestProbe = Duration.zero
        let start = clock.now
        for sequence in 0..<events {
            server.server.events.publish(kind: "detection", data: ["seq": .number(Double(sequence)), "pad": payload])
            if sequence % 5 == 4 {
                for _ in 0..<5 where try live.next(timeout: .seconds(10))?.data["seq"]?.intValue == liveReceived {
                    liveReceived += 1
                }
            }
            if sequence % 200 == 0 {
                let probeStart = clock.now
                _ = try probe.call("hello")
                slowestProbe = max(slowestProbe, clock.now - probeStart)
            }
        }
        let publishTime = clock.now - start
        Thread.sleep(forTimeInterval: 0.3)
        let rssAfter = residentKiB()
        let statistics = server.server.statistics
        let eventStatistics = server.server.events.statistics
        print("never-reading subscribers: 256 × \(events) events of 1 KB in \(publishTime); queued peak \(statistics.peakQueuedOutputBytes) B (budget \(total)); delivered \(eventStatistics.delivered), dropped \(eventStatistics.dropped); RSS \(rssBefore) → \(rssAfter) KiB; reading subscriber got \(liveReceived); slowest probe \(slowestProbe)")
        #expect(liveReceived == events)
        #expect(eventStatistics.delivered + eventStatistics.dropped == events * 257)
        // The budget, plus at most a fair share (4 MiB / 400) per client.
        #expect(statistics.peakQueuedOutputBytes <= total + 256 * (total / 400 + 1100))
        // 128 MiB in a normal build; more under a sanitizer (ASan's quarantine).
        #expect(rssAfter - rssBefore < SanitizerBuild.current.residentGrowthKiB(128 * 1024), "\(SanitizerBuild.current)")

        for fd in subscribers { shutdown(fd, Int32(SHUT_RDWR)) }
        let deadline = clock.now.advanced(by: .seconds(10))
        while server.server.statistics.queuedOutputBytes > 0, clock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(server.server.statistics.queuedOutputBytes == 0)
    }

    @Test func hostileLinesFromManyClientsAtOnceLeaveTheServerServing() throws {
        let server = try TestServer { $0.maxRequestBytes = 128 * 1024 }
        defer { server.stop() }
        let path = server.path
        let verdicts = PThreadMutex<[String: [String]]>([:])
        @Sendable func note(_ name: String, _ verdict: String) { verdicts.withLock { $0[name, default: []].append(verdict) } }
        let group = DispatchGroup()
        for round in 0..<4 {
            DispatchQueue.global().async(group: group) {
                // 10 MB without a newline: too_large, then closed; never buffered past the limit.
                guard let fd = BlockingSocket.connect(to: path) else { return note("10MB", "no connection") }
                defer { UnixSocket.close(fd) }
                BlockingSocket.send(fd, [UInt8](repeating: UInt8(ascii: "a"), count: 10 << 20))
                note("10MB", BlockingSocket.code(BlockingSocket.readLine(fd, timeout: 10)) ?? "nothing")
                note("10MB-closed", BlockingSocket.readLine(fd, timeout: 5) == nil ? "closed" : "open")
            }
            DispatchQueue.global().async(group: group) {
                guard let fd = BlockingSocket.connect(to: path) else { return note("utf8", "no connection") }
                defer { UnixSocket.close(fd) }
                for _ in 0..<50 {
                    BlockingSocket.send(fd, Array(#"{"id":1,"cmd":"hel"#.utf8) + [0xC3, 0x28, 0xFF, 0xFE] + Array(#"lo"}"#.utf8) + [0x0A])
                    note("utf8", BlockingSocket.code(BlockingSocket.readLine(fd, timeout: 10)) ?? "nothing")
                }
                BlockingSocket.send(fd, #"{"id":2,"cmd":"hello"}"# + "\n")
                note("utf8-after", BlockingSocket.readLine(fd, timeout: 10)?.contains(#""ok":true"#) == true ? "ok" : "no")
            }
            DispatchQueue.global().async(group: group) {
                guard let fd = BlockingSocket.connect(to: path) else { return note("nesting", "no connection") }
                defer { UnixSocket.close(fd) }
                for _ in 0..<5 {
                    BlockingSocket.send(fd, String(repeating: "[", count: 100_000) + "\n")
                    note("nesting", BlockingSocket.code(BlockingSocket.readLine(fd, timeout: 10)) ?? "nothing")
                }
            }
            DispatchQueue.global().async(group: group) {
                guard let fd = BlockingSocket.connect(to: path) else { return note("unknown", "no connection") }
                defer { UnixSocket.close(fd) }
                for index in 0..<200 {
                    BlockingSocket.send(fd, #"{"id":\#(index),"cmd":"no-such-command-\#(round)-\#(index)"}"# + "\n")
                    note("unknown", BlockingSocket.code(BlockingSocket.readLine(fd, timeout: 10)) ?? "nothing")
                }
            }
        }
        let clock = ContinuousClock()
        var probes: [Duration] = []
        while group.wait(timeout: .now() + 0.05) == .timedOut {
            let start = clock.now
            _ = try server.client().call("hello")
            probes.append(clock.now - start)
        }
        let seen = verdicts.withLock { $0 }
        let statistics = server.server.statistics
        print("hostile lines: \(seen.mapValues { Dictionary($0.map { ($0, 1) }, uniquingKeysWith: +) }); peak input buffer \(statistics.peakInputBufferBytes) B; \(probes.count) probes, slowest \(probes.max() ?? .zero)")
        #expect(seen["10MB"] == Array(repeating: "too_large", count: 4))
        #expect(seen["10MB-closed"] == Array(repeating: "closed", count: 4))
        #expect(seen["utf8"] == Array(repeating: "bad_json", count: 200))
        #expect(seen["utf8-after"] == Array(repeating: "ok", count: 4))
        #expect(seen["nesting"] == Array(repeating: "bad_json", count: 20))
        #expect(seen["unknown"] == Array(repeating: "unknown_command", count: 800))
        #expect(statistics.peakInputBufferBytes <= 128 * 1024 + 1)
        #expect(try server.client().call("hello")["protocol"] == 1)
    }
}

/// Plain blocking client sockets (a thousand `ControlClient`s would be needlessly heavy).
enum BlockingSocket {
    /// A connected socket, or nil. `receiveBuffer` shrinks the kernel's receive buffer, so a
    /// client that stops reading backs the server up sooner.
    static func connect(to path: String, receiveBuffer: Int32? = nil) -> Int32? {
        guard let address = UnixSocket.address(for: path), let fd = try? UnixSocket.makeStreamSocket() else { return nil }
        if var size = receiveBuffer {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        do {
            try UnixSocket.connect(fd, to: address)
        } catch {
            UnixSocket.close(fd)
            return nil
        }
        return fd
    }

    /// Sends everything it can (no SIGPIPE); stops quietly when the server has closed.
    static func send(_ fd: Int32, _ text: String) { send(fd, Array(text.utf8)) }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            guard let sent = try? UnixSocket.send(fd, bytes, from: offset), sent > 0 else { return }
            offset += sent
        }
    }

    /// The next line (read a byte at a time: simple, and never takes bytes of the next one);
    /// nil at end of stream, on error, or after `timeout` seconds.
    static func readLine(_ fd: Int32, timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            var polled = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            guard (try? UnixSocket.poll(&polled, timeoutMilliseconds: remaining)) ?? 0 > 0 else { return nil }
            let count = recv(fd, &byte, 1, 0)
            if count <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    /// `error.code` of a reply line, or "ok".
    static func code(_ line: String?) -> String? {
        guard let line, let reply = try? JSONLineCodec.decode(line: Array(line.utf8)) else { return nil }
        return reply["ok"] == true ? "ok" : reply.errorCode
    }
}

/// Entries in /proc/self/fd.
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// VmRSS of this process, in KiB.
func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ")[1]) ?? 0
    }
    return 0
}
