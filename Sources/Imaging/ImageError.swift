/// Errors of the image operations other than JPEG coding (see `JPEGError` for those).
public enum ImageError: Error, Equatable, CustomStringConvertible {
    /// A width or height < 1 or above `RGBImage.maximumDimension`.
    case invalidSize(width: Int, height: Int)
    /// Pixel data of the wrong length for the given size and format.
    case byteCountMismatch(expected: Int, actual: Int)
    /// YUYV packs two pixels per 4 bytes, so its width must be even.
    case oddYUYVWidth(Int)
    /// A rectangle that is empty or not inside the image.
    case rectOutsideImage(PixelRect, width: Int, height: Int)
    /// A parameter outside its documented range; the text names it.
    case invalidParameter(String)

    public var description: String {
        switch self {
        case let .invalidSize(w, h):
            return "invalid image size \(w)x\(h): both sides must be 1...\(RGBImage.maximumDimension)"
        case let .byteCountMismatch(expected, actual):
            return "pixel data has \(actual) bytes, expected \(expected) for the given size and format"
        case let .oddYUYVWidth(w):
            return "YUYV width \(w) is odd: YUYV (4:2:2) frames have an even width"
        case let .rectOutsideImage(rect, w, h):
            return "rectangle \(rect) is empty or not inside the \(w)x\(h) image"
        case let .invalidParameter(text):
            return "invalid parameter: \(text)"
        }
    }
}
