extension RGBImage {
    /// The image with a colourised heatmap blended over it.
    ///
    /// The heatmap (`width` x `height`, row-major, values in [0, 1]; values outside are clamped,
    /// NaN counts as 0) is first resized to the image size with bilinear half-pixel centres — the
    /// TF2 `tf.image.resize` convention, so a 7x7 Grad-CAM lands where TF-based tools put it —
    /// then mapped through `colormap` and blended per channel:
    /// `out = round((1 - alpha) * image + alpha * colour)`.
    ///
    /// - Parameter alpha: weight of the heatmap colour, 0...1 (0.4 is a common choice).
    public func overlay(heatmap: [Float], width: Int, height: Int, colormap: Colormap = .jet,
                        alpha: Float = 0.4) throws(ImageError) -> RGBImage {
        guard alpha >= 0, alpha <= 1 else { throw .invalidParameter("overlay alpha \(alpha) not in 0...1") }
        let map = width == self.width && height == self.height
            ? heatmap
            : try resizeBilinear(heatmap, width: width, height: height, toWidth: self.width, toHeight: self.height)
        guard map.count == self.width * self.height else {
            throw .byteCountMismatch(expected: width * height, actual: heatmap.count)
        }
        let keep = 1 - alpha
        let pixels = [UInt8](unsafeUninitializedCapacity: bytes.count) { out, count in
            map.withUnsafeBufferPointer { values in
                bytes.withUnsafeBufferPointer { src in
                    colormap.table.withUnsafeBufferPointer { t in
                        for i in 0 ..< values.count {
                            let k = Colormap.index(values[i]) * 3
                            for c in 0 ..< 3 {
                                out[3 * i + c] = roundToByte(keep * Float(src[3 * i + c]) + alpha * Float(t[k + c]))
                            }
                        }
                    }
                }
            }
            count = bytes.count
        }
        return RGBImage(validatedWidth: self.width, height: self.height, bytes: pixels)
    }

    /// Draws the outline of `rect` (`lineWidth` pixels thick, drawn inside the rectangle), clipped
    /// to the image. Used for weak-localization boxes.
    public mutating func drawBox(_ rect: PixelRect, color: RGB, lineWidth: Int = 2) {
        guard rect.width >= 1, rect.height >= 1, lineWidth >= 1 else { return }
        let t = min(lineWidth, (rect.width + 1) / 2, (rect.height + 1) / 2)
        let x1 = rect.x + rect.width, y1 = rect.y + rect.height
        fill(x0: rect.x, y0: rect.y, x1: x1, y1: rect.y + t, color)  // top
        fill(x0: rect.x, y0: y1 - t, x1: x1, y1: y1, color)  // bottom
        fill(x0: rect.x, y0: rect.y + t, x1: rect.x + t, y1: y1 - t, color)  // left
        fill(x0: x1 - t, y0: rect.y + t, x1: x1, y1: y1 - t, color)  // right
    }

    /// Fills columns x0..<x1, rows y0..<y1, clipped.
    private mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, _ color: RGB) {
        let xa = max(x0, 0), xb = min(x1, width), ya = max(y0, 0), yb = min(y1, height)
        guard xa < xb, ya < yb else { return }
        let w = width
        bytes.withUnsafeMutableBufferPointer { px in
            for y in ya ..< yb {
                for x in xa ..< xb {
                    let i = (y * w + x) * 3
                    px[i] = color.r
                    px[i + 1] = color.g
                    px[i + 2] = color.b
                }
            }
        }
    }
}
