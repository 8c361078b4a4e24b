/// Colour scales for heatmaps: 256-entry RGB tables taken from matplotlib (see
/// `ColormapTables.swift` and `scripts/make-colormap-tables.py` for where the data comes from).
public enum Colormap: String, Sendable, CaseIterable {
    /// MATLAB's classic blue-cyan-yellow-red (what most Grad-CAM papers show).
    case jet
    /// Google's improved rainbow: jet's look without its false bands.
    case turbo
    /// Perceptually uniform, black-red-yellow.
    case inferno
    /// Perceptually uniform, purple-green-yellow (matplotlib's default).
    case viridis

    /// 768 bytes: entry i is RGB at `table[3i ..< 3i + 3]`.
    public var table: [UInt8] {
        switch self {
        case .jet: return ColormapTables.jet
        case .turbo: return ColormapTables.turbo
        case .inferno: return ColormapTables.inferno
        case .viridis: return ColormapTables.viridis
        }
    }

    /// The table entry for `value`, matplotlib's rule: index `floor(value * 256)`, clamped to
    /// 0...255 (so 1.0 maps to the last entry). NaN maps to entry 0.
    public func color(for value: Float) -> RGB {
        let i = Self.index(value) * 3
        let t = table
        return RGB(t[i], t[i + 1], t[i + 2])
    }

    @inline(__always)
    static func index(_ value: Float) -> Int {
        let scaled = value * 256
        guard scaled >= 1 else { return 0 }  // also NaN
        return scaled >= 255 ? 255 : Int(scaled)
    }

    /// A `width` x `height` map (row-major, values in [0, 1]) rendered as an image.
    public func render(_ map: [Float], width: Int, height: Int) throws(ImageError) -> RGBImage {
        try RGBImage.validate(width: width, height: height)
        guard map.count == width * height else {
            throw .byteCountMismatch(expected: width * height, actual: map.count)
        }
        let pixels = [UInt8](unsafeUninitializedCapacity: map.count * 3) { out, count in
            map.withUnsafeBufferPointer { values in
                table.withUnsafeBufferPointer { t in
                    for i in 0 ..< values.count {
                        let k = Self.index(values[i]) * 3
                        out[3 * i] = t[k]
                        out[3 * i + 1] = t[k + 1]
                        out[3 * i + 2] = t[k + 2]
                    }
                }
            }
            count = map.count * 3
        }
        return RGBImage(validatedWidth: width, height: height, bytes: pixels)
    }
}
