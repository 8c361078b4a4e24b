import Foundation

/// Locates test data: `Tests/Fixtures` inside the project and `../shared/refs` beside it.
enum Fixtures {
    /// The package root, found from this file's path (Tests/ExplainTests/Fixtures.swift).
    static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures`.
    static let directory = projectRoot.appendingPathComponent("Tests/Fixtures")

    /// The bytes of `Tests/Fixtures/<relativePath>`.
    static func data(_ relativePath: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: directory.appendingPathComponent(relativePath)))
    }

    /// Little-endian float32 values of `Tests/Fixtures/<relativePath>`.
    static func floats(_ relativePath: String) throws -> [Float] {
        let bytes = try data(relativePath)
        return stride(from: 0, to: bytes.count - 3, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }

    /// Little-endian int32 values of `Tests/Fixtures/<relativePath>`.
    static func int32s(_ relativePath: String) throws -> [Int32] {
        let bytes = try data(relativePath)
        return stride(from: 0, to: bytes.count - 3, by: 4).map { i in
            Int32(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }

    /// The bundled EfficientNet-Lite0 int8 model.
    static func imagenetModel() throws -> [UInt8] {
        try [UInt8](Data(contentsOf: projectRoot.appendingPathComponent("demo/efficientnet_lite0_int8.tflite")))
    }

    /// The shapes-a localization model.
    static func shapesModel() throws -> [UInt8] { try data("refs/shapes/shapes-a_int8.tflite") }
}
