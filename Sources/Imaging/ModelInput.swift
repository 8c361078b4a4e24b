/// How a pixel byte maps to the real value a model was trained on, per channel (R, G, B):
/// `real = (pixel - mean[c]) / std[c]`.
public struct PixelNormalization: Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    /// The same mean and standard deviation for all three channels.
    public init(mean: Float, std: Float) {
        self.init(mean: [mean, mean, mean], std: [std, std, std])
    }

    /// Per-channel R, G, B values (3 each; checked when a `ModelInputQuantizer` is made).
    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }

    /// real = pixel (0...255).
    public static let identity = PixelNormalization(mean: 0, std: 1)
    /// real = pixel / 255 (0...1).
    public static let unitInterval = PixelNormalization(mean: 0, std: 255)
    /// real = (pixel - 127.5) / 127.5 (-1...1), MobileNet-style.
    public static let symmetric = PixelNormalization(mean: 127.5, std: 127.5)
    /// torchvision's ImageNet mean/std on 0...255 pixels.
    public static let imageNet = PixelNormalization(mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375])
}

/// The element type of a model input tensor.
public enum ModelInputType: Sendable, CaseIterable {
    case int8
    case uint8
    case float32

    public var byteSize: Int { self == .float32 ? 4 : 1 }
}

/// A model input tensor's contents in its element type, NHWC order (H = image height, W = width, C = 3).
public enum ModelInputData: Sendable, Equatable {
    case int8([Int8])
    case uint8([UInt8])
    case float32([Float])
}

/// Maps `RGBImage` pixels to a model's input tensor.
///
/// For quantized types `q = clamp(round(real / scale) + zeroPoint)` with round half away from
/// zero (TFLite's QUANTIZE), where `real` comes from the `PixelNormalization`; for `float32` the
/// real value itself. Because pixels are bytes the whole mapping is a 3 x 256 lookup table computed
/// once in Double, so converting a frame is one table lookup per byte and exact.
///
/// Example: the refs' int8 models (scale 1/128, zero point -1 with real = (p - 127) / 128;
/// or scale 1/255, zero point -128 with real = p / 255) both give `q = pixel - 128`.
public struct ModelInputQuantizer: Sendable {
    public let type: ModelInputType
    private let byteTable: [UInt8]  // 3 x 256, int8 stored as bit patterns
    private let floatTable: [Float]  // 3 x 256, float32 only

    /// - Parameters:
    ///   - scale, zeroPoint: the input tensor's quantization (ignored for `.float32`).
    public init(type: ModelInputType, normalization: PixelNormalization,
                scale: Float = 1, zeroPoint: Int32 = 0) throws(ImageError) {
        let n = normalization
        guard n.mean.count == 3, n.std.count == 3 else {
            throw .invalidParameter("normalization needs 3 means and 3 standard deviations")
        }
        guard n.std.allSatisfy({ $0 != 0 && $0.isFinite }), n.mean.allSatisfy(\.isFinite) else {
            throw .invalidParameter("normalization std must be finite and non-zero, mean finite")
        }
        self.type = type
        var bytes = [UInt8](repeating: 0, count: 3 * 256)
        var floats = [Float]()
        switch type {
        case .float32:
            floats = [Float](repeating: 0, count: 3 * 256)
            for c in 0 ..< 3 {
                for p in 0 ..< 256 { floats[c * 256 + p] = (Float(p) - n.mean[c]) / n.std[c] }
            }
        case .int8, .uint8:
            guard scale > 0, scale.isFinite else { throw .invalidParameter("quantization scale \(scale) must be > 0") }
            let range: ClosedRange<Double> = type == .int8 ? -128 ... 127 : 0 ... 255
            for c in 0 ..< 3 {
                for p in 0 ..< 256 {
                    let real = (Double(p) - Double(n.mean[c])) / Double(n.std[c])
                    let q = min(max((real / Double(scale)).rounded() + Double(zeroPoint), range.lowerBound),
                                range.upperBound)
                    bytes[c * 256 + p] = UInt8(truncatingIfNeeded: Int(q))
                }
            }
        }
        byteTable = bytes
        floatTable = floats
    }

    /// The tensor for `image`: `image.height * image.width * 3` elements.
    public func callAsFunction(_ image: RGBImage) -> ModelInputData {
        let count = image.bytes.count
        switch type {
        case .float32:
            return .float32([Float](unsafeUninitializedCapacity: count) { out, n in
                write(image, to: UnsafeMutableRawBufferPointer(out))
                n = count
            })
        case .int8:
            return .int8([Int8](unsafeUninitializedCapacity: count) { out, n in
                write(image, to: UnsafeMutableRawBufferPointer(out))
                n = count
            })
        case .uint8:
            return .uint8([UInt8](unsafeUninitializedCapacity: count) { out, n in
                write(image, to: UnsafeMutableRawBufferPointer(out))
                n = count
            })
        }
    }

    /// Writes the tensor for `image` into `buffer` (e.g. the interpreter's input tensor), with no
    /// allocation. `buffer` needs `image.width * image.height * 3 * type.byteSize` bytes.
    public func write(_ image: RGBImage, into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) {
        let needed = image.bytes.count * type.byteSize
        guard buffer.count >= needed else { throw .byteCountMismatch(expected: needed, actual: buffer.count) }
        write(image, to: buffer)
    }

    // storeBytes rather than binding: the buffer may already be bound to Int8, UInt8 or Float.
    private func write(_ image: RGBImage, to buffer: UnsafeMutableRawBufferPointer) {
        image.bytes.withUnsafeBufferPointer { src in
            switch type {
            case .float32:
                floatTable.withUnsafeBufferPointer { t in
                    for i in 0 ..< src.count {
                        let v = t[(i % 3) &* 256 &+ Int(src[i])]
                        buffer.storeBytes(of: v, toByteOffset: i &* 4, as: Float.self)
                    }
                }
            case .int8, .uint8:
                byteTable.withUnsafeBufferPointer { t in
                    for i in 0 ..< src.count {
                        buffer.storeBytes(of: t[(i % 3) &* 256 &+ Int(src[i])], toByteOffset: i, as: UInt8.self)
                    }
                }
            }
        }
    }
}

extension RGBImage {
    /// This image as a model input tensor; see `ModelInputQuantizer` (make one per model and reuse
    /// it to avoid rebuilding its table per frame).
    public func quantized(to type: ModelInputType, normalization: PixelNormalization,
                          scale: Float = 1, zeroPoint: Int32 = 0) throws(ImageError) -> ModelInputData {
        try ModelInputQuantizer(type: type, normalization: normalization, scale: scale, zeroPoint: zeroPoint)(self)
    }
}
