import Imaging
import Testing

@Suite struct JPEGEncodingTests {
    /// Same libjpeg settings as `cjpeg -quality 85 -sample HxV`, so the bytes must match cjpeg's.
    @Test(arguments: [("photo-420.jpg", ChromaSubsampling.halfBoth), ("photo-422.jpg", .halfHorizontal)])
    func encodingMatchesCjpegByteForByte(file: String, subsampling: ChromaSubsampling) throws {
        let encoded = try Fixtures.photo().jpegData(quality: 85, subsampling: subsampling)
        #expect(encoded == (try Fixtures.jpegFile(file)))
    }

    @Test func roundTripQualityRisesWithTheQualitySetting() throws {
        let photo = try Fixtures.photo()
        func psnr(_ quality: Int) throws -> Double {
            let decoded = try RGBImage(jpeg: photo.jpegData(quality: quality, subsampling: .none))
            #expect(decoded.width == photo.width && decoded.height == photo.height)
            var squared = 0.0
            for (a, b) in zip(photo.bytes, decoded.bytes) {
                let d = Double(a) - Double(b)
                squared += d * d
            }
            let mse = squared / Double(photo.bytes.count)
            return 10 * log10(255 * 255 / max(mse, 1e-9))
        }
        let high = try psnr(95), low = try psnr(20)
        #expect(high > 38)
        #expect(low > 24)
        #expect(high > low + 6)
    }

    @Test func qualityOutsideOneToHundredIsRejected() throws {
        let photo = try Fixtures.photo()
        #expect(throws: JPEGError.invalidQuality(0)) { try photo.jpegData(quality: 0) }
        #expect(throws: JPEGError.invalidQuality(101)) { try photo.jpegData(quality: 101) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
