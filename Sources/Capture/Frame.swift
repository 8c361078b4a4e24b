/// The pixel layout of a captured frame. Capture never decodes: consumers (e.g. `Imaging`)
/// turn these bytes into pixels.
public enum PixelFormat: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Motion-JPEG: each frame is one (possibly DHT-less) JPEG image.
    case mjpeg
    /// Packed YUV 4:2:2, bytes Y0 U Y1 V, `bytesPerLine` bytes per row.
    case yuyv

    /// The V4L2 fourcc code, e.g. `MJPG`.
    public var fourCC: String {
        switch self {
        case .mjpeg: "MJPG"
        case .yuyv: "YUYV"
        }
    }

    public var description: String { fourCC }
}

/// One frame from a `FrameSource`: encoded or raw bytes plus what is needed to interpret them.
public struct Frame: Sendable, Equatable {
    /// The frame's bytes, exactly as the device or file delivered them (`bytesused` bytes).
    public var bytes: [UInt8]
    public var pixelFormat: PixelFormat
    /// Pixel size. For replayed JPEG files it comes from the JPEG header (0 if unreadable).
    public var width: Int
    public var height: Int
    /// Row stride for raw formats; 0 for compressed formats.
    public var bytesPerLine: Int
    /// Position in the source's stream: increases by one per frame, and by more when frames
    /// were lost in between (`dropsBefore`). Keeps increasing across camera reconnects and loops.
    public var sequence: UInt64
    /// The driver's own sequence number (restarts at each stream start); nil for replay sources.
    public var deviceSequence: UInt32?
    /// Capture time on CLOCK_MONOTONIC, in nanoseconds (the V4L2 buffer timestamp for cameras,
    /// the delivery time for replay sources).
    public var timestampNanoseconds: UInt64
    /// Frames the source knows it lost right before this one (driver sequence gaps).
    public var dropsBefore: UInt64

    public init(
        bytes: [UInt8], pixelFormat: PixelFormat, width: Int, height: Int, bytesPerLine: Int,
        sequence: UInt64, deviceSequence: UInt32? = nil, timestampNanoseconds: UInt64,
        dropsBefore: UInt64 = 0
    ) {
        self.bytes = bytes
        self.pixelFormat = pixelFormat
        self.width = width
        self.height = height
        self.bytesPerLine = bytesPerLine
        self.sequence = sequence
        self.deviceSequence = deviceSequence
        self.timestampNanoseconds = timestampNanoseconds
        self.dropsBefore = dropsBefore
    }
}
