import Capture
import Imaging
import Store

/// Where the model input came from in the frame, to map heatmap boxes back to frame pixels.
struct InputGeometry: Sendable, Equatable {
    var frameWidth: Int
    var frameHeight: Int
    /// Size after DCT-scaled decoding.
    var decodedWidth: Int
    var decodedHeight: Int
    /// The part of the decoded image resized to the model input.
    var crop: PixelRect
    var inputWidth: Int
    var inputHeight: Int

    /// An inclusive box of model-input pixels as a box in frame pixels (edges, not centres).
    func frameBox(x0: Int, y0: Int, x1: Int, y1: Int) -> Detection.Box {
        let (ax, ay) = framePoint(x: Double(x0), y: Double(y0))
        let (bx, by) = framePoint(x: Double(x1 + 1), y: Double(y1 + 1))
        return Detection.Box(x0: ax, y0: ay, x1: bx, y1: by)
    }

    /// The centre of model-input pixel (x, y) in frame pixels.
    func framePoint(centerOf x: Int, _ y: Int) -> Detection.Point {
        let (fx, fy) = framePoint(x: Double(x) + 0.5, y: Double(y) + 0.5)
        return Detection.Point(x: fx, y: fy)
    }

    private func framePoint(x: Double, y: Double) -> (Double, Double) {
        let dx = Double(crop.x) + x * Double(crop.width) / Double(inputWidth)
        let dy = Double(crop.y) + y * Double(crop.height) / Double(inputHeight)
        return (dx * Double(frameWidth) / Double(decodedWidth), dy * Double(frameHeight) / Double(decodedHeight))
    }
}

/// A frame turned into the model's input.
struct PreparedInput: Sendable {
    /// The RGB image at the model input size (for overlays).
    var image: RGBImage
    /// The input tensor's bytes.
    var bytes: [UInt8]
    var geometry: InputGeometry
}

extension ModelContext {
    /// Decodes (DCT-scaled to just above the input size), crops, resizes and quantizes a frame.
    func prepare(_ frame: Frame, decoder: JPEGDecoder, crop mode: DaemonConfiguration.CropMode) throws(DaemonError) -> PreparedInput {
        let decoded: RGBImage
        do {
            switch frame.pixelFormat {
            case .mjpeg:
                let side = max(inputWidth, inputHeight)
                decoded = try decoder.decode(frame.bytes, minimumWidth: side, minimumHeight: side)
            case .yuyv:
                decoded = try RGBImage(yuyv: frame.bytes, width: frame.width, height: frame.height,
                                       bytesPerLine: frame.bytesPerLine > 0 ? frame.bytesPerLine : nil)
            }
        } catch {
            throw .frame("frame \(frame.sequence): \(error)")
        }
        return try prepare(decoded, frameWidth: frame.width > 0 ? frame.width : decoded.width,
                           frameHeight: frame.height > 0 ? frame.height : decoded.height, crop: mode)
    }

    /// Crops, resizes and quantizes an already decoded image.
    func prepare(_ decoded: RGBImage, frameWidth: Int, frameHeight: Int, crop mode: DaemonConfiguration.CropMode) throws(DaemonError) -> PreparedInput {
        do {
            let rect = mode == .center ? try decoded.centerSquareRect()
                : PixelRect(x: 0, y: 0, width: decoded.width, height: decoded.height)
            let image = try decoded.cropped(to: rect).resized(width: inputWidth, height: inputHeight)
            var bytes = [UInt8](repeating: 0, count: inputWidth * inputHeight * 3 * inputType.byteSize)
            let failure = bytes.withUnsafeMutableBytes { buffer -> ImageError? in
                do throws(ImageError) {
                    try quantizer.write(image, into: buffer)
                    return Optional<ImageError>.none
                } catch {
                    return error
                }
            }
            if let failure { throw DaemonError.frame("preprocessing: \(failure)") }
            let geometry = InputGeometry(frameWidth: frameWidth, frameHeight: frameHeight, decodedWidth: decoded.width,
                                         decodedHeight: decoded.height, crop: rect, inputWidth: inputWidth, inputHeight: inputHeight)
            return PreparedInput(image: image, bytes: bytes, geometry: geometry)
        } catch {
            throw .frame("preprocessing: \(error)")
        }
    }
}
