/// A single-channel map over an image grid, row-major (`values[y * width + x]`).
public struct Heatmap: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var values: [Float]

    /// A `width × height` map; `values` must hold `width * height` elements (missing ones are zero).
    public init(width: Int, height: Int, values: [Float]) {
        self.width = max(width, 0)
        self.height = max(height, 0)
        var values = values
        let count = self.width * self.height
        if values.count != count {
            values = Array(values.prefix(count)) + [Float](repeating: 0, count: max(count - values.count, 0))
        }
        self.values = values
    }

    public subscript(x: Int, y: Int) -> Float { values[y * width + x] }

    /// `max(value, 0)` everywhere (the ReLU of Grad-CAM and friends).
    public func rectified() -> Heatmap {
        Heatmap(width: width, height: height, values: values.map { max($0, 0) })
    }

    /// Min-max scaled to [0, 1]. A constant map (or one with NaN/inf) becomes all zeros, since it
    /// points nowhere.
    public func normalized() -> Heatmap {
        guard let lo = values.min(), let hi = values.max(), lo.isFinite, hi.isFinite, hi > lo else {
            return Heatmap(width: width, height: height, values: [Float](repeating: 0, count: values.count))
        }
        let scale = 1 / (hi - lo)
        return Heatmap(width: width, height: height, values: values.map { ($0 - lo) * scale })
    }

    /// Bilinear resize to `width × height` with **half-pixel centres**: destination pixel `d` samples
    /// source coordinate `s = (d + 0.5) * inSize / outSize - 0.5`, clamped to `[0, inSize - 1]`, on
    /// each axis (TF2 `tf.image.resize`, OpenCV `INTER_LINEAR`, PyTorch `align_corners=False`; the
    /// reference heatmaps use it). Pixel centres sit at integer + 0.5, so a map is never shifted by
    /// half a cell when upsampled. Values are not re-normalised.
    public func resized(width outWidth: Int, height outHeight: Int) -> Heatmap {
        guard outWidth > 0, outHeight > 0, width > 0, height > 0 else {
            return Heatmap(width: max(outWidth, 0), height: max(outHeight, 0), values: [])
        }
        if outWidth == width && outHeight == height { return self }
        let xs = Self.samples(outSize: outWidth, inSize: width)
        let ys = Self.samples(outSize: outHeight, inSize: height)
        var result = [Float](repeating: 0, count: outWidth * outHeight)
        values.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                for (y, sy) in ys.enumerated() {
                    let row0 = sy.index0 * width, row1 = sy.index1 * width
                    for (x, sx) in xs.enumerated() {
                        let top = source[row0 + sx.index0] * (1 - sx.weight1) + source[row0 + sx.index1] * sx.weight1
                        let bottom = source[row1 + sx.index0] * (1 - sx.weight1) + source[row1 + sx.index1] * sx.weight1
                        destination[y * outWidth + x] = top * (1 - sy.weight1) + bottom * sy.weight1
                    }
                }
            }
        }
        return Heatmap(width: outWidth, height: outHeight, values: result)
    }

    /// The two source indices and the weight of the second, for each destination index.
    static func samples(outSize: Int, inSize: Int) -> [(index0: Int, index1: Int, weight1: Float)] {
        let ratio = Double(inSize) / Double(outSize)
        return (0..<outSize).map { d in
            let s = min(max((Double(d) + 0.5) * ratio - 0.5, 0), Double(inSize - 1))
            let i0 = Int(s.rounded(.down))
            let i1 = min(i0 + 1, inSize - 1)
            return (i0, i1, Float(s - Double(i0)))
        }
    }

    /// The first (row-major) maximum, as `(x, y)`; nil for an empty map or one with NaN/inf.
    public var peak: Point? {
        guard !values.isEmpty, values.allSatisfy(\.isFinite) else { return nil }
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return Point(x: best % width, y: best / width)
    }

    /// Weak localization (Zhou et al., CAM, 2016): min-max normalise, keep the pixels ≥ `threshold`,
    /// and return the tight inclusive box of the largest 8-connected component (the first one in
    /// row-major order on ties). Nil for a constant or non-finite map.
    public func box(threshold: Float = 0.2) -> Box? {
        guard !values.isEmpty, values.allSatisfy(\.isFinite),
              let lo = values.min(), let hi = values.max(), hi > lo else { return nil }
        let cut = threshold
        let scale = 1 / (hi - lo)
        var label = [Int32](repeating: 0, count: values.count)
        var stack: [Int] = []
        var best: (count: Int, box: Box)? = nil
        var next: Int32 = 0
        for start in values.indices where label[start] == 0 && (values[start] - lo) * scale >= cut {
            next += 1
            label[start] = next
            stack.append(start)
            var count = 0
            var x0 = Int.max, y0 = Int.max, x1 = Int.min, y1 = Int.min
            while let p = stack.popLast() {
                count += 1
                let px = p % width, py = p / width
                x0 = min(x0, px); x1 = max(x1, px); y0 = min(y0, py); y1 = max(y1, py)
                for dy in -1...1 {
                    let qy = py + dy
                    guard qy >= 0, qy < height else { continue }
                    for dx in -1...1 {
                        let qx = px + dx
                        guard qx >= 0, qx < width else { continue }
                        let q = qy * width + qx
                        if label[q] == 0 && (values[q] - lo) * scale >= cut {
                            label[q] = next
                            stack.append(q)
                        }
                    }
                }
            }
            if count > (best?.count ?? 0) {
                best = (count, Box(x0: x0, y0: y0, x1: x1, y1: y1))
            }
        }
        return best?.box
    }

    /// A pixel position.
    public struct Point: Sendable, Equatable, Codable {
        public var x: Int
        public var y: Int
        public init(x: Int, y: Int) { self.x = x; self.y = y }
    }

    /// An inclusive pixel box `[x0, x1] × [y0, y1]`.
    public struct Box: Sendable, Equatable, Codable {
        public var x0: Int, y0: Int, x1: Int, y1: Int
        public init(x0: Int, y0: Int, x1: Int, y1: Int) { self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1 }

        /// Intersection over union with inclusive pixel areas.
        public func intersectionOverUnion(_ other: Box) -> Double {
            let ix = max(0, min(x1, other.x1) - max(x0, other.x0) + 1)
            let iy = max(0, min(y1, other.y1) - max(y0, other.y0) + 1)
            let inter = Double(ix * iy)
            let area = { (b: Box) in Double((b.x1 - b.x0 + 1) * (b.y1 - b.y0 + 1)) }
            return inter / (area(self) + area(other) - inter)
        }
    }
}
