import Glibc

/// Why a frame source could not start or go on. Messages name the device or file and say what
/// to do about it.
public enum CaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The device path does not exist (ENOENT/ENXIO/ENODEV at open).
    case deviceNotFound(path: String)
    /// Opening the device was refused (EACCES/EPERM).
    case permissionDenied(path: String)
    /// Another process holds the device (EBUSY).
    case deviceBusy(path: String)
    /// The device cannot capture video or cannot stream with mmap buffers.
    case notACaptureDevice(path: String, card: String)
    /// None of the acceptable pixel formats is offered; `available` lists what the device has.
    case noSupportedFormat(path: String, wanted: [String], available: [String])
    /// The device went away or failed while streaming (ENODEV, EIO, ...).
    case deviceLost(path: String, operation: String, errno: Int32)
    /// No frame arrived for `seconds` while streaming.
    case stalled(path: String, seconds: Double)
    /// A system call failed in a way not covered above.
    case systemCall(path: String, operation: String, errno: Int32)
    /// A replay file or directory could not be read.
    case unreadable(path: String, errno: Int32)
    /// A replay source holds no usable frame.
    case noFrames(path: String)
    /// A configuration value is out of range.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .deviceNotFound(let path):
            "camera \(path) not found: check that it is plugged in and the path is right (`v4l2-ctl --list-devices` lists cameras)"
        case .permissionDenied(let path):
            "permission denied opening \(path): add the user to the 'video' group (`sudo usermod -aG video $USER`, then log in again) or run the service with SupplementaryGroups=video"
        case .deviceBusy(let path):
            "camera \(path) is busy: another program is using it (find it with `fuser -v \(path)`)"
        case .notACaptureDevice(let path, let card):
            "\(path) (\(card)) is not a streaming video capture device: pick the camera's capture node (`v4l2-ctl --list-devices`)"
        case .noSupportedFormat(let path, let wanted, let available):
            "camera \(path) offers none of \(wanted.joined(separator: ", ")); it offers \(available.isEmpty ? "nothing" : available.joined(separator: ", "))"
        case .deviceLost(let path, let operation, let code):
            "camera \(path) lost during \(operation): \(Self.describe(errno: code))"
        case .stalled(let path, let seconds):
            "camera \(path) delivered no frame for \(seconds) s"
        case .systemCall(let path, let operation, let code):
            "\(operation) failed on \(path): \(Self.describe(errno: code))"
        case .unreadable(let path, let code):
            "cannot read \(path): \(Self.describe(errno: code))"
        case .noFrames(let path):
            "\(path) holds no usable JPEG frame"
        case .invalidConfiguration(let message):
            "invalid capture configuration: \(message)"
        }
    }

    static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: text)) (errno \(code))"
    }
}
