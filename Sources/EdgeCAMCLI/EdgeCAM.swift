import ArgumentParser

/// `edgecam`: inspect, run and explain int8 TFLite models offline, and talk to a running `edgecamd`.
@main
struct EdgeCAM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgecam",
        abstract: "Where is the camera model looking? Int8 TFLite inference and explanations.",
        version: "0.1.0",
        subcommands: [InspectCommand.self, InferCommand.self, ExplainCommand.self, BenchCommand.self,
                      StatusCommand.self, DetectionsCommand.self, ShowCommand.self, HeatmapCommand.self, TailCommand.self,
                      ConfigCommand.self, PauseCommand.self, ResumeCommand.self, SnapshotCommand.self]
    )
}
