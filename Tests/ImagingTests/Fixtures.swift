import Foundation
import Imaging

/// Test data: small committed fixtures (Tests/Fixtures/jpeg, made by scripts/make-jpeg-fixtures.py
/// with libjpeg-turbo's cjpeg/djpeg, numpy and matplotlib) and, when present, ../shared/refs.
enum Fixtures {
    /// The package root: three levels up from this file (Tests/ImagingTests/Fixtures.swift).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let jpegDirectory = root.appendingPathComponent("Tests/Fixtures/jpeg")
    static let refs = root.appendingPathComponent("../shared/refs").standardizedFileURL

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "fixture missing: \(path)" }
    }

    static func jpegFile(_ name: String) throws -> [UInt8] {
        try bytes(jpegDirectory.appendingPathComponent(name))
    }

    static func refsFile(_ relativePath: String) throws -> [UInt8] {
        try bytes(refs.appendingPathComponent(relativePath))
    }

    static var refsAvailable: Bool {
        FileManager.default.fileExists(atPath: refs.appendingPathComponent("README.md").path)
    }

    static func bytes(_ url: URL) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw Missing(path: url.path) }
        return [UInt8](data)
    }

    static func floats(_ bytes: [UInt8]) -> [Float] {
        stride(from: 0, to: bytes.count - 3, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16
                | UInt32(bytes[i + 3]) << 24)
        }
    }

    /// The 75x50 RGB crop of scikit-image's chelsea that every JPEG fixture encodes.
    static func photo() throws -> RGBImage {
        try RGBImage(width: 75, height: 50, bytes: jpegFile("photo-75x50.rgb"))
    }

    /// Largest absolute byte difference and how many bytes differ at all.
    static func difference(_ a: [UInt8], _ b: [UInt8]) -> (max: Int, count: Int) {
        var maxDiff = 0, count = 0
        for (x, y) in zip(a, b) where x != y {
            maxDiff = max(maxDiff, abs(Int(x) - Int(y)))
            count += 1
        }
        return (maxDiff, count)
    }
}
