import Foundation
import Testing

@testable import Capture

@Suite("Replay sources")
struct ReplaySourceTests {
    /// The five frames clip.mjpeg must split into, written separately by make-fixtures.py.
    let clipFrames: [[UInt8]]

    init() throws {
        clipFrames = try Fixtures.jpegFiles(in: Fixtures.clipFramesDirectory)
    }

    func frames(from source: some FrameSource, count: Int) throws -> [Frame] {
        var frames: [Frame] = []
        while frames.count < count, case .frame(let frame) = try source.nextFrame(timeout: .seconds(2)) { frames.append(frame) }
        return frames
    }

    @Test func mjpegFileSplitsAroundGarbageThumbnailsAndTruncation() throws {
        let source = try MJPEGFileSource(path: Fixtures.clip)
        #expect(source.frameCount == 5)
        #expect(source.brokenFramesInFile == 1)
        let frames = try frames(from: source, count: 10)
        #expect(frames.map(\.bytes) == clipFrames)
        #expect(frames.map(\.sequence) == [0, 1, 2, 3, 4])
        #expect(frames.allSatisfy { $0.pixelFormat == .mjpeg && $0.width == 160 && $0.height == 120 && $0.deviceSequence == nil })
        #expect(try source.nextFrame(timeout: .seconds(1)) == .endOfStream)
        #expect(source.counters.frames == 5)
    }

    @Test func mjpegFileLoopsWithIncreasingSequence() throws {
        let source = try MJPEGFileSource(path: Fixtures.clip, end: .loop)
        let frames = try frames(from: source, count: 12)
        #expect(frames.count == 12)
        #expect(frames.map(\.bytes) == (clipFrames + clipFrames + clipFrames).prefix(12).map { $0 })
        #expect(frames.map(\.sequence) == Array(0..<12))
    }

    @Test func pacedReplayKeepsTheFrameRate() throws {
        let source = try MJPEGFileSource(path: Fixtures.clip, pacing: .framesPerSecond(50), end: .loop)
        let frames = try frames(from: source, count: 11)
        #expect(frames.count == 11)
        // 10 periods of 20 ms between the first and the last frame.
        let elapsed = Double(frames[10].timestampNanoseconds - frames[0].timestampNanoseconds) / 1e9
        #expect(elapsed > 0.19 && elapsed < 0.6, "10 periods at 50 fps took \(elapsed) s")
    }

    @Test func pacedReplayTimesOutWhenTheNextFrameIsNotDue() throws {
        let source = try MJPEGFileSource(path: Fixtures.clip, pacing: .framesPerSecond(2))
        guard case .frame = try source.nextFrame(timeout: .seconds(1)) else {
            Issue.record("first frame is due at once")
            return
        }
        let start = MonotonicClock.now()
        #expect(try source.nextFrame(timeout: .milliseconds(50)) == .timedOut)
        let waited = Double(MonotonicClock.now() - start) / 1e9
        #expect(waited >= 0.045 && waited < 0.3)
    }

    @Test func unpacedReplayDoesNotWait() throws {
        let source = try MJPEGFileSource(path: Fixtures.clip, end: .loop)
        let start = MonotonicClock.now()
        #expect(try frames(from: source, count: 200).count == 200)
        #expect(Double(MonotonicClock.now() - start) / 1e9 < 2)
    }

    @Test func onlyUnpacedReplayDeliversOnDemand() throws {
        #expect(try MJPEGFileSource(path: Fixtures.clip).deliversOnDemand)
        #expect(try !MJPEGFileSource(path: Fixtures.clip, pacing: .framesPerSecond(30)).deliversOnDemand)
        #expect(try JPEGDirectorySource(directory: Fixtures.clipFramesDirectory).deliversOnDemand)
        #expect(try !JPEGDirectorySource(directory: Fixtures.clipFramesDirectory, pacing: .framesPerSecond(30)).deliversOnDemand)
    }

    @Test func bundledSampleClipHoldsWholeVGAFrames() throws {
        let source = try MJPEGFileSource(path: Fixtures.root + "/demo/sample.mjpeg")
        #expect(source.frameCount == 48 && source.brokenFramesInFile == 0)
        let frames = try frames(from: source, count: 48)
        #expect(frames.allSatisfy { $0.width == 640 && $0.height == 480 })
    }

    @Test func stopEndsTheStream() throws {
        let source = try MJPEGFileSource(path: Fixtures.clip, end: .loop)
        _ = try source.nextFrame(timeout: .seconds(1))
        source.stop()
        #expect(try source.nextFrame(timeout: .seconds(1)) == .endOfStream)
    }

    @Test func jpegDirectoryReplaysFilesInNameOrder() throws {
        let source = try JPEGDirectorySource(directory: Fixtures.jpegDirectory)
        #expect(source.fileNames == ["frame00.jpg", "frame01.jpg", "frame02.jpg", "frame03.jpg", "frame04.jpg"])
        let frames = try frames(from: source, count: 10)
        #expect(frames.map(\.bytes) == (try Fixtures.jpegFiles(in: Fixtures.jpegDirectory)))
        #expect(frames.allSatisfy { $0.width == 160 && $0.height == 120 })
        #expect(try source.nextFrame(timeout: .seconds(1)) == .endOfStream)
    }

    @Test func jpegDirectorySkipsAndCountsFilesThatAreNotJPEG() throws {
        let directory = NSTemporaryDirectory() + "capture-dir-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = try Fixtures.jpegFiles(in: Fixtures.jpegDirectory)
        try Data(good[0]).write(to: URL(fileURLWithPath: directory + "/a.JPG"))
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: directory + "/b.jpg"))
        try Data(good[1].prefix(good[1].count / 2)).write(to: URL(fileURLWithPath: directory + "/c.jpeg"))
        try Data(good[2]).write(to: URL(fileURLWithPath: directory + "/d.jpeg"))
        try Data(good[3]).write(to: URL(fileURLWithPath: directory + "/e.png"))
        let source = try JPEGDirectorySource(directory: directory, end: .loop)
        let frames = try frames(from: source, count: 4)
        #expect(frames.map(\.bytes) == [good[0], good[2], good[0], good[2]])
        #expect(source.counters.corrupt == 4)
    }

    @Test func emptyOrMissingDirectoryIsAClearError() throws {
        let directory = NSTemporaryDirectory() + "capture-empty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: CaptureError.noFrames(path: directory)) { try JPEGDirectorySource(directory: directory) }
        #expect(throws: CaptureError.unreadable(path: directory + "/missing", errno: ENOENT)) {
            try JPEGDirectorySource(directory: directory + "/missing")
        }
        #expect(throws: CaptureError.unreadable(path: directory + "/none.mjpeg", errno: ENOENT)) {
            try MJPEGFileSource(path: directory + "/none.mjpeg")
        }
    }
}
