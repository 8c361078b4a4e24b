import CJPEG

/// Summary of a JPEG header.
public struct JPEGHeader: Sendable, Equatable {
    /// Full image size as stored in the file.
    public var width: Int
    public var height: Int
    /// 1 (greyscale), 3 (YCbCr/RGB), 4 (CMYK/YCCK).
    public var components: Int
    /// True for progressive (SOF2) files.
    public var isProgressive: Bool

    public init(width: Int, height: Int, components: Int, isProgressive: Bool) {
        self.width = width
        self.height = height
        self.components = components
        self.isProgressive = isProgressive
    }
}

/// Decodes JPEG (and UVC MJPEG) frames to `RGBImage` with libjpeg-turbo.
///
/// Behaviour, in the order applied:
/// 1. The buffer is scanned for the first complete image (`JPEGImageSpan.first(in:)`): garbage
///    before the SOI is skipped, an image cut off by a new SOI is dropped in favour of the next
///    one, and bytes after the EOI (say a second concatenated JPEG) are ignored.
/// 2. If no DHT segment precedes the first scan (UVC MJPEG), the standard Huffman tables are
///    inserted (libjpeg-turbo would also supply them, other libjpegs do not).
/// 3. libjpeg decodes with djpeg's default settings — accurate integer IDCT (`JDCT_ISLOW`) and
///    fancy (triangle-filter) chroma upsampling — to RGB8, so results equal `djpeg -ppm [-scale 1/N]`
///    byte for byte. Greyscale files come out as RGB with R = G = B.
/// 4. Any libjpeg warning ("Premature end of JPEG file", "Corrupt JPEG data: ...") aborts the
///    decode with `JPEGError.corrupt`: a frame with made-up pixels is a corrupt frame.
///
/// A decoder keeps libjpeg's state between calls to save allocations. It is not thread-safe: use
/// one per thread or task (it is deliberately not `Sendable`).
public final class JPEGDecoder {
    private let handle: OpaquePointer
    /// Headers announcing more pixels than this are rejected before any pixel memory is allocated.
    public let maximumPixelCount: Int

    /// Default limit: 64 M pixels (8K UHD is 33 M).
    public static let defaultMaximumPixelCount = 64 << 20

    public init(maximumPixelCount: Int = JPEGDecoder.defaultMaximumPixelCount) throws(JPEGError) {
        guard let handle = cjpeg_decoder_create() else { throw .outOfMemory }
        self.handle = handle
        self.maximumPixelCount = maximumPixelCount
    }

    deinit { cjpeg_decoder_destroy(handle) }

    /// Decodes the first complete image in `bytes` at the given DCT scale.
    public func decode(_ bytes: UnsafeRawBufferPointer, scale: JPEGScale = .full) throws(JPEGError) -> RGBImage {
        try decode(bytes) { _ in scale }
    }

    /// Decodes with the largest DCT reduction that keeps both sides ≥ the minimum
    /// (`JPEGScale.largestReduction`), e.g. 1280x720 → 640x360 for a 224x224 model.
    public func decode(_ bytes: UnsafeRawBufferPointer, minimumWidth: Int, minimumHeight: Int) throws(JPEGError) -> RGBImage {
        try decode(bytes) { header in
            JPEGScale.largestReduction(width: header.width, height: header.height,
                                       minimumWidth: minimumWidth, minimumHeight: minimumHeight)
        }
    }

    public func decode(_ bytes: [UInt8], scale: JPEGScale = .full) throws(JPEGError) -> RGBImage {
        try withBytes(bytes) { raw throws(JPEGError) in try decode(raw, scale: scale) }
    }

    public func decode(_ bytes: [UInt8], minimumWidth: Int, minimumHeight: Int) throws(JPEGError) -> RGBImage {
        try withBytes(bytes) { raw throws(JPEGError) in
            try decode(raw, minimumWidth: minimumWidth, minimumHeight: minimumHeight)
        }
    }

    /// Reads only the header of the first image in `bytes`.
    public func header(of bytes: UnsafeRawBufferPointer) throws(JPEGError) -> JPEGHeader {
        try withPreparedImage(bytes) { image throws(JPEGError) in try readHeader(image) }
    }

    // MARK: - Implementation

    private func decode(_ bytes: UnsafeRawBufferPointer,
                        scale choose: (JPEGHeader) -> JPEGScale) throws(JPEGError) -> RGBImage {
        try withPreparedImage(bytes) { image throws(JPEGError) in
            let header = try readHeader(image)
            guard header.width.multipliedReportingOverflow(by: header.height).partialValue <= maximumPixelCount,
                  header.width <= RGBImage.maximumDimension, header.height <= RGBImage.maximumDimension
            else {
                throw .tooLarge(width: header.width, height: header.height, maximumPixelCount: maximumPixelCount)
            }
            var width: Int32 = 0
            var height: Int32 = 0
            try check(cjpeg_decoder_start(handle, Int32(choose(header).denominator), &width, &height))
            let w = Int(width)
            let h = Int(height)
            var code = CJPEG_OK
            let pixels = [UInt8](unsafeUninitializedCapacity: w * h * 3) { buffer, count in
                code = cjpeg_decoder_read_rgb(handle, buffer.baseAddress, w * 3)
                count = code == CJPEG_OK ? w * h * 3 : 0  // UInt8 is trivial: nothing to deinitialize
            }
            try check(code)
            return RGBImage(validatedWidth: w, height: h, bytes: pixels)
        }
    }

    /// Locates the image and inserts the standard Huffman tables if needed, then runs `body` on
    /// exactly the bytes libjpeg should see.
    private func withPreparedImage<T>(_ bytes: UnsafeRawBufferPointer,
                                      _ body: (UnsafeRawBufferPointer) throws(JPEGError) -> T) throws(JPEGError) -> T {
        guard let span = JPEGImageSpan.first(in: bytes) else { throw .notJPEG }
        if let patched = StandardHuffmanTables.inserted(into: bytes, span: span) {
            return try withBytes(patched, body)
        }
        return try body(UnsafeRawBufferPointer(rebasing: bytes[span.range]))
    }

    private func readHeader(_ image: UnsafeRawBufferPointer) throws(JPEGError) -> JPEGHeader {
        var raw = cjpeg_header()
        try check(cjpeg_decoder_read_header(
            handle, image.baseAddress?.assumingMemoryBound(to: UInt8.self), image.count, &raw))
        switch raw.color_space {
        case CJPEG_COLOR_GRAYSCALE, CJPEG_COLOR_RGB, CJPEG_COLOR_YCBCR:
            break
        case CJPEG_COLOR_CMYK:
            throw .unsupportedColorSpace("CMYK")
        case CJPEG_COLOR_YCCK:
            throw .unsupportedColorSpace("YCCK")
        default:
            throw .unsupportedColorSpace("unknown (\(raw.components) components)")
        }
        return JPEGHeader(width: Int(raw.width), height: Int(raw.height),
                          components: Int(raw.components), isProgressive: raw.progressive != 0)
    }

    private func check(_ code: Int32) throws(JPEGError) {
        guard code != CJPEG_OK else { return }
        let message = String(cString: cjpeg_decoder_message(handle))
        switch code {
        case CJPEG_UNSUPPORTED_COLOR: throw .unsupportedColorSpace(message)
        case CJPEG_OUT_OF_MEMORY: throw .outOfMemory
        default: throw .corrupt(message.isEmpty ? "libjpeg error \(code)" : message)
        }
    }
}

extension RGBImage {
    /// Decodes the first complete JPEG image in `bytes` (see `JPEGDecoder` for the rules).
    public init(jpeg bytes: [UInt8], scale: JPEGScale = .full) throws(JPEGError) {
        self = try JPEGDecoder().decode(bytes, scale: scale)
    }
}

/// `withUnsafeBytes` with a typed error (the standard one rethrows untyped).
func withBytes<T>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(JPEGError) -> T) throws(JPEGError) -> T {
    let result: Result<T, JPEGError> = bytes.withUnsafeBytes { raw in
        do throws(JPEGError) { return .success(try body(raw)) } catch { return .failure(error) }
    }
    return try result.get()
}
