/// How `RGBImage.resized` samples.
public enum ResizeMethod: Sendable, CaseIterable {
    /// Bilinear with half-pixel centres, exactly TF2 `tf.image.resize(method="bilinear",
    /// antialias=False)`: output pixel `d` samples source position `s = (d + 0.5) * in / out - 0.5`,
    /// between pixels `max(floor(s), 0)` and `min(ceil(s), in - 1)` with weight `s - floor(s)`.
    /// Good for upscaling and mild (< 2x) downscaling; aliases when shrinking a lot.
    case bilinear
    /// Box filter (TF's `area`, OpenCV's `INTER_AREA` when shrinking): each output pixel is the
    /// average of the source area it covers, partial pixels weighted by the covered fraction.
    /// Use it to shrink by large factors.
    case area
}

extension RGBImage {
    /// A copy resized to `width` x `height`. Results are rounded to the nearest byte (the float
    /// value TF would return, rounded half up).
    public func resized(width: Int, height: Int, method: ResizeMethod = .bilinear) throws(ImageError) -> RGBImage {
        try Self.validate(width: width, height: height)
        if width == self.width && height == self.height { return self }
        let out: [UInt8]
        switch method {
        case .bilinear: out = bilinearResize(width: width, height: height)
        case .area: out = areaResize(width: width, height: height)
        }
        return RGBImage(validatedWidth: width, height: height, bytes: out)
    }

    private func bilinearResize(width outW: Int, height outH: Int) -> [UInt8] {
        let xs = BilinearAxis(input: width, output: outW, stride: 3)
        let ys = BilinearAxis(input: height, output: outH, stride: width * 3)
        return [UInt8](unsafeUninitializedCapacity: outW * outH * 3) { out, count in
            bytes.withUnsafeBufferPointer { src in
                xs.lower.withUnsafeBufferPointer { x0 in
                xs.upper.withUnsafeBufferPointer { x1 in
                xs.lerp.withUnsafeBufferPointer { fx in
                    for y in 0 ..< outH {
                        let top = ys.lower[y], bottom = ys.upper[y], fy = ys.lerp[y]
                        var o = y * outW * 3
                        for x in 0 ..< outW {
                            let a = top + x0[x], b = top + x1[x], c = bottom + x0[x], d = bottom + x1[x]
                            let wx = fx[x]
                            for ch in 0 ..< 3 {
                                let tl = Float(src[a + ch]), tr = Float(src[b + ch])
                                let bl = Float(src[c + ch]), br = Float(src[d + ch])
                                let upper = tl + (tr - tl) * wx
                                let lower = bl + (br - bl) * wx
                                out[o + ch] = roundToByte(upper + (lower - upper) * fy)
                            }
                            o += 3
                        }
                    }
                }}}
            }
            count = outW * outH * 3
        }
    }

    // Vertical pass first, one output row at a time, into a single float row: the working memory
    // is one source row, not a whole intermediate image.
    private func areaResize(width outW: Int, height outH: Int) -> [UInt8] {
        let xs = AreaAxis(input: width, output: outW)
        let ys = AreaAxis(input: height, output: outH)
        let inRow = width * 3
        let outRow = outW * 3
        var column = [Float](repeating: 0, count: inRow)
        return [UInt8](unsafeUninitializedCapacity: outH * outRow) { out, count in
            bytes.withUnsafeBufferPointer { src in
            column.withUnsafeMutableBufferPointer { acc in
            xs.first.withUnsafeBufferPointer { xFirst in
            xs.start.withUnsafeBufferPointer { xStart in
            xs.weights.withUnsafeBufferPointer { xWeights in
            ys.first.withUnsafeBufferPointer { yFirst in
            ys.start.withUnsafeBufferPointer { yStart in
            ys.weights.withUnsafeBufferPointer { yWeights in
                for y in 0 ..< outH {
                    // Vertical: weighted sum of the source rows this output row covers.
                    for i in 0 ..< inRow { acc[i] = 0 }
                    var s = yFirst[y] * inRow
                    for k in yStart[y] ..< yStart[y + 1] {
                        let w = yWeights[k]
                        for i in 0 ..< inRow { acc[i] += w * Float(src[s + i]) }
                        s += inRow
                    }
                    // Horizontal: weighted sum of the covered columns.
                    let o = y * outRow
                    for x in 0 ..< outW {
                        var r: Float = 0, g: Float = 0, b: Float = 0
                        var i = xFirst[x] * 3
                        for k in xStart[x] ..< xStart[x + 1] {
                            let w = xWeights[k]
                            r += w * acc[i]
                            g += w * acc[i + 1]
                            b += w * acc[i + 2]
                            i += 3
                        }
                        out[o + x * 3] = roundToByte(r)
                        out[o + x * 3 + 1] = roundToByte(g)
                        out[o + x * 3 + 2] = roundToByte(b)
                    }
                }
            }}}}}}}}
            count = outH * outRow
        }
    }
}

/// Bilinear resampling of a single-channel float map (e.g. a 7x7 heatmap to 224x224) with the
/// same half-pixel convention as `ResizeMethod.bilinear`; equals TF2 `tf.image.resize` bilinear.
///
/// - Parameter values: `width * height` values, row-major.
public func resizeBilinear(_ values: [Float], width: Int, height: Int,
                           toWidth outW: Int, toHeight outH: Int) throws(ImageError) -> [Float] {
    try RGBImage.validate(width: width, height: height)
    try RGBImage.validate(width: outW, height: outH)
    guard values.count == width * height else {
        throw .byteCountMismatch(expected: width * height, actual: values.count)
    }
    let xs = BilinearAxis(input: width, output: outW, stride: 1)
    let ys = BilinearAxis(input: height, output: outH, stride: width)
    return [Float](unsafeUninitializedCapacity: outW * outH) { out, count in
        values.withUnsafeBufferPointer { src in
            for y in 0 ..< outH {
                let top = ys.lower[y], bottom = ys.upper[y], fy = ys.lerp[y]
                for x in 0 ..< outW {
                    let tl = src[top + xs.lower[x]], tr = src[top + xs.upper[x]]
                    let bl = src[bottom + xs.lower[x]], br = src[bottom + xs.upper[x]]
                    let upper = tl + (tr - tl) * xs.lerp[x]
                    let lower = bl + (br - bl) * xs.lerp[x]
                    out[y * outW + x] = upper + (lower - upper) * fy
                }
            }
        }
        count = outW * outH
    }
}

/// Per output coordinate: the two source indices (premultiplied by `stride`) and the weight of
/// the upper one, computed in Float exactly as TF's `compute_interpolation_weights`.
struct BilinearAxis {
    var lower: [Int]
    var upper: [Int]
    var lerp: [Float]

    init(input: Int, output: Int, stride: Int) {
        let scale = Float(input) / Float(output)
        lower = []; upper = []; lerp = []
        lower.reserveCapacity(output); upper.reserveCapacity(output); lerp.reserveCapacity(output)
        for i in 0 ..< output {
            let source = (Float(i) + 0.5) * scale - 0.5
            let floor = source.rounded(.down)
            lower.append(max(Int(floor), 0) * stride)
            upper.append(min(Int(source.rounded(.up)), input - 1) * stride)
            lerp.append(source - floor)
        }
    }
}

/// Per output coordinate `i`: the source pixels `first[i] ..< first[i] + (start[i+1] - start[i])`
/// and their weights `weights[start[i] ..< start[i+1]]`: the covered part of each source pixel of
/// the interval `[i * in/out, (i + 1) * in/out)`, divided by its length (weights sum to 1).
struct AreaAxis {
    var first: [Int] = []
    var start: [Int] = [0]
    var weights: [Float] = []

    init(input: Int, output: Int) {
        let scale = Double(input) / Double(output)
        for i in 0 ..< output {
            // Exact rational endpoints i*in/out avoid drift; weights then in Double.
            let lo = Double(i * input) / Double(output)
            let hi = Double((i + 1) * input) / Double(output)
            let j0 = (i * input) / output
            let j1 = min(((i + 1) * input + output - 1) / output, input)  // ceil(hi)
            first.append(j0)
            for j in j0 ..< j1 {
                let covered = min(hi, Double(j + 1)) - max(lo, Double(j))
                weights.append(Float(covered / scale))
            }
            start.append(weights.count)
        }
    }
}

@inline(__always)
func roundToByte(_ v: Float) -> UInt8 {
    let r = v + 0.5
    if !(r > 0) { return 0 }  // also NaN
    if r >= 255 { return 255 }
    return UInt8(r)
}
