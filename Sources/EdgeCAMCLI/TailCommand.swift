import ArgumentParser
import Control
import Foundation

/// `edgecam tail [--kind K]... [--json] [--count N]`
struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail", abstract: "Follow live events (detections, camera and daemon events) until interrupted.")
    @OptionGroup var connection: SocketOption
    @Option(help: "Only these event kinds (detection, camera, daemon); repeatable.")
    var kind: [String] = []
    @Flag(help: "Print each event as one JSON line: {\"event\": kind, \"data\": {...}}.")
    var json = false
    @Option(help: "Exit after this many events.")
    var count: Int?

    func run() throws {
        let kinds = kind, json = json, count = count
        try connection.withClient { client throws(ControlClientError) in
            let stream = try client.subscribe(kinds: kinds)
            var seen = 0
            while let event = try stream.next() {
                if json {
                    print(JSONValue.object(["event": .string(event.kind), "data": event.data]).jsonText)
                } else {
                    print(Self.line(event))
                }
                fflush(nil)  // all streams: each event goes out at once when piped
                seen += 1
                if let count, seen >= count { return }
            }
        }
    }

    static func line(_ event: ControlEvent) -> String {
        let data = event.data
        let time = data["time"]?.doubleValue.map(formatTime) ?? "-"
        switch event.kind {
        case "detection":
            return "\(time) detection #\(data["id"]?.intValue ?? 0) \(data["label"]?.stringValue ?? "?") "
                + String(format: "%.3f", data["score"]?.doubleValue ?? 0)
        case "dropped":
            return "(missed \(data["count"]?.intValue ?? 0) event(s): reading too slowly)"
        default:
            return "\(time) \(event.kind) \(data["kind"]?.stringValue ?? ""): \(data["message"]?.stringValue ?? data.jsonText)"
        }
    }
}
