/// Replays the *.jpg / *.jpeg files of a directory in name order, as MJPEG frames.
/// Files are read when due, so directories of any length work. Files that are not JPEGs
/// (no SOI/EOI) are skipped and counted as corrupt.
public final class JPEGDirectorySource: FrameSource {
    public let directory: String
    /// The file names that will be replayed, in order.
    public let fileNames: [String]
    private let player: ReplayPlayer<Files>

    private struct Files: ReplayFrames {
        let path: String
        let names: [String]
        var count: Int { names.count }
        func bytes(at index: Int) throws(CaptureError) -> [UInt8]? {
            let bytes = try FileReading.contents(of: path + "/" + names[index])
            return bytes.withUnsafeBytes { JPEGMarkers.isPlausibleFrame($0) } ? bytes : nil
        }
    }

    /// Throws when the directory cannot be read or holds no JPEG file.
    public init(directory: String, pacing: ReplayPacing = .asFastAsPossible, end: ReplayEnd = .stop) throws(CaptureError) {
        let names = try FileReading.files(in: directory, extensions: [".jpg", ".jpeg"])
        guard !names.isEmpty else { throw .noFrames(path: directory) }
        if case .framesPerSecond(let fps) = pacing, !(fps > 0 && fps.isFinite) {
            throw .invalidConfiguration("replay rate \(fps) must be positive")
        }
        self.directory = directory
        self.fileNames = names
        self.player = ReplayPlayer(frames: Files(path: directory, names: names), pacing: pacing, end: end)
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
