import ArgumentParser
import Foundation
import Imaging
import Inference

/// How photo pixels become real model-input values (`--normalization`).
enum InputNormalization: String, CaseIterable, ExpressibleByArgument {
    /// `tensor-range` for int8/uint8 inputs, `unit` for float32 ones.
    case auto
    /// Pixels 0...255 fill the input tensor's whole quantized range: q = pixel - 128 (int8),
    /// q = pixel (uint8). It is the recipe of both refs models (EfficientNet-Lite0: real =
    /// (pixel - 127) / 128 with scale 1/128, zp -1; shapes-a: real = pixel / 255 with scale 1/255, zp -128).
    case tensorRange = "tensor-range"
    /// real = pixel / 255.
    case unit
    /// real = (pixel - 127.5) / 127.5.
    case symmetric
    /// real = (pixel - mean) / std with torchvision's ImageNet mean and std (per channel).
    case imagenet
    /// real = pixel.
    case raw

    /// The per-pixel mapping for a model input tensor.
    func pixelNormalization(for tensor: TensorInfo) throws -> PixelNormalization {
        switch self {
        case .auto:
            return try (tensor.type == .float32 ? InputNormalization.unit : .tensorRange).pixelNormalization(for: tensor)
        case .tensorRange:
            let lowest: Int32
            switch tensor.type {
            case .int8: lowest = -128
            case .uint8: lowest = 0
            default:
                throw ValidationError("--normalization tensor-range needs an int8 or uint8 input; '\(tensor.name)' is \(tensor.type): choose unit, symmetric, imagenet or raw")
            }
            guard let quantization = tensor.quantization, quantization.scale > 0 else {
                throw CLIError("input '\(tensor.name)' has no quantization scale; choose --normalization unit, symmetric, imagenet or raw")
            }
            // real = scale * (pixel + lowest - zp) = (pixel - (zp - lowest)) / (1 / scale).
            return PixelNormalization(mean: Float(quantization.zeroPoint - lowest), std: 1 / quantization.scale)
        case .unit: return .unitInterval
        case .symmetric: return .symmetric
        case .imagenet: return .imageNet
        case .raw: return .identity
        }
    }
}

/// A photo prepared for a model: the crop it was cut to and the input tensor's bytes.
struct PhotoInput {
    /// The crop of the photo (its pixels, before resizing) and where it lies in the photo.
    var crop: RGBImage
    var cropRect: PixelRect
    /// The model input tensor's raw bytes.
    var tensor: [UInt8]

    /// Decodes a JPEG photo, centre-crops it to the input's aspect ratio (a square of side
    /// `Int(fraction * min(width, height))` for square inputs: the refs' ImageNet recipe with 224/256),
    /// resizes it to the input size (bilinear with half-pixel centres; box filter when shrinking by
    /// more than 2x) and quantizes it.
    init(photo path: String, input tensor: TensorInfo, normalization: InputNormalization, cropFraction: Double) throws {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ValidationError("cannot read photo '\(path)': \(error.localizedDescription)")
        }
        // Only JPEG decodes (libjpeg): name the problem instead of libjpeg's "not a JPEG".
        guard bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xD8 else {
            let kind = bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) ? "a PNG file" : "not a JPEG file"
            throw CLIError("\(path) is \(kind): only JPEG photos are supported; convert it first (e.g. `cjpeg -quality 95` from libjpeg-turbo-progs, or Pillow)")
        }
        let image: RGBImage
        do { image = try JPEGDecoder().decode(bytes) } catch { throw CLIError("\(path): \(error)") }

        let shape = tensor.shape
        guard shape.count == 4, shape[0] == 1, shape[3] == 3 else {
            throw CLIError("the model input '\(tensor.name)' has shape \(shape), not [1, H, W, 3]: the photo form needs an RGB image input")
        }
        let height = shape[1], width = shape[2]
        let inputType: ModelInputType
        switch tensor.type {
        case .int8: inputType = .int8
        case .uint8: inputType = .uint8
        case .float32: inputType = .float32
        default: throw CLIError("the model input '\(tensor.name)' is \(tensor.type); photos map to int8, uint8 or float32")
        }
        do {
            if width == height {
                cropRect = try image.centerSquareRect(fraction: cropFraction)
            } else {
                let s = cropFraction * min(Double(image.width) / Double(width), Double(image.height) / Double(height))
                let w = min(image.width, max(1, Int(s * Double(width))))
                let h = min(image.height, max(1, Int(s * Double(height))))
                cropRect = PixelRect(x: (image.width - w) / 2, y: (image.height - h) / 2, width: w, height: h)
            }
            crop = try image.cropped(to: cropRect)
            let shrinking = crop.width > 2 * width || crop.height > 2 * height
            let resized = try crop.resized(width: width, height: height, method: shrinking ? .area : .bilinear)
            let quantizer = try ModelInputQuantizer(type: inputType, normalization: try normalization.pixelNormalization(for: tensor),
                                                    scale: tensor.quantization?.scale ?? 1,
                                                    zeroPoint: tensor.quantization?.zeroPoint ?? 0)
            var tensorBytes = [UInt8](repeating: 0, count: tensor.byteCount ?? 0)
            try tensorBytes.withUnsafeMutableBytes { buffer in try quantizer.write(resized, into: buffer) }
            self.tensor = tensorBytes
        } catch let error as ImageError {
            throw CLIError("\(path): \(error)")
        }
    }
}
