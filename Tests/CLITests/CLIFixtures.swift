import Foundation
import NPY

/// Test data for the `explain` and `bench` command tests: files under `Tests/Fixtures` and scratch directories.
enum CLIFixtures {
    /// `Tests/Fixtures/<relativePath>` as a path relative to the project root (the commands' working directory).
    static func path(_ relativePath: String) -> String { "Tests/Fixtures/" + relativePath }

    /// The bytes of `Tests/Fixtures/<relativePath>`.
    static func data(_ relativePath: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: EdgeCAMCommand.projectRoot.appendingPathComponent(path(relativePath))))
    }

    /// Little-endian float32 values of a fixture.
    static func floats(_ relativePath: String) throws -> [Float] {
        let bytes = try data(relativePath)
        return stride(from: 0, to: bytes.count - 3, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }

    /// The shapes-a int8 model (96x96x3 int8 input, 5 logits, 16 ops).
    static let shapesModel = path("refs/shapes/shapes-a_int8.tflite")

    /// The first `count` shapes dev inputs (LiteRT's int8 inputs), written as N×96×96×3 int8 `.npy` in `directory`.
    static func shapesInputs(_ count: Int, in directory: URL) throws -> String {
        let sample = 96 * 96 * 3
        let bytes = try data("refs/shapes/dev/input.i8")
        let file = directory.appendingPathComponent("x.npy").path
        try NPYArray(dtype: .int8, shape: [count, 96, 96, 3], data: Array(bytes.prefix(count * sample))).write(to: file)
        return file
    }

    /// A fresh directory, removed by `body`'s caller through the returned cleanup.
    static func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgecam-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    /// Pearson correlation of two equally long samples.
    static func pearson(_ a: [Float], _ b: [Float]) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0) { $0 + Double($1) } / n, mb = b.reduce(0) { $0 + Double($1) } / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) {
            let dx = Double(x) - ma, dy = Double(y) - mb
            sab += dx * dy; saa += dx * dx; sbb += dy * dy
        }
        return sab / (saa * sbb).squareRoot()
    }
}
