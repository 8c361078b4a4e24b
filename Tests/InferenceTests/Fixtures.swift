import Foundation

/// Locates test data: `Tests/Fixtures` inside the project (committed copies) and the demo assets.
enum Fixtures {
    /// The package root, found from this file's path (Tests/InferenceTests/Fixtures.swift).
    static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures`.
    static let directory = projectRoot.appendingPathComponent("Tests/Fixtures")

    /// `../shared/refs` beside the project, when present (CI and development machines have it).
    static let sharedRefs: URL? = {
        let url = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/refs")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()

    /// The bytes of `Tests/Fixtures/<relativePath>`.
    static func data(_ relativePath: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: directory.appendingPathComponent(relativePath)))
    }

    /// The bytes of a file relative to the project root (e.g. `demo/efficientnet_lite0_int8.tflite`).
    static func projectFile(_ relativePath: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: projectRoot.appendingPathComponent(relativePath)))
    }

    /// The bundled EfficientNet-Lite0 int8 model.
    static func imagenetModel() throws -> [UInt8] { try projectFile("demo/efficientnet_lite0_int8.tflite") }
    /// The shapes-a localization model.
    static func shapesModel() throws -> [UInt8] { try data("refs/shapes/shapes-a_int8.tflite") }
}
