import Imaging
import Testing

/// Against the exact int8 inputs the refs fed to LiteRT.
@Suite struct ModelInputTests {
    /// EfficientNet-Lite0: scale 1/128, zero point -1, real = (pixel - 127) / 128 → q = pixel - 128.
    @Test(.enabled(if: Fixtures.refsAvailable)) func imagenetInputMatchesLiteRTInput() throws {
        let pixels = try Fixtures.refsFile("imagenet/images/chelsea.u8")
        let image = try RGBImage(width: 224, height: 224, bytes: pixels)
        let input = try image.quantized(to: .int8, normalization: PixelNormalization(mean: 127, std: 128),
                                        scale: 1.0 / 128, zeroPoint: -1)
        let expected = try Fixtures.refsFile("imagenet/litert/chelsea/input.i8").map { Int8(bitPattern: $0) }
        #expect(input == .int8(expected))
    }

    /// shapes-a: scale 0.003921568859368563 (float32 1/255), zero point -128, real = pixel / 255.
    @Test(.enabled(if: Fixtures.refsAvailable)) func shapesInputMatchesLiteRTInput() throws {
        let images = try Fixtures.refsFile("shapes/data/dev/images.u8")
        let inputs = try Fixtures.refsFile("shapes/int8/shapes-a/dev/input.i8")
        let quantizer = try ModelInputQuantizer(type: .int8, normalization: .unitInterval,
                                                scale: 0.003921568859368563, zeroPoint: -128)
        let size = 96 * 96 * 3
        var buffer = [UInt8](repeating: 0, count: size)
        for index in [0, 1, 7, 199] {
            let image = try RGBImage(width: 96, height: 96, bytes: Array(images[index * size ..< (index + 1) * size]))
            try buffer.withUnsafeMutableBytes { try quantizer.write(image, into: $0) }
            #expect(buffer == Array(inputs[index * size ..< (index + 1) * size]), "dev image \(index)")
        }
    }

    @Test func quantizationRoundsAndClamps() throws {
        let image = try RGBImage(width: 2, height: 1, bytes: [0, 1, 2, 253, 254, 255])
        // real = pixel, scale 2: 0.5 and 1.5 round away from zero; 255/2 + 10 clamps at 127.
        #expect(try image.quantized(to: .int8, normalization: .identity, scale: 2, zeroPoint: 10)
            == .int8([10, 11, 11, 127, 127, 127]))
        #expect(try image.quantized(to: .uint8, normalization: .identity, scale: 1, zeroPoint: 0)
            == .uint8([0, 1, 2, 253, 254, 255]))
        let expected: [Float] = [0, 1, 2, 253, 254, 255].map { (Float($0) - 127.5) / 127.5 }
        #expect(try image.quantized(to: .float32, normalization: .symmetric) == .float32(expected))
    }

    @Test func badParametersAreRejected() throws {
        #expect(throws: ImageError.self) {
            try ModelInputQuantizer(type: .int8, normalization: .identity, scale: 0, zeroPoint: 0)
        }
        #expect(throws: ImageError.self) {
            try ModelInputQuantizer(type: .float32, normalization: PixelNormalization(mean: [0], std: [1]))
        }
        let quantizer = try ModelInputQuantizer(type: .float32, normalization: .identity)
        let image = try RGBImage(width: 2, height: 2, fill: .white)
        var small = [UInt8](repeating: 0, count: 47)
        #expect(throws: ImageError.byteCountMismatch(expected: 48, actual: 47)) {
            try small.withUnsafeMutableBytes { try quantizer.write(image, into: $0) }
        }
    }
}
