import Imaging
import Testing

/// Against numpy implementations of TF2's half-pixel bilinear and the exact-overlap area filter
/// (scripts/make-jpeg-fixtures.py), and against TensorFlow itself via the refs' Grad-CAM upsampling.
@Suite struct ResizeTests {
    @Test(arguments: [(32, 24), (150, 97), (20, 49)])
    func bilinearMatchesReference(width: Int, height: Int) throws {
        let resized = try Fixtures.photo().resized(width: width, height: height, method: .bilinear)
        let expected = try Fixtures.jpegFile("photo-bilinear-\(width)x\(height).rgb")
        let diff = Fixtures.difference(resized.bytes, expected)
        #expect(diff.max <= 1)  // float rounding at exact .5 boundaries only
        #expect(diff.count * 1000 <= expected.count)
    }

    @Test(arguments: [(25, 17), (30, 20), (7, 5)])
    func areaMatchesReference(width: Int, height: Int) throws {
        let resized = try Fixtures.photo().resized(width: width, height: height, method: .area)
        let expected = try Fixtures.jpegFile("photo-area-\(width)x\(height).rgb")
        let diff = Fixtures.difference(resized.bytes, expected)
        #expect(diff.max <= 1)
        #expect(diff.count * 100 <= expected.count)
    }

    /// refs/imagenet/gradcam: cam_224 = tf.image.resize(cam_7x7, 224x224, bilinear).
    @Test(.enabled(if: Fixtures.refsAvailable)) func floatBilinearMatchesTensorFlow() throws {
        for name in ["chelsea", "coffee", "astronaut"] {
            let small = Fixtures.floats(try Fixtures.refsFile("imagenet/gradcam/\(name)/cam_7x7.f32"))
            let expected = Fixtures.floats(try Fixtures.refsFile("imagenet/gradcam/\(name)/cam_224.f32"))
            let up = try resizeBilinear(small, width: 7, height: 7, toWidth: 224, toHeight: 224)
            let maxError = zip(up, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(maxError < 1e-6, "\(name): max error \(maxError)")
        }
    }

    @Test func sameSizeResizeIsTheIdentity() throws {
        let photo = try Fixtures.photo()
        #expect(try photo.resized(width: 75, height: 50, method: .area) == photo)
        #expect(throws: ImageError.invalidSize(width: 0, height: 5)) { try photo.resized(width: 0, height: 5) }
    }

    @Test func centerCropTakesTheMiddleSquare() throws {
        let photo = try Fixtures.photo()
        // int(224/256 * 50) = 43, offsets (75 - 43) / 2 = 16 and (50 - 43) / 2 = 3.
        let crop = try photo.centerCropped(fraction: 224.0 / 256.0)
        #expect(crop.width == 43 && crop.height == 43)
        var expected: [UInt8] = []
        for y in 3 ..< 46 { expected += photo.bytes[(y * 75 + 16) * 3 ..< (y * 75 + 59) * 3] }
        #expect(crop.bytes == expected)
        #expect(throws: ImageError.self) { try photo.cropped(to: PixelRect(x: 70, y: 0, width: 10, height: 10)) }
    }

    @Test func letterboxCentresTheScaledImageInFill() throws {
        let photo = try Fixtures.photo()
        let box = try photo.letterboxed(width: 64, height: 64, fill: .letterboxGrey)
        // scale min(64/75, 64/50) = 0.8533: 64 x round(42.67) = 64 x 43, offset (64 - 43) / 2 = 10.
        #expect(box.content == PixelRect(x: 0, y: 10, width: 64, height: 43))
        let scaled = try photo.resized(width: 64, height: 43)
        #expect(try box.image.cropped(to: box.content) == scaled)
        #expect(box.image.pixel(x: 5, y: 9) == .letterboxGrey)
        #expect(box.image.pixel(x: 63, y: 53) == .letterboxGrey)
        #expect(box.image.pixel(x: 63, y: 52) == scaled.pixel(x: 63, y: 42))
    }
}
