import Foundation
import Glibc
import Store
import Testing

/// edgecamd on a V4L2 camera: the fake camera library (Tests/FakeCamera) preloaded into the
/// daemon emulates /dev/video42 serving the capture JPEG fixtures.
@Suite("edgecamd on the fake camera")
struct FakeCameraDaemonTests {
    static func buildFakeCamera() throws -> String {
        let output = NSTemporaryDirectory() + "edgecamd-fakecam-\(UUID().uuidString.prefix(8))/libfakecam.so"
        let process = Process()
        process.executableURL = DaemonProcess.projectRoot.appendingPathComponent("scripts/build-fakecam")
        process.arguments = [output]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw DaemonTestError("scripts/build-fakecam failed") }
        return output
    }

    @Test func cameraFramesRunThroughThePipeline() throws {
        let library = try Self.buildFakeCamera()
        defer { try? FileManager.default.removeItem(atPath: (library as NSString).deletingLastPathComponent) }
        let daemon = try DaemonProcess(
            arguments: EndToEndTests.modelArguments + ["--source", "v4l2:/dev/video42", "--fps", "30", "--min-score", "0.01"],
            environment: [
                "LD_PRELOAD": library, "FAKECAM_DEVICE": "/dev/video42",
                "FAKECAM_JPEG_DIR": DaemonProcess.projectRoot.appendingPathComponent("Tests/Fixtures/capture/jpeg").path,
                "FAKECAM_SIZES": "320x240,640x480", "FAKECAM_FPS": "30",
            ])
        var processed = 0
        var camera = ""
        let deadline = Date().addingTimeInterval(30)
        while processed < 3, Date() < deadline {
            usleep(200_000)
            let status = try daemon.cli(["status", "--json"])
            guard status.status == 0, let json = try? JSONLineDecoding.decode(status.stdout) else { continue }
            processed = json["frames"]?["processed"]?.intValue ?? 0
            camera = json["camera"]?.stringValue ?? ""
        }
        #expect(processed >= 3, "\(daemon.standardError)")
        #expect(camera == "streaming")
        #expect(daemon.terminate() == 0, "\(daemon.standardError)")
        let store = try DetectionStore(path: daemon.database)
        let events = try store.events(limit: 100)
        #expect(events.contains { $0.kind == .connect }, "\(events)")
        #expect(try store.stats().detections >= 1)
        try store.close()
    }
}
