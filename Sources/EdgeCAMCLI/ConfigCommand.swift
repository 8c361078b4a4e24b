import ArgumentParser
import Control
import Foundation

/// `edgecam config get [KEY]` / `edgecam config set KEY VALUE`
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Read or change edgecamd's settings.", subcommands: [Get.self, Set.self])

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one setting, or all of them (TOML keys, e.g. detection.min_score).")
        @OptionGroup var connection: SocketOption
        @Argument(help: "The key; all keys when omitted.")
        var key: String?

        func run() throws {
            var args: [String: JSONValue] = [:]
            if let key { args["key"] = .string(key) }
            let arguments = args
            let reply = try connection.withClient { client throws(ControlClientError) in try client.call("config.get", arguments: arguments) }
            if key != nil {
                print(reply["value"]?.jsonText ?? "null")
            } else {
                for (name, value) in (reply.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) { print("\(name) = \(value.jsonText)") }
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a setting. Live settings apply at once; others are reported as needing a restart.")
        @OptionGroup var connection: SocketOption
        @Argument(help: "The key, e.g. detection.min_score.")
        var key: String
        @Argument(help: "The value as TOML or plain text, e.g. 0.3, gradcam, \"cat, dog\".")
        var value: String

        func run() throws {
            let arguments: [String: JSONValue] = ["key": .string(key), "value": .string(value)]
            let reply = try connection.withClient { client throws(ControlClientError) in try client.call("config.set", arguments: arguments) }
            let shown = reply["value"]?.jsonText ?? value
            if reply["applied"]?.boolValue == true {
                print("\(key) = \(shown) (applied)")
            } else {
                print("\(key) = \(shown) (restart edgecamd to apply)")
            }
        }
    }
}
