import CJPEG

/// Chroma subsampling of an encoded JPEG.
public enum ChromaSubsampling: Sendable, CaseIterable {
    /// 4:4:4, full-resolution colour (largest files).
    case none
    /// 4:2:2, half horizontal colour resolution (what most UVC cameras send).
    case halfHorizontal
    /// 4:2:0, half resolution both ways (libjpeg's and most encoders' default).
    case halfBoth

    var factors: (horizontal: Int32, vertical: Int32) {
        switch self {
        case .none: return (1, 1)
        case .halfHorizontal: return (2, 1)
        case .halfBoth: return (2, 2)
        }
    }
}

extension RGBImage {
    /// Encodes as a baseline JFIF JPEG with libjpeg (accurate integer DCT, standard Huffman tables).
    ///
    /// - Parameters:
    ///   - quality: 1...100 on libjpeg's scale (75 is its default; 90+ for snapshots).
    ///   - subsampling: chroma subsampling, 4:2:0 by default.
    public func jpegData(quality: Int = 85, subsampling: ChromaSubsampling = .halfBoth) throws(JPEGError) -> [UInt8] {
        guard (1 ... 100).contains(quality) else { throw .invalidQuality(quality) }
        let factors = subsampling.factors
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let code = bytes.withUnsafeBufferPointer { pixels in
            message.withUnsafeMutableBufferPointer { text in
                cjpeg_encode_rgb(pixels.baseAddress, Int32(width), Int32(height), width * 3, Int32(quality),
                                 factors.horizontal, factors.vertical, &output, &size,
                                 text.baseAddress, text.count)
            }
        }
        guard code == CJPEG_OK, let output else {
            if code == CJPEG_OUT_OF_MEMORY { throw .outOfMemory }
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .encodingFailed(text)
        }
        defer { cjpeg_free(output) }
        return Array(UnsafeBufferPointer(start: output, count: size))
    }
}
