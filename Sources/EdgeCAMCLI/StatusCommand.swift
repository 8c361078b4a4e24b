import ArgumentParser
import Control
import Foundation

/// `edgecam status [--json]`
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show what edgecamd is doing.")

    @OptionGroup var connection: SocketOption
    @Flag(help: "Print the status as one JSON document.")
    var json = false

    func run() throws {
        let status = try connection.withClient { client throws(ControlClientError) in try client.call("status") }
        if json {
            print(status.prettyJSONText)
            return
        }
        func number(_ value: JSONValue?) -> String {
            guard let value = value?.doubleValue else { return "-" }
            return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.2f", value)
        }
        print("state:       \(status["state"]?.stringValue ?? "?") (pid \(number(status["pid"])), up \(number(status["uptime_seconds"])) s)")
        print("source:      \(status["source"]?.stringValue ?? "?") — camera \(status["camera"]?.stringValue ?? "?")")
        print("model:       \(status["model"]?["name"]?.stringValue ?? "?") (\(number(status["model"]?["classes"])) classes)")
        print("fps:         in \(number(status["fps_in"])), processed \(number(status["fps_out"]))")
        let frames = status["frames"]
        print("frames:      \(number(frames?["in"])) in, \(number(frames?["processed"])) processed, \(number(frames?["dropped"])) dropped, \(number(frames?["errors"])) errors")
        print("detections:  \(number(status["detections"])) logged, \(number(status["explained"])) explained")
        if let latencies = status["latency_ms"]?.objectValue, !latencies.isEmpty {
            for stage in ["decode", "infer", "explain", "committed"] {
                guard let value = latencies[stage] else { continue }
                print("latency:     \(stage.padding(toLength: 10, withPad: " ", startingAt: 0)) p50 \(number(value["p50"])) ms, p99 \(number(value["p99"])) ms")
            }
        }
        let db = status["db"]
        print("database:    \(db?["path"]?.stringValue ?? "?"), \(number(db?["detections"])) detections, \(number(db?["database_bytes"])) bytes")
        if let state = db?["state"]?.stringValue, state != "ok" {
            print("database:    NOT WRITING (\(state)): \(number(db?["buffered"])) detections waiting, \(number(db?["dropped"])) dropped — \(db?["error"]?.stringValue ?? "")")
        } else if let dropped = db?["dropped"]?.doubleValue, dropped > 0 {
            print("database:    \(number(db?["dropped"])) detections dropped while it did not take writes")
        }
        if let capture = status["capture"], capture.objectValue != nil {
            print("capture:     \(number(capture["frames"])) frames, \(number(capture["drops"])) lost, \(number(capture["corrupt"])) broken, \(number(capture["reconnects"])) reconnects")
        }
        print("subscribers: \(number(status["subscribers"]))")
        if let restart = status["restart_required"]?.arrayValue, !restart.isEmpty {
            print("restart required for: \(restart.compactMap(\.stringValue).joined(separator: ", "))")
        }
        if let error = status["last_error"]?.stringValue { print("last error:  \(error)") }
    }
}
