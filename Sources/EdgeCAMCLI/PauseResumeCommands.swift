import ArgumentParser
import Control
import Foundation

/// `edgecam pause`
struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop running the model on frames (capture goes on).")
    @OptionGroup var connection: SocketOption

    func run() throws {
        _ = try connection.withClient { client throws(ControlClientError) in try client.call("pause") }
        print("paused")
    }
}

/// `edgecam resume`
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Run the model on frames again.")
    @OptionGroup var connection: SocketOption

    func run() throws {
        _ = try connection.withClient { client throws(ControlClientError) in try client.call("resume") }
        print("resumed")
    }
}

/// `edgecam snapshot -o frame.jpg`
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshot", abstract: "Save the latest camera frame as a JPEG.")
    @OptionGroup var connection: SocketOption
    @Option(name: .shortAndLong, help: "Where to write the JPEG.")
    var output: String

    func run() throws {
        let reply = try connection.withClient { client throws(ControlClientError) in try client.call("snapshot") }
        try writeFile(try base64Field(reply["jpeg"], "jpeg"), to: output)
        print("frame \(reply["frame"]?.intValue ?? 0) (\(reply["width"]?.intValue ?? 0)×\(reply["height"]?.intValue ?? 0)) written to \(output)")
    }
}
