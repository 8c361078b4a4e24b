import Testing

@testable import Capture

@Suite("MJPEG splitting and JPEG marker checks")
struct MJPEGSplitterTests {
    /// A minimal structurally valid JPEG: SOI, one segment, SOS, entropy data with a stuffed
    /// FF 00 and a restart marker, EOI.
    static let tiny: [UInt8] =
        [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02, 0xFF, 0xDA, 0x00, 0x03, 0x00]
        + [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9]

    func split(_ bytes: [UInt8]) -> MJPEGSplitter { bytes.withUnsafeBytes { MJPEGSplitter($0) } }

    @Test func splitsBackToBackFramesAndSkipsGarbage() {
        let stream: [UInt8] = [0x00, 0xFF, 0xD8, 0x00] + Self.tiny + [0xFF, 0xFF, 0x00] + Self.tiny + [0x01]
        let result = split(stream)
        #expect(result.frames.count == 2)
        #expect(result.frames.map { Array(stream[$0]) } == [Self.tiny, Self.tiny])
        #expect(result.corrupt == 0)
    }

    @Test func frameCutByTheNextStartOfImageIsDropped() {
        let cut = Array(Self.tiny.prefix(16))
        let result = split(cut + Self.tiny)
        #expect(result.frames == [cut.count..<(cut.count + Self.tiny.count)])
        #expect(result.corrupt == 1)
    }

    @Test func emptyAndGarbageStreamsHoldNoFrames() {
        #expect(split([]).frames.isEmpty)
        let garbage = split([UInt8](repeating: 0xFF, count: 100) + [0xD8, 0x00, 0xD9])
        #expect(garbage.frames.isEmpty)
        #expect(split(Array(Self.tiny.dropLast(2))).corrupt == 1)
    }

    @Test func plausibilityNeedsStartAndEndOfImage() {
        func check(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { JPEGMarkers.isPlausibleFrame($0) } }
        #expect(check(Self.tiny))
        #expect(check(Self.tiny + [0, 0, 0, 0]))  // zero padding after EOI (some UVC cameras)
        #expect(!check(Array(Self.tiny.dropFirst())))
        #expect(!check(Array(Self.tiny.dropLast())))
        #expect(!check([]))
    }

    @Test func dimensionsComeFromTheFrameHeader() throws {
        let files = try Fixtures.jpegFiles(in: Fixtures.jpegDirectory)
        let size = files[0].withUnsafeBytes { JPEGMarkers.dimensions($0) }
        #expect(size?.width == 160 && size?.height == 120)
        #expect(Self.tiny.withUnsafeBytes { JPEGMarkers.dimensions($0) } == nil)
    }
}
