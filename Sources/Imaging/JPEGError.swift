/// Why a JPEG could not be decoded or encoded.
public enum JPEGError: Error, Equatable, CustomStringConvertible {
    /// No JPEG start-of-image marker (FF D8) followed by JPEG markers in the buffer.
    case notJPEG
    /// libjpeg stopped with an error or a warning (truncated data, bad Huffman code, ...).
    /// The text is libjpeg's own message. Camera code counts these as corrupt frames.
    case corrupt(String)
    /// CMYK, YCCK or an unknown colour space; only greyscale, YCbCr and RGB JPEGs decode.
    case unsupportedColorSpace(String)
    /// The header announces more pixels than the decoder's limit (a guard against hostile headers).
    case tooLarge(width: Int, height: Int, maximumPixelCount: Int)
    /// Encoder quality outside 1...100.
    case invalidQuality(Int)
    /// libjpeg could not allocate its state.
    case outOfMemory
    /// libjpeg refused to encode; the text is its message.
    case encodingFailed(String)

    public var description: String {
        switch self {
        case .notJPEG:
            return "not a JPEG: no start-of-image marker (FF D8) followed by JPEG markers"
        case let .corrupt(message):
            return "corrupt or truncated JPEG: \(message)"
        case let .unsupportedColorSpace(space):
            return "unsupported JPEG colour space \(space): only greyscale, YCbCr and RGB JPEGs decode"
        case let .tooLarge(w, h, limit):
            return "JPEG of \(w)x\(h) pixels exceeds the decoder limit of \(limit) pixels"
        case let .invalidQuality(q):
            return "JPEG quality \(q) is outside 1...100"
        case .outOfMemory:
            return "out of memory for the JPEG codec"
        case let .encodingFailed(message):
            return "JPEG encoding failed: \(message)"
        }
    }
}
