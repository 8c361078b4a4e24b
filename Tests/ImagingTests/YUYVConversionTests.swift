import Imaging
import Testing

/// Against the BT.601 limited-range integer formula evaluated with numpy in
/// scripts/make-jpeg-fixtures.py (first row: Y=16 and Y=235 without colour → black and white).
@Suite struct YUYVConversionTests {
    @Test func conversionMatchesReference() throws {
        let image = try RGBImage(yuyv: Fixtures.jpegFile("yuyv-16x6.yuyv"), width: 16, height: 6)
        #expect(image.bytes == (try Fixtures.jpegFile("yuyv-16x6.rgb")))
        #expect(image.pixel(x: 0, y: 0) == .black)
        #expect(image.pixel(x: 1, y: 0) == .white)
    }

    @Test func paddedRowsGiveTheSameImage() throws {
        let packed = try Fixtures.jpegFile("yuyv-16x6.yuyv")
        var padded: [UInt8] = []
        for row in 0 ..< 6 {
            padded += packed[row * 32 ..< row * 32 + 32]
            if row < 5 { padded += [UInt8](repeating: 0xEE, count: 8) }  // last row needs no padding
        }
        let image = try RGBImage(yuyv: padded, width: 16, height: 6, bytesPerLine: 40)
        #expect(image.bytes == (try Fixtures.jpegFile("yuyv-16x6.rgb")))
    }

    @Test func oddWidthAndShortBuffersAreRejected() throws {
        #expect(throws: ImageError.oddYUYVWidth(15)) {
            try RGBImage(yuyv: [UInt8](repeating: 0, count: 15 * 2 * 6), width: 15, height: 6)
        }
        #expect(throws: ImageError.byteCountMismatch(expected: 192, actual: 191)) {
            try RGBImage(yuyv: [UInt8](repeating: 0, count: 191), width: 16, height: 6)
        }
        #expect(throws: ImageError.self) { try RGBImage(yuyv: [UInt8](), width: 0, height: 6) }
        #expect(throws: ImageError.self) {
            try RGBImage(yuyv: [UInt8](repeating: 0, count: 192), width: 16, height: 6, bytesPerLine: .max)
        }
    }
}
