import Foundation
import Glibc
import Locking
import Synchronization

/// State the server thread shares with the `ControlServer` object.
final class ServerShared: Sendable {
    let stopRequested = Atomic<Bool>(false)
    let statistics = PThreadMutex(ControlServerStatistics())
    /// Signalled once when the server thread has closed everything.
    let finished = DispatchSemaphore(value: 0)
}

/// The control server's event loop: one thread, one `poll()` over the listening socket,
/// a wake-up pipe and every client socket (all non-blocking).
///
/// Everything here is confined to the server thread. Other threads reach it only through
/// `ConnectionOutbox` (replies, events) and `Wakeup`.
final class ServerLoop {
    /// Connection ids are unique per process, so one broadcaster can serve several servers.
    private static let nextConnectionID = Atomic<UInt64>(1)

    private let listener: ListeningSocket
    private let configuration: ControlServerConfiguration
    private let authorization: PeerAuthorization
    private let handler: any ControlHandler
    private let handlerCommands: Set<String>
    private let events: EventBroadcaster
    private let wakeup: Wakeup
    private let shared: ServerShared
    private let ownUID: uid_t
    private let clock = ContinuousClock()

    private var connections: [UInt64: ServerConnection] = [:]
    private var acceptPausedUntil: ContinuousClock.Instant?
    private var statistics = ControlServerStatistics()
    private var readBuffer: [UInt8]
    /// What every client's queued output is charged to (`maxTotalOutgoingBytes`).
    private let budget: OutboxBudget
    /// A descriptor held in reserve: when `accept` fails for want of descriptors, closing it
    /// lets the server accept one pending connection, tell it `busy` and close it, instead of
    /// leaving clients hanging in the backlog.
    private var spareFD: Int32

    /// How long a connection being closed may take to flush its last error line.
    private static let closingLinger: Duration = .seconds(1)
    /// Pause before accepting again after running out of descriptors.
    private static let acceptBackoff: Duration = .milliseconds(100)

    init(listener: ListeningSocket, configuration: ControlServerConfiguration, authorization: PeerAuthorization,
         handler: any ControlHandler, events: EventBroadcaster, wakeup: Wakeup, shared: ServerShared) {
        self.listener = listener
        self.configuration = configuration
        self.authorization = authorization
        self.handler = handler
        self.handlerCommands = Set(handler.commands)
        self.events = events
        self.wakeup = wakeup
        self.shared = shared
        self.ownUID = geteuid()
        self.readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
        self.budget = OutboxBudget(limit: configuration.maxTotalOutgoingBytes, clients: configuration.maxClients)
        self.spareFD = fcntl(listener.fd, F_DUPFD_CLOEXEC, 0)
        self.statistics.descriptorLimit = DescriptorLimit.soft
    }

    /// Serves until `shared.stopRequested`, then shuts down gracefully.
    func run() {
        while !shared.stopRequested.load(ordering: .acquiring) {
            iterate()
            statistics.currentClients = connections.count
            statistics.queuedOutputBytes = budget.queuedBytes
            statistics.peakQueuedOutputBytes = max(statistics.peakQueuedOutputBytes, statistics.queuedOutputBytes)
            let snapshot = statistics
            shared.statistics.withLock { $0 = snapshot }
        }
        shutDown()
        statistics.currentClients = 0
        let snapshot = statistics
        shared.statistics.withLock { $0 = snapshot }
        shared.finished.signal()
    }

    // MARK: - One turn of the loop

    private func iterate() {
        let now = clock.now
        var fds = [pollfd(fd: wakeup.readFD, events: Int16(POLLIN), revents: 0)]
        var listenerIndex: Int?
        if let paused = acceptPausedUntil, now < paused {
            listenerIndex = nil
        } else {
            acceptPausedUntil = nil
            listenerIndex = fds.count
            fds.append(pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0))
        }
        let polled = Array(connections.values)
        let firstConnection = fds.count
        for connection in polled {
            fds.append(pollfd(fd: connection.fd, events: pollEvents(for: connection), revents: 0))
        }

        do {
            _ = try UnixSocket.poll(&fds, timeoutMilliseconds: pollTimeout(now: now))
        } catch {
            // EINVAL/ENOMEM: nothing sensible to do but not spin.
            usleep(10_000)
            return
        }

        if fds[0].revents != 0 { wakeup.drain() }
        if let listenerIndex, fds[listenerIndex].revents != 0 { acceptPending() }
        for (offset, connection) in polled.enumerated() {
            service(connection, revents: fds[firstConnection + offset].revents)
        }
        for connection in Array(connections.values) { pump(connection) }
        enforceDeadlines(now: clock.now)
    }

    private func pollEvents(for connection: ServerConnection) -> Int16 {
        let (pending, inFlight) = connection.outbox.snapshot
        var events: Int32 = 0
        if wantsInput(connection, pending: pending, inFlight: inFlight) { events |= Int32(POLLIN) }
        if pending > 0 { events |= Int32(POLLOUT) }
        return Int16(events)
    }

    /// Read only when the client can be served: no reply outstanding, no complete line
    /// waiting, and its output queue under the limit. This is what bounds each client's
    /// input buffer and its queued replies.
    private func wantsInput(_ connection: ServerConnection, pending: Int, inFlight: Bool) -> Bool {
        !connection.inputEnded && connection.closeDeadline == nil && !inFlight
            && pending < configuration.maxOutgoingBytes && !connection.hasCompleteLine
    }

    private func pollTimeout(now: ContinuousClock.Instant) -> Int32 {
        var earliest = now.advanced(by: .seconds(1))
        if let paused = acceptPausedUntil { earliest = min(earliest, paused) }
        for connection in connections.values {
            if let deadline = connection.closeDeadline {
                earliest = min(earliest, deadline)
                continue
            }
            if !connection.isSubscriber {
                earliest = min(earliest, connection.lastActivity.advanced(by: configuration.idleTimeout))
            }
            if let started = connection.lineStartedAt {
                // Never in the past: while the server is not reading, the start moves along.
                earliest = min(earliest, max(now, started.advanced(by: configuration.requestTimeout)))
            }
        }
        let wait = max(.zero, earliest - now)
        let milliseconds = wait.components.seconds * 1000 + (wait.components.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    // MARK: - Accepting

    private func acceptPending() {
        for _ in 0..<32 {
            let fd: Int32
            do {
                guard let accepted = try UnixSocket.acceptNonBlocking(listener.fd) else { return }
                fd = accepted
            } catch {
                switch error.errno {
                case EMFILE, ENFILE:
                    statistics.acceptFailures += 1
                    if refuseWithSpareDescriptor() { continue }
                    // The pending connection stays readable, so polling the listener again
                    // at once would spin. Pause accepting briefly.
                    acceptPausedUntil = clock.now.advanced(by: Self.acceptBackoff)
                    return
                case ENOBUFS, ENOMEM:
                    statistics.acceptFailures += 1
                    acceptPausedUntil = clock.now.advanced(by: Self.acceptBackoff)
                    return
                default:
                    continue  // ECONNABORTED and the like concern one connection only
                }
            }
            guard let peer = try? PeerCredentials.ofPeer(connectedTo: fd) else {
                UnixSocket.close(fd)
                continue
            }
            if !authorization.allows(peer, serverUID: ownUID) {
                statistics.refusedForbidden += 1
                refuse(fd, ControlError(.forbidden, "uid \(peer.uid) may not use this socket; ask an administrator to add you to the daemon's group"))
                continue
            }
            if connections.count >= configuration.maxClients {
                statistics.refusedBusy += 1
                refuse(fd, ControlError(.busy, "the daemon already serves \(configuration.maxClients) clients; try again later"))
                continue
            }
            let id = Self.nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
            let outbox = ConnectionOutbox(limit: configuration.maxOutgoingBytes, wakeup: wakeup, budget: budget)
            connections[id] = ServerConnection(id: id, fd: fd, peer: peer, outbox: outbox, now: clock.now)
            statistics.acceptedConnections += 1
        }
    }

    /// Out of descriptors: frees the spare one, accepts a pending connection, tells it `busy`,
    /// closes it and takes the spare back. Returns whether a connection was refused this way.
    private func refuseWithSpareDescriptor() -> Bool {
        guard spareFD >= 0 else { return false }
        UnixSocket.close(spareFD)
        spareFD = -1
        defer { spareFD = fcntl(listener.fd, F_DUPFD_CLOEXEC, 0) }
        guard let fd = try? UnixSocket.acceptNonBlocking(listener.fd) else { return false }
        statistics.refusedNoDescriptors += 1
        refuse(fd, ControlError(.busy, "the daemon has run out of file descriptors (\(connections.count) clients); try again later"))
        return true
    }

    /// Writes one error line (a fresh socket buffer always has room) and closes.
    private func refuse(_ fd: Int32, _ error: ControlError) {
        let line = ResponseLine(id: nil, outcome: .failure(error)).encoded()
        _ = try? line.withUnsafeBytes { try UnixSocket.send(fd, $0) }
        UnixSocket.close(fd)
    }

    // MARK: - Serving a connection

    private func service(_ connection: ServerConnection, revents: Int16) {
        let events = Int32(revents)
        guard events != 0, connections[connection.id] != nil else { return }
        if events & Int32(POLLNVAL) != 0 || events & Int32(POLLERR) != 0 {
            close(connection)
            return
        }
        if events & Int32(POLLOUT) != 0 {
            do {
                _ = try connection.outbox.write(to: connection.fd)
                connection.lastActivity = clock.now
            } catch {
                close(connection)
                return
            }
        }
        if events & Int32(POLLIN) != 0 {
            read(connection)
        } else if events & Int32(POLLHUP) != 0 {
            // The peer closed both directions: nothing we write can arrive.
            close(connection)
        }
    }

    private func read(_ connection: ServerConnection) {
        let room = configuration.maxRequestBytes + 1 - connection.input.count
        guard room > 0 else { return }
        let received: Int?
        do {
            received = try UnixSocket.receive(connection.fd, into: &readBuffer, count: room)
        } catch {
            close(connection)
            return
        }
        guard let received else { return }
        if received == 0 {
            connection.inputEnded = true
            return
        }
        if connection.input.isEmpty { connection.lineStartedAt = clock.now }
        connection.input.append(contentsOf: readBuffer[..<received])
        connection.lastActivity = clock.now
        statistics.peakInputBufferBytes = max(statistics.peakInputBufferBytes, connection.input.count)
    }

    /// Handles buffered lines while the client may have another request served.
    private func pump(_ connection: ServerConnection) {
        while connections[connection.id] != nil, connection.closeDeadline == nil {
            let (pending, inFlight) = connection.outbox.snapshot
            guard !inFlight, pending < configuration.maxOutgoingBytes else { return }
            switch connection.takeLine(limit: configuration.maxRequestBytes) {
            case .none:
                return
            case .tooLarge:
                statistics.tooLargeRequests += 1
                statistics.requests += 1
                let error = ControlError(.tooLarge, "request line longer than \(configuration.maxRequestBytes) bytes; closing the connection")
                connection.outbox.enqueueReply(ResponseLine(id: nil, outcome: .failure(error)).encoded())
                connection.input = []
                connection.lineStartedAt = nil
                connection.closeDeadline = clock.now.advanced(by: Self.closingLinger)
                return
            case .line(let line):
                // The rest of the buffer is the start of the next line: its clock starts now.
                connection.lineStartedAt = connection.input.isEmpty ? nil : clock.now
                process(line, on: connection)
            }
        }
    }

    private func process(_ rawLine: ArraySlice<UInt8>, on connection: ServerConnection) {
        var line = rawLine
        while let last = line.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
            line.removeLast()
        }
        // Blank lines are ignored, which makes typing at the socket by hand pleasant.
        guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return }
        statistics.requests += 1

        let value: JSONValue
        do {
            value = try JSONLineCodec.decode(line: line)
        } catch {
            reply(on: connection, id: nil, .failure(error))
            return
        }
        let request: ControlRequest
        switch ControlRequest.parse(value) {
        case .failure(let rejected):
            reply(on: connection, id: rejected.id, .failure(rejected.error))
            return
        case .success(let parsed):
            request = parsed
        }

        switch request.command {
        case BuiltInCommand.hello:
            reply(on: connection, id: request.id, .success(helloResult()))
        case BuiltInCommand.subscribe:
            subscribe(connection, request)
        default:
            guard handlerCommands.contains(request.command) else {
                let error = ControlError(.unknownCommand, "unknown command '\(request.command)'; 'hello' lists the commands")
                reply(on: connection, id: request.id, .failure(error))
                return
            }
            dispatch(request, on: connection)
        }
    }

    private func reply(on connection: ServerConnection, id: RequestID?, _ outcome: Result<JSONValue, ControlError>) {
        connection.outbox.enqueueReply(ResponseLine(id: id, outcome: outcome).encoded())
    }

    private func helloResult() -> JSONValue {
        let commands = Set(handlerCommands).union([BuiltInCommand.hello, BuiltInCommand.subscribe]).sorted()
        return [
            "protocol": .number(Double(ControlProtocol.version)),
            "server": .string(configuration.serverName),
            "version": .string(configuration.serverVersion),
            "commands": .array(commands.map { .string($0) }),
            "maxRequestBytes": .number(Double(configuration.maxRequestBytes)),
        ]
    }

    private func subscribe(_ connection: ServerConnection, _ request: ControlRequest) {
        let kinds: [String]?
        do {
            try request.arguments.rejectUnknown(allowing: ["kinds"])
            kinds = try request.arguments.strings("kinds")
        } catch {
            reply(on: connection, id: request.id, .failure(error))
            return
        }
        let filter = kinds.flatMap { $0.isEmpty ? nil : Set($0) }
        // The acknowledgement is queued before registering, so it precedes every event.
        let acknowledged: JSONValue = ["kinds": filter.map { .array($0.sorted().map { .string($0) }) } ?? .null]
        reply(on: connection, id: request.id, .success(acknowledged))
        connection.isSubscriber = true
        events.add(connection: connection.id, kinds: filter, outbox: connection.outbox)
    }

    private func dispatch(_ request: ControlRequest, on connection: ServerConnection) {
        let handler = self.handler
        let outbox = connection.outbox
        let peer = connection.peer
        outbox.beginRequest()
        connection.awaitingReply = true
        connection.task = Task(executorPreference: HandlerExecutor.shared) {
            let outcome: Result<JSONValue, ControlError>
            do {
                outcome = .success(try await handler.handle(request, peer: peer))
            } catch let error as ControlError {
                outcome = .failure(error)
            } catch {
                outcome = .failure(.internalError("\(request.command) failed: \(error)"))
            }
            outbox.finishRequest(with: ResponseLine(id: request.id, outcome: outcome).encoded())
        }
    }

    // MARK: - Deadlines and closing

    private func enforceDeadlines(now: ContinuousClock.Instant) {
        for connection in Array(connections.values) {
            let (pending, inFlight) = connection.outbox.snapshot
            if let deadline = connection.closeDeadline {
                if pending == 0 || now >= deadline { close(connection) }
                continue
            }
            if inFlight || connection.awaitingReply {
                // Idle time counts from the reply (first seen here), not from the request;
                // so does the time of a partial line the server was not reading meanwhile.
                connection.lastActivity = now
                if connection.lineStartedAt != nil { connection.lineStartedAt = now }
                connection.awaitingReply = inFlight
                if inFlight { continue }
            }
            if pending >= configuration.maxOutgoingBytes, connection.lineStartedAt != nil {
                connection.lineStartedAt = now  // not reading while the client's output is full
            }
            if let started = connection.lineStartedAt, !connection.input.isEmpty,
               pending < configuration.maxOutgoingBytes, now - started >= configuration.requestTimeout {
                statistics.slowRequests += 1
                statistics.requests += 1
                let error = ControlError(.tooSlow, "request line not complete within \(configuration.requestTimeout); closing the connection")
                connection.outbox.enqueueReply(ResponseLine(id: nil, outcome: .failure(error)).encoded())
                connection.input = []
                connection.lineStartedAt = nil
                connection.closeDeadline = now.advanced(by: Self.closingLinger)
                continue
            }
            if connection.inputEnded, !connection.isSubscriber, connection.input.isEmpty, pending == 0 {
                close(connection)
                continue
            }
            if !connection.isSubscriber, now - connection.lastActivity >= configuration.idleTimeout {
                statistics.idleDisconnects += 1
                close(connection)
            }
        }
    }

    private func close(_ connection: ServerConnection) {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        if connection.isSubscriber { events.remove(connection: connection.id) }
        connection.task?.cancel()
        connection.outbox.markClosed()
        UnixSocket.close(connection.fd)
    }

    /// Stops listening, removes the socket file, writes what clients will take within
    /// `stopFlushTimeout`, then closes every client.
    private func shutDown() {
        UnixSocket.close(listener.fd)
        listener.removeFile()
        for connection in connections.values {
            connection.task?.cancel()
            if connection.isSubscriber { events.remove(connection: connection.id) }
        }
        let deadline = clock.now.advanced(by: configuration.stopFlushTimeout)
        while clock.now < deadline {
            let waiting = connections.values.filter { $0.outbox.snapshot.pending > 0 }
            if waiting.isEmpty { break }
            var fds = waiting.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            let remaining = deadline - clock.now
            let milliseconds = Int32(clamping: max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
            guard (try? UnixSocket.poll(&fds, timeoutMilliseconds: milliseconds)) != nil else { break }
            for (connection, polled) in zip(waiting, fds) where polled.revents != 0 {
                if Int32(polled.revents) & Int32(POLLOUT) != 0, (try? connection.outbox.write(to: connection.fd)) != nil {
                    continue
                }
                close(connection)
            }
        }
        for connection in Array(connections.values) { close(connection) }
        if spareFD >= 0 { UnixSocket.close(spareFD) }
        wakeup.close()
    }
}

/// Commands the server answers itself.
enum BuiltInCommand {
    static let hello = "hello"
    static let subscribe = "subscribe"
}

/// Protocol constants.
public enum ControlProtocol {
    /// `hello.protocol`: bumped only for incompatible changes to the wire format.
    public static let version = 1
}
