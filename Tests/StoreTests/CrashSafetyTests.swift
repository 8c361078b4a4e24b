import Foundation
import Testing
@testable import Store

@Suite struct CrashSafetyTests {
    /// The StoreCrashWriter executable, built by `swift test` next to the test bundle.
    private static var writerURL: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("StoreCrashWriter")
    }

    @Test func everyAcknowledgedDetectionSurvivesSIGKILL() throws {
        let writer = Self.writerURL
        try #require(FileManager.default.isExecutableFile(atPath: writer.path), "StoreCrashWriter not built at \(writer.path)")
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("edgecam.sqlite")

        let process = Process()
        process.executableURL = writer
        process.arguments = [path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var text = ""
        var acknowledged: [Int64] = []
        let deadline = Date().addingTimeInterval(60)
        while acknowledged.count < 200, Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // the writer exited early
            text += String(decoding: chunk, as: UTF8.self)
            acknowledged = text.split(separator: "\n").compactMap { line in
                line.hasPrefix("acked ") ? Int64(line.dropFirst(6)) : nil  // a torn last line is no ack
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let lastAcknowledged = try #require(acknowledged.last, "the writer acknowledged nothing")
        #expect(acknowledged.count >= 200)
        // Killed without closing: the commits are in the WAL, not yet in the database file.
        #expect(DetectionStore.fileSize(path + "-wal") > 0)

        let store = try DetectionStore(path: path)
        let stats = try store.stats()
        #expect(try store.detection(id: lastAcknowledged) != nil)
        #expect(stats.detections >= Int(lastAcknowledged))  // ids 1…last, none missing
        #expect(stats.detections % 10 == 0)                  // whole batches only
        #expect(stats.heatmaps == stats.detections)
        #expect(try store.integrityCheck().ok)
    }
}
