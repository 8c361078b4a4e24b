import ArgumentParser
import Control
import Foundation
import NPY

/// `edgecam detections [filters] [--json]`
struct DetectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detections", abstract: "List logged detections, newest first.",
        discussion: "--json prints {\"items\": [...], \"next_cursor\": ...}; each item has id, time (Unix ms), frame, class, label, score, box, peak, latency_ms, method, layer, has_heatmap.")

    @OptionGroup var connection: SocketOption
    @Option(help: "Only detections at or after this time (Unix ms, ISO 8601, or an age like 15m).")
    var since: String?
    @Option(help: "Only detections before this time.")
    var until: String?
    @Option(help: "Only this label.")
    var label: String?
    @Option(help: "Only scores at or above this.")
    var minScore: Double?
    @Option(help: "Rows per page (1…10000).")
    var limit = 50
    @Option(help: "Continue after a previous page (its next_cursor).")
    var cursor: String?
    @Flag(help: "Print the page as one JSON document.")
    var json = false

    func run() throws {
        var args: [String: JSONValue] = ["limit": .number(Double(limit))]
        if let since { args["since"] = .number(Double(try parseTime(since))) }
        if let until { args["until"] = .number(Double(try parseTime(until))) }
        if let label { args["label"] = .string(label) }
        if let minScore { args["min_score"] = .number(minScore) }
        if let cursor { args["cursor"] = .string(cursor) }
        let arguments = args
        let page = try connection.withClient { client throws(ControlClientError) in try client.call("detections", arguments: arguments) }
        if json {
            print(page.prettyJSONText)
            return
        }
        let items = page["items"]?.arrayValue ?? []
        print("ID".padded(8) + "TIME".padded(25) + "SCORE".padded(8) + "BOX".padded(26) + "LABEL")
        for item in items {
            var box = "-"
            if let b = item["box"], !b.isNull {
                box = ["x0", "y0", "x1", "y1"].map { String(Int((b[$0]?.doubleValue ?? 0).rounded())) }.joined(separator: ",")
            }
            print(String(item["id"]?.intValue ?? 0).padded(8) + formatTime(item["time"]?.doubleValue ?? 0).padded(25)
                  + String(format: "%.3f", item["score"]?.doubleValue ?? 0).padded(8) + box.padded(26) + (item["label"]?.stringValue ?? ""))
        }
        if let next = page["next_cursor"]?.stringValue { print("more: --cursor \(next)") }
    }
}

/// `edgecam show ID`
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print one detection as JSON.")
    @OptionGroup var connection: SocketOption
    @Argument(help: "Detection id.")
    var id: Int64

    func run() throws {
        let id = self.id
        let detection = try connection.withClient { client throws(ControlClientError) in
            try client.call("detection", arguments: ["id": .number(Double(id))])
        }
        print(detection.prettyJSONText)
    }
}

/// `edgecam heatmap ID -o overlay.jpg | --raw grid.npy`
struct HeatmapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heatmap", abstract: "Save a detection's heatmap: the overlay JPEG, or the raw uint8 grid as .npy (H×W).")
    @OptionGroup var connection: SocketOption
    @Argument(help: "Detection id.")
    var id: Int64
    @Option(name: .shortAndLong, help: "Write the overlay JPEG here.")
    var output: String?
    @Option(help: "Write the uint8 grid here as .npy (H×W, 0 = coldest, 255 = hottest).")
    var raw: String?

    func validate() throws {
        if output == nil && raw == nil { throw ValidationError("say where to write: -o overlay.jpg and/or --raw grid.npy") }
    }

    func run() throws {
        let id = self.id
        let format = output != nil && raw != nil ? "both" : (output != nil ? "overlay" : "grid")
        let reply = try connection.withClient { client throws(ControlClientError) in
            try client.call("heatmap", arguments: ["id": .number(Double(id)), "format": .string(format)])
        }
        if let output {
            try writeFile(try base64Field(reply["overlay_jpeg"], "overlay_jpeg"), to: output)
            print("overlay written to \(output)")
        }
        if let raw {
            let grid = try base64Field(reply["grid"], "grid")
            let width = reply["width"]?.intValue ?? 0, height = reply["height"]?.intValue ?? 0
            guard width * height == grid.count else { throw CLIError("edgecamd's heatmap grid does not match \(width)×\(height)") }
            do {
                try NPYArray(dtype: .uint8, shape: [height, width], data: [UInt8](grid)).write(to: raw)
            } catch {
                throw CLIError("cannot write \(raw): \(error)")
            }
            print("grid \(height)×\(width) written to \(raw)")
        }
    }
}

extension String {
    fileprivate func padded(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
