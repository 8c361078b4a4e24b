import Foundation

/// A connection to edgecamd's control socket, for the CLI and for tests.
///
/// Blocking and single-threaded: use one client per thread. Calls are sequential; each
/// gets the next integer id.
///
/// ```swift
/// let client = try ControlClient(socketPath: ControlSocketPath.resolve(explicit: socketFlag))
/// let status = try client.call("status")
/// let page = try client.call("detections", arguments: ["limit": 50, "label": "person"])
/// let events = try client.subscribe(kinds: ["detection"])
/// while let event = try events.next() { print(event.kind, event.data.jsonText) }
/// ```
public final class ControlClient {
    /// The socket this client is connected to.
    public let socketPath: String
    /// Default time a call may take before it fails with `.timedOut`.
    public var timeout: Duration
    let connection: LineConnection
    private var nextID = 1
    /// Events that arrived while waiting for a reply, for `nextEvent`.
    private var queuedEvents: [ControlEvent] = []
    private static let maxQueuedEvents = 4096

    /// Connects to the daemon. Fails with `.notRunning`, `.permissionDenied` or
    /// `.staleSocket` (their messages tell the user what to do).
    /// `maxReplyBytes` bounds one reply line (an overlay JPEG travels base64-encoded).
    public init(socketPath: String, timeout: Duration = .seconds(30), maxReplyBytes: Int = 64 << 20) throws(ControlClientError) {
        self.socketPath = socketPath
        self.timeout = timeout
        self.connection = try LineConnection(path: socketPath, maxLineBytes: maxReplyBytes)
    }

    /// Sends `command` with `arguments` and returns the reply's `result`.
    /// Throws `.server(error)` when the daemon answers with an error.
    public func call(_ command: String, arguments: [String: JSONValue] = [:],
                     timeout: Duration? = nil) throws(ControlClientError) -> JSONValue {
        let limit = timeout ?? self.timeout
        let deadline = ContinuousClock().now.advanced(by: limit)
        let id = nextID
        nextID += 1
        let request: JSONValue = ["id": .number(Double(id)), "cmd": .string(command), "args": .object(arguments)]
        let line: [UInt8]
        do {
            line = try JSONLineCodec.encodeLine(request)
        } catch {
            throw .protocolViolation("the arguments cannot be encoded as JSON (a non-finite number?)")
        }
        do {
            try connection.send(line, deadline: deadline)
        } catch .timedOut {
            throw .timedOut(command: command, after: limit)
        } catch {
            // The daemon may have refused us (busy, forbidden) and closed; its reason is
            // already in our receive buffer, so read it before giving up.
            do {
                return try readReply(to: .number(Double(id)), command: command, limit: limit,
                                     deadline: ContinuousClock().now.advanced(by: .milliseconds(100)))
            } catch .server(let refusal) {
                throw .server(refusal)
            } catch {
                throw .disconnected
            }
        }
        return try readReply(to: .number(Double(id)), command: command, limit: limit, deadline: deadline)
    }

    private func readReply(to id: RequestID, command: String, limit: Duration,
                           deadline: ContinuousClock.Instant) throws(ControlClientError) -> JSONValue {
        while true {
            let value = try readValue(deadline: deadline, command: command, limit: limit)
            if let kind = value["event"]?.stringValue {
                if queuedEvents.count < Self.maxQueuedEvents {
                    queuedEvents.append(ControlEvent(kind: kind, data: value["data"] ?? .null))
                }
                continue
            }
            guard let ok = value["ok"]?.boolValue else {
                throw .protocolViolation("a line that is neither a reply nor an event")
            }
            let replyID = value["id"].flatMap(RequestID.init)
            // A null id answers the current request (the server could not read it, or
            // refused the connection); another id is a late reply to a timed-out call.
            guard replyID == nil || replyID == id else { continue }
            if ok { return value["result"] ?? .null }
            let code = value["error"]?["code"]?.stringValue ?? ControlErrorCode.internalError.rawValue
            let message = value["error"]?["message"]?.stringValue ?? "edgecamd reported an error without a message"
            throw .server(ControlError(ControlErrorCode(rawValue: code), message))
        }
    }

    /// Reads one line and parses it; `nil` deadline waits forever.
    private func readValue(deadline: ContinuousClock.Instant?, command: String,
                           limit: Duration?) throws(ControlClientError) -> JSONValue {
        let line: [UInt8]?
        do {
            line = try connection.readLine(deadline: deadline)
        } catch {
            switch error {
            case .timedOut: throw .timedOut(command: command, after: limit ?? .zero)
            case .closed: throw .disconnected
            case .lineTooLong: throw .protocolViolation("a reply longer than \(connection.maxLineBytes) bytes")
            }
        }
        guard let line else { throw .disconnected }
        do {
            return try JSONLineCodec.decode(line: line)
        } catch {
            throw .protocolViolation(error.message)
        }
    }

    /// Subscribes to live events of the given kinds (all kinds when empty) and returns
    /// the stream to read them from. The client should be used only through the stream
    /// afterwards.
    public func subscribe(kinds: [String] = [], timeout: Duration? = nil) throws(ControlClientError) -> ControlEventStream {
        var arguments: [String: JSONValue] = [:]
        if !kinds.isEmpty { arguments["kinds"] = .array(kinds.map { .string($0) }) }
        _ = try call(BuiltInCommand.subscribe, arguments: arguments, timeout: timeout)
        return ControlEventStream(client: self)
    }

    /// The next event: one queued while waiting for a reply, or the next from the socket.
    /// Returns `nil` when the daemon closes the connection; throws `.timedOut` if `timeout`
    /// passes first (`nil` waits forever).
    public func nextEvent(timeout: Duration? = nil) throws(ControlClientError) -> ControlEvent? {
        if !queuedEvents.isEmpty { return queuedEvents.removeFirst() }
        let deadline = timeout.map { ContinuousClock().now.advanced(by: $0) }
        while true {
            let value: JSONValue
            do {
                value = try readValue(deadline: deadline, command: BuiltInCommand.subscribe, limit: timeout)
            } catch .disconnected {
                return nil
            }
            if let kind = value["event"]?.stringValue {
                return ControlEvent(kind: kind, data: value["data"] ?? .null)
            }
            // A stray reply (to a timed-out call) is skipped.
        }
    }

    /// Closes the connection (also done when the client is released).
    public func close() {
        connection.close()
    }
}

/// Live events after `ControlClient.subscribe`:
/// `while let event = try stream.next() { … }` reads until the daemon goes away.
public struct ControlEventStream {
    /// The client the events arrive on.
    public let client: ControlClient

    /// The next event, `nil` when the daemon closed the connection; `timeout` as in
    /// `ControlClient.nextEvent`.
    public func next(timeout: Duration? = nil) throws(ControlClientError) -> ControlEvent? {
        try client.nextEvent(timeout: timeout)
    }
}
