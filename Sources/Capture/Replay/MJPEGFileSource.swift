/// Replays a concatenated MJPEG file (JPEG after JPEG, as `ffmpeg -c:v mjpeg -f mjpeg` or
/// `v4l2-ctl --stream-to` write it). The file is read and split once, at creation: bytes
/// between frames are ignored and broken frames are skipped (counted in `brokenFramesInFile`).
public final class MJPEGFileSource: FrameSource {
    public let path: String
    /// Complete frames found in the file.
    public let frameCount: Int
    /// Frames found broken while splitting (truncated, or cut by the next SOI).
    public let brokenFramesInFile: Int
    private let player: ReplayPlayer<Slices>

    private struct Slices: ReplayFrames {
        let path: String
        let bytes: [UInt8]
        let ranges: [Range<Int>]
        var count: Int { ranges.count }
        func bytes(at index: Int) -> [UInt8]? { Array(bytes[ranges[index]]) }
    }

    /// Throws when the file cannot be read or holds no complete JPEG frame.
    public init(path: String, pacing: ReplayPacing = .asFastAsPossible, end: ReplayEnd = .stop) throws(CaptureError) {
        let bytes = try FileReading.contents(of: path)
        let split = bytes.withUnsafeBytes { MJPEGSplitter($0) }
        guard !split.frames.isEmpty else { throw .noFrames(path: path) }
        if case .framesPerSecond(let fps) = pacing, !(fps > 0 && fps.isFinite) {
            throw .invalidConfiguration("replay rate \(fps) must be positive")
        }
        self.path = path
        self.frameCount = split.frames.count
        self.brokenFramesInFile = split.corrupt
        self.player = ReplayPlayer(frames: Slices(path: path, bytes: bytes, ranges: split.frames), pacing: pacing, end: end)
    }

    public func nextFrame(timeout: Duration) throws(CaptureError) -> FrameReadResult {
        try player.nextFrame(timeout: timeout)
    }

    public var counters: CaptureCounters { player.counters }

    /// True without pacing: frames are read when asked for.
    public var deliversOnDemand: Bool { player.deliversOnDemand }

    /// Ends the replay. A call blocked in pacing returns within one frame period.
    public func stop() { player.stop() }
}
