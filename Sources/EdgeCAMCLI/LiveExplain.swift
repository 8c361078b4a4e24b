import ArgumentParser
import Control
import Explain
import Foundation

extension ExplainCommand {
    /// `edgecam explain --live`: edgecamd explains its latest frame (or `model`, read as a JPEG
    /// path on the daemon's side) with its own model; the overlay JPEG it returns is written to
    /// `--output`. Nothing is stored.
    func explainLive(method: ExplanationMethod) throws {
        var arguments: [String: JSONValue] = ["method": .string(method.rawValue), "overlay": true]
        if let path = model { arguments["path"] = .string(URL(fileURLWithPath: path).path) }
        if let layer { arguments["layer"] = .string(layer) }
        if target != "top1" {
            arguments["target"] = Int(target).map { .number(Double($0)) } ?? .string(target)
        }
        let reply = try connection.withClient(timeout: .seconds(120)) { client throws(ControlClientError) in
            try client.call("explain", arguments: arguments)
        }
        try writeFile(try base64Field(reply["overlay_jpeg"], "overlay_jpeg"), to: output)
        let label = reply["label"]?.stringValue.map { " '\($0)'" } ?? ""
        let frame = reply["frame"]?.intValue.map { "frame \($0)" } ?? (model ?? "image")
        let box = reply["box"].flatMap { box -> String? in
            guard let x0 = box["x0"]?.intValue, let y0 = box["y0"]?.intValue,
                  let x1 = box["x1"]?.intValue, let y1 = box["y1"]?.intValue else { return nil }
            return " box [\(x0), \(y0), \(x1), \(y1)]"
        } ?? ""
        print("\(frame): class \(reply["class"]?.intValue ?? -1)\(label) logit \(reply["logit"]?.doubleValue ?? .nan)\(box)")
        print("wrote \(output)")
    }
}
