import Foundation
import Synchronization
import Testing

/// Paths of the Capture fixtures, the fake camera and the probe executable.
enum Fixtures {
    /// Project root: three levels up from this file (Tests/CaptureTests/Fixtures.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let captureDirectory = root + "/Tests/Fixtures/capture"
    /// Five 160x120 JPEGs (made by make-fixtures.py with Pillow), served by the fake camera.
    static let jpegDirectory = captureDirectory + "/jpeg"
    static let clip = captureDirectory + "/clip.mjpeg"
    static let clipFramesDirectory = captureDirectory + "/clip-frames"

    static func jpegFiles(in directory: String) throws -> [[UInt8]] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".jpg") }.sorted()
        return try names.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0))) }
    }

    /// The capture-probe executable SwiftPM built next to the test bundle.
    static var probe: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path + "/capture-probe"
    }
}

/// FNV-1a 64, the hash capture-probe prints for each frame's bytes.
func fnv1a(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

/// The fake camera library, built once per test process by scripts/build-fakecam into a
/// private temporary directory (CI starts from a clean clone; parallel runs must not collide).
let fakeCameraLibrary: Result<String, FakeCameraBuildError> = {
    let output = NSTemporaryDirectory() + "edgecam-fakecam-\(getpid())/libfakecam.so"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Fixtures.root + "/scripts/build-fakecam")
    process.arguments = [output]
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = Pipe()
    do {
        try process.run()
    } catch {
        return .failure(FakeCameraBuildError(message: "cannot run scripts/build-fakecam: \(error)"))
    }
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return .failure(FakeCameraBuildError(message: message)) }
    return .success(output)
}()

struct FakeCameraBuildError: Error, CustomStringConvertible {
    var message: String
    var description: String { "building the fake camera failed: \(message)" }
}

final class Flag: Sendable {
    let value = Atomic(false)
}

/// One run of capture-probe: its JSON events and exit status.
struct ProbeRun {
    var events: [[String: Any]]
    var status: Int32
    var standardError: String

    func events(_ kind: String) -> [[String: Any]] { events.filter { $0["event"] as? String == kind } }
    var frames: [[String: Any]] { events("frame") }
    var states: [String] { events("state").compactMap { $0["state"] as? String } }
    var counters: [String: Any] { events("counters").last ?? [:] }
    var errorMessage: String? { events("error").last?["message"] as? String }
    func counter(_ name: String) -> Int { (counters[name] as? NSNumber)?.intValue ?? -1 }
}

/// Runs capture-probe with `arguments`; with `fakeCamera`, under the fake camera's LD_PRELOAD
/// with the given FAKECAM_* settings (defaults: the JPEG fixtures, 160x120/320x240, 100/30 fps).
func runProbe(_ arguments: [String], fakeCamera: [String: String]? = nil, killAfter seconds: Int = 30) throws -> ProbeRun {
    var environment = ProcessInfo.processInfo.environment
    if let fakeCamera {
        environment["LD_PRELOAD"] = try fakeCameraLibrary.get()
        environment["FAKECAM_DEVICE"] = "/dev/video42"
        environment["FAKECAM_JPEG_DIR"] = Fixtures.jpegDirectory
        environment["FAKECAM_SIZES"] = "160x120,320x240"
        environment["FAKECAM_FPS"] = "100,30"
        environment.merge(fakeCamera) { $1 }
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Fixtures.probe)
    process.arguments = arguments
    process.environment = environment
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // A hung probe must fail the test, not hang the suite.
    let pid = process.processIdentifier
    let finished = Flag()
    let watchdog = Thread {
        for _ in 0..<(seconds * 10) {
            if finished.value.load(ordering: .acquiring) { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        if !finished.value.load(ordering: .acquiring) { kill(pid, SIGKILL) }
    }
    watchdog.start()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    finished.value.store(true, ordering: .releasing)
    let events = String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
    return ProbeRun(events: events, status: process.terminationStatus, standardError: errorText)
}

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int { (self[key] as? NSNumber)?.intValue ?? -1 }
    func uint64(_ key: String) -> UInt64 { (self[key] as? NSNumber)?.uint64Value ?? 0 }
    func string(_ key: String) -> String { self[key] as? String ?? "" }
}
