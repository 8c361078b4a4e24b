/// A letterboxed image and where the resized content sits in it (to map results back).
public struct Letterbox: Sendable, Equatable {
    public var image: RGBImage
    /// The rectangle of `image` covered by the scaled source; the rest is fill colour.
    public var content: PixelRect
}

extension RGBImage {
    /// A copy of the pixels inside `rect`, which must be non-empty and inside the image.
    public func cropped(to rect: PixelRect) throws(ImageError) -> RGBImage {
        guard rect.width >= 1, rect.height >= 1, rect.x >= 0, rect.y >= 0,
              rect.x + rect.width <= width, rect.y + rect.height <= height
        else { throw .rectOutsideImage(rect, width: width, height: height) }
        if rect == PixelRect(x: 0, y: 0, width: width, height: height) { return self }
        let rowBytes = rect.width * 3
        let out = [UInt8](unsafeUninitializedCapacity: rect.height * rowBytes) { out, count in
            bytes.withUnsafeBufferPointer { src in
                for row in 0 ..< rect.height {
                    let from = ((rect.y + row) * width + rect.x) * 3
                    let dst = UnsafeMutableBufferPointer(rebasing: out[row * rowBytes ..< (row + 1) * rowBytes])
                    _ = dst.initialize(from: src[from ..< from + rowBytes])
                }
            }
            count = rect.height * rowBytes
        }
        return RGBImage(validatedWidth: rect.width, height: rect.height, bytes: out)
    }

    /// The centred square of side `Int(fraction * min(width, height))` (truncated, at least 1),
    /// at offset `((width - side) / 2, (height - side) / 2)` rounded down.
    /// `fraction: 224.0 / 256.0` is the classic ImageNet evaluation crop (the refs' recipe).
    public func centerSquareRect(fraction: Double = 1) throws(ImageError) -> PixelRect {
        guard fraction > 0, fraction <= 1 else { throw .invalidParameter("crop fraction \(fraction) not in (0, 1]") }
        let side = max(1, Int(fraction * Double(min(width, height))))
        return PixelRect(x: (width - side) / 2, y: (height - side) / 2, width: side, height: side)
    }

    /// `cropped(to: centerSquareRect(fraction:))`.
    public func centerCropped(fraction: Double = 1) throws(ImageError) -> RGBImage {
        try cropped(to: centerSquareRect(fraction: fraction))
    }

    /// Fits the image inside `width` x `height` keeping its aspect ratio, centred, the rest filled
    /// with `fill`. The scaled size is `round(side * s)` with `s = min(width / w, height / h)`;
    /// the content's offset is `(width - scaledWidth) / 2` rounded down (same vertically).
    public func letterboxed(width: Int, height: Int, fill: RGB = .letterboxGrey,
                            method: ResizeMethod = .bilinear) throws(ImageError) -> Letterbox {
        try Self.validate(width: width, height: height)
        let s = min(Double(width) / Double(self.width), Double(height) / Double(self.height))
        let w = min(width, max(1, Int((Double(self.width) * s).rounded())))
        let h = min(height, max(1, Int((Double(self.height) * s).rounded())))
        let content = PixelRect(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
        let scaled = try resized(width: w, height: h, method: method)
        var canvas = try RGBImage(width: width, height: height, fill: fill)
        canvas.bytes.withUnsafeMutableBufferPointer { dst in
            scaled.bytes.withUnsafeBufferPointer { src in
                for row in 0 ..< h {
                    let to = ((content.y + row) * width + content.x) * 3
                    let from = row * w * 3
                    for i in 0 ..< w * 3 { dst[to + i] = src[from + i] }
                }
            }
        }
        return Letterbox(image: canvas, content: content)
    }
}
