/// Times the per-frame model-input path — JPEG decode, centre crop, resize, quantize — on
/// synthetic camera frames, with and without DCT-scaled decoding. Used by `ImagingBenchmark`
/// (scripts/bench-decode); build in release mode for meaningful numbers.
public enum PreprocessingBenchmark {
    /// Median timings of one configuration, in milliseconds.
    public struct Result: Sendable, CustomStringConvertible {
        public var frameWidth: Int
        public var frameHeight: Int
        /// Size of the encoded test frame (4:2:2, quality 85, as UVC cameras send).
        public var jpegBytes: Int
        public var scale: JPEGScale
        public var resize: ResizeMethod
        public var decodedWidth: Int
        public var decodedHeight: Int
        public var decodeMilliseconds: Double
        public var cropResizeMilliseconds: Double
        public var quantizeMilliseconds: Double
        /// Median of the per-run sums (not the sum of the medians).
        public var totalMilliseconds: Double
        /// Fastest run: the least disturbed by other processes on a shared machine.
        public var fastestTotalMilliseconds: Double

        public var description: String {
            func ms(_ v: Double) -> String {
                let hundredths = Int((v * 100).rounded())
                let fraction = hundredths % 100
                return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
            }
            return "\(frameWidth)x\(frameHeight) (\(jpegBytes / 1024) KiB) scale \(scale) -> "
                + "\(decodedWidth)x\(decodedHeight), \(resize): decode \(ms(decodeMilliseconds)) ms, "
                + "crop+resize \(ms(cropResizeMilliseconds)) ms, quantize \(ms(quantizeMilliseconds)) ms, "
                + "total \(ms(totalMilliseconds)) ms (fastest \(ms(fastestTotalMilliseconds)) ms)"
        }
    }

    /// Runs every frame size with DCT scaling off (bilinear and area resize) and on (bilinear).
    /// The model input is `modelSize` x `modelSize` int8 with q = pixel - 128.
    public static func run(frameSizes: [(width: Int, height: Int)] = [(640, 480), (1280, 720)],
                           modelSize: Int = 224, runs: Int = 30) throws -> [Result] {
        let quantizer = try ModelInputQuantizer(type: .int8, normalization: .unitInterval,
                                                scale: 1.0 / 255, zeroPoint: -128)
        var tensor = [UInt8](repeating: 0, count: modelSize * modelSize * 3)
        let decoder = try JPEGDecoder()
        var results: [Result] = []
        for size in frameSizes {
            let jpeg = try syntheticFrame(width: size.width, height: size.height)
                .jpegData(quality: 85, subsampling: .halfHorizontal)
            let configurations: [(JPEGScale, ResizeMethod)] = [
                (.full, .bilinear), (.full, .area),
                (JPEGScale.largestReduction(width: size.width, height: size.height,
                                            minimumWidth: modelSize, minimumHeight: modelSize), .bilinear),
            ]
            for (scale, method) in configurations {
                var decode: [Double] = [], resize: [Double] = [], quantize: [Double] = [], total: [Double] = []
                var decodedSize = (0, 0)
                let clock = ContinuousClock()
                for run in 0 ... runs {  // run 0 warms up
                    let t0 = clock.now
                    let image = try decoder.decode(jpeg, scale: scale)
                    let t1 = clock.now
                    let input = try image.centerCropped().resized(width: modelSize, height: modelSize, method: method)
                    let t2 = clock.now
                    try tensor.withUnsafeMutableBytes { try quantizer.write(input, into: $0) }
                    let t3 = clock.now
                    decodedSize = (image.width, image.height)
                    guard run > 0 else { continue }
                    decode.append(milliseconds(t1 - t0))
                    resize.append(milliseconds(t2 - t1))
                    quantize.append(milliseconds(t3 - t2))
                    total.append(milliseconds(t3 - t0))
                }
                results.append(Result(
                    frameWidth: size.width, frameHeight: size.height, jpegBytes: jpeg.count, scale: scale,
                    resize: method, decodedWidth: decodedSize.0, decodedHeight: decodedSize.1,
                    decodeMilliseconds: median(decode), cropResizeMilliseconds: median(resize),
                    quantizeMilliseconds: median(quantize), totalMilliseconds: median(total),
                    fastestTotalMilliseconds: total.min() ?? 0))
            }
        }
        return results
    }

    /// A deterministic camera-like frame: smooth shading, a few hard-edged shapes and sensor-like
    /// noise (±6 levels), so it compresses roughly like a real scene rather than a flat pattern.
    public static func syntheticFrame(width: Int, height: Int) throws(ImageError) -> RGBImage {
        var image = try RGBImage(width: width, height: height, fill: .black)
        var state: UInt32 = 0x1234_5678
        image.bytes.withUnsafeMutableBufferPointer { px in
            for y in 0 ..< height {
                for x in 0 ..< width {
                    let u = Float(x) / Float(width), v = Float(y) / Float(height)
                    var rgb: (Float, Float, Float) = (60 + 140 * u, 80 + 100 * v, 170 - 120 * u * v)
                    let dx = u - 0.55, dy = v - 0.5
                    if dx * dx * 3 + dy * dy < 0.05 { rgb = (200, 150 - 80 * v, 60) }  // a "subject"
                    if (x / 40 + y / 40) % 7 == 0 { rgb.0 *= 0.5; rgb.1 *= 0.5 }  // texture
                    let i = (y * width + x) * 3
                    for (c, value) in [rgb.0, rgb.1, rgb.2].enumerated() {
                        state = state &* 1_664_525 &+ 1_013_904_223
                        let noise = Float(Int(state >> 24) % 13 - 6)
                        px[i + c] = roundToByte(value + noise)
                    }
                }
            }
        }
        return image
    }

    private static func milliseconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }

    private static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
