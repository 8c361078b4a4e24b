/// An 8-bit RGB image: `width * height` pixels, row-major, 3 bytes per pixel (R, G, B), no padding.
///
/// Value type: copies share storage until written (copy-on-write of the `bytes` array).
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels (≥ 1).
    public let width: Int
    /// Height in pixels (≥ 1).
    public let height: Int
    /// `width * height * 3` bytes: pixel (x, y) starts at `(y * width + x) * 3`.
    public internal(set) var bytes: [UInt8]

    /// Wraps RGB8 bytes. Throws if a dimension is < 1 or `bytes.count != width * height * 3`.
    public init(width: Int, height: Int, bytes: [UInt8]) throws(ImageError) {
        try Self.validate(width: width, height: height)
        guard bytes.count == width * height * 3 else {
            throw .byteCountMismatch(expected: width * height * 3, actual: bytes.count)
        }
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    /// An image filled with one colour.
    public init(width: Int, height: Int, fill: RGB) throws(ImageError) {
        try Self.validate(width: width, height: height)
        var bytes = [UInt8](repeating: 0, count: width * height * 3)
        bytes.withUnsafeMutableBufferPointer { out in
            for i in stride(from: 0, to: out.count, by: 3) {
                out[i] = fill.r
                out[i + 1] = fill.g
                out[i + 2] = fill.b
            }
        }
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    /// For code in this module that has already established the invariants.
    init(validatedWidth width: Int, height: Int, bytes: [UInt8]) {
        self.width = width
        self.height = height
        self.bytes = bytes
    }

    /// The colour at (x, y), or nil outside the image.
    public func pixel(x: Int, y: Int) -> RGB? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let i = (y * width + x) * 3
        return RGB(bytes[i], bytes[i + 1], bytes[i + 2])
    }

    /// Sets the colour at (x, y); does nothing outside the image.
    public mutating func setPixel(x: Int, y: Int, to color: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        bytes[i] = color.r
        bytes[i + 1] = color.g
        bytes[i + 2] = color.b
    }

    /// Largest accepted dimension: keeps `width * height * 3` far from overflow and allocations sane.
    public static let maximumDimension = 1 << 16

    static func validate(width: Int, height: Int) throws(ImageError) {
        guard width >= 1, height >= 1, width <= maximumDimension, height <= maximumDimension else {
            throw .invalidSize(width: width, height: height)
        }
    }
}

/// An 8-bit RGB colour.
public struct RGB: Sendable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public static let red = RGB(255, 0, 0)
    public static let green = RGB(0, 255, 0)
    /// Mid grey (114), the usual letterbox fill of detection models.
    public static let letterboxGrey = RGB(114, 114, 114)
}

/// A rectangle of whole pixels: columns `x ..< x + width`, rows `y ..< y + height`.
public struct PixelRect: Sendable, Hashable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    /// From inclusive corner coordinates (x0, y0) ... (x1, y1), the convention of the refs' boxes.
    public init(x0: Int, y0: Int, x1: Int, y1: Int) {
        self.init(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
    }

    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}
