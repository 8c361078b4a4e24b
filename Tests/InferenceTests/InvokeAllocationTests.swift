import Foundation
import Testing

/// Zero heap allocations per steady-state inference (issue #3, item 7), measured in the
/// InferenceBenchmark executable, which interposes malloc and friends for its whole process
/// (a test process cannot: other tests allocate at the same time).
@Suite struct InvokeAllocationTests {
    /// The InferenceBenchmark executable SwiftPM built next to the test bundle.
    static var benchmark: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path + "/InferenceBenchmark"
    }

    @Test("steady-state invoke() of EfficientNet-Lite0 allocates nothing", arguments: [1, 2])
    func invokeAllocatesNothing(threads: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.benchmark)
        process.arguments = [Fixtures.projectRoot.appendingPathComponent("demo/efficientnet_lite0_int8.tflite").path,
                             "--threads", String(threads), "--runs", "3"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let line = output.split(separator: "\n").first { $0.hasPrefix("allocations_per_invoke ") }
        // "unknown" would mean the interposer is not in effect: the check must not pass vacuously.
        #expect(line == "allocations_per_invoke 0.0", "benchmark said: \(output)")
    }
}
