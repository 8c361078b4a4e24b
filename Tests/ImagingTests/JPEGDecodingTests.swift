import Imaging
import Testing

/// Decodes compared byte for byte with libjpeg-turbo's `djpeg` (default islow IDCT, fancy
/// upsampling) output committed in Tests/Fixtures/jpeg.
@Suite struct JPEGDecodingTests {
    @Test(arguments: ["photo-420", "photo-422", "photo-progressive", "grey"])
    func decodeEqualsDjpeg(name: String) throws {
        let image = try JPEGDecoder().decode(Fixtures.jpegFile(name + ".jpg"))
        #expect(image.width == 75 && image.height == 50)
        #expect(image.bytes == (try Fixtures.jpegFile(name + ".rgb")))
    }

    @Test(arguments: [
        ("photo-420", JPEGScale.half, "scale2", 38, 25),
        ("photo-420", .quarter, "scale4", 19, 13),
        ("photo-420", .eighth, "scale8", 10, 7),
        ("photo-422", .half, "scale2", 38, 25),
        ("grey", .quarter, "scale4", 19, 13),
    ])
    func scaledDecodeEqualsDjpegScale(name: String, scale: JPEGScale, suffix: String, width: Int, height: Int) throws {
        let image = try JPEGDecoder().decode(Fixtures.jpegFile(name + ".jpg"), scale: scale)
        #expect(image.width == width && image.height == height)
        #expect(image.bytes == (try Fixtures.jpegFile("\(name)-\(suffix).rgb")))
    }

    @Test func minimumSizeDecodePicksLargestReductionThatFits() throws {
        // 75x50 at 1/2 is 38x25 (≥ 30x20); at 1/4 it would be 19x13.
        let image = try JPEGDecoder().decode(Fixtures.jpegFile("photo-420.jpg"), minimumWidth: 30, minimumHeight: 20)
        #expect(image.bytes == (try Fixtures.jpegFile("photo-420-scale2.rgb")))
    }

    @Test func largestReductionKeepsBothSidesAtLeastTheMinimum() {
        #expect(JPEGScale.largestReduction(width: 1280, height: 720, minimumWidth: 224, minimumHeight: 224) == .half)
        #expect(JPEGScale.largestReduction(width: 1920, height: 1080, minimumWidth: 224, minimumHeight: 224) == .quarter)
        #expect(JPEGScale.largestReduction(width: 640, height: 480, minimumWidth: 224, minimumHeight: 224) == .half)
        #expect(JPEGScale.largestReduction(width: 640, height: 480, minimumWidth: 96, minimumHeight: 96) == .quarter)
        #expect(JPEGScale.largestReduction(width: 4000, height: 3000, minimumWidth: 96, minimumHeight: 96) == .eighth)
        #expect(JPEGScale.largestReduction(width: 200, height: 200, minimumWidth: 224, minimumHeight: 224) == .full)
        #expect(JPEGScale.quarter.outputSize(width: 75, height: 50) == (19, 13))
    }

    @Test func frameWithoutHuffmanTablesDecodesLikeTheOriginal() throws {
        let stripped = try Fixtures.jpegFile("photo-420-nodht.jpg")
        let span = stripped.withUnsafeBytes { JPEGImageSpan.first(in: $0) }
        #expect(span?.hasHuffmanTables == false)
        let patched = stripped.withUnsafeBytes { raw -> [UInt8]? in
            guard let span = JPEGImageSpan.first(in: raw) else { return nil }
            return StandardHuffmanTables.inserted(into: raw, span: span)
        }
        #expect(patched?.count == stripped.count + 420)
        #expect(patched?.withUnsafeBytes { JPEGImageSpan.first(in: $0)?.hasHuffmanTables } == true)
        let image = try JPEGDecoder().decode(stripped)
        #expect(image.bytes == (try Fixtures.jpegFile("photo-420.rgb")))
    }

    @Test func insertedTablesAreTheOnesLibjpegWrites() throws {
        // cjpeg's four DHT payloads (DC0, AC0, DC1, AC1) without markers and lengths.
        let libjpegTables = try Fixtures.jpegFile("standard-dht-payload.bin")
        let segment = StandardHuffmanTables.dhtSegment
        #expect(segment.count == 420)
        #expect(Array(segment.prefix(4)) == [0xFF, 0xC4, 0x01, 0xA2])
        #expect(Array(segment.dropFirst(4)) == libjpegTables)
    }

    @Test func truncatedFrameIsCorruptWithLibjpegsMessage() throws {
        #expect {
            try JPEGDecoder().decode(Fixtures.jpegFile("photo-420-truncated.jpg"))
        } throws: { error in
            guard case let .corrupt(message) = error as? JPEGError else { return false }
            return message.contains("Premature end")
        }
    }

    @Test func spansSplitConcatenatedFramesAndFlagCutOffOnes() throws {
        let first = try Fixtures.jpegFile("photo-420.jpg"), second = try Fixtures.jpegFile("grey.jpg")
        let truncated = try Fixtures.jpegFile("photo-420-truncated.jpg")
        let stream = first + second + truncated
        stream.withUnsafeBytes { raw in
            let a = JPEGImageSpan.first(in: raw)
            #expect(a?.range == 0 ..< first.count && a?.isComplete == true)
            let b = JPEGImageSpan.first(in: raw, from: first.count)
            #expect(b?.range == first.count ..< first.count + second.count && b?.isComplete == true)
            let c = JPEGImageSpan.first(in: raw, from: first.count + second.count)
            #expect(c?.range == first.count + second.count ..< stream.count && c?.isComplete == false)
        }
    }

    @Test func corruptEntropyDataIsACorruptFrame() throws {
        // djpeg reports "Corrupt JPEG data: ... extraneous bytes" for this file (a warning).
        #expect {
            try JPEGDecoder().decode(Fixtures.jpegFile("photo-420-corrupt.jpg"))
        } throws: { error in
            guard case let .corrupt(message) = error as? JPEGError else { return false }
            return message.contains("Corrupt JPEG data")
        }
    }

    @Test func concatenatedImagesDecodeTheFirst() throws {
        let image = try JPEGDecoder().decode(Fixtures.jpegFile("two-images.jpg"))
        #expect(image.bytes == (try Fixtures.jpegFile("photo-420.rgb")))
        let span = try Fixtures.jpegFile("two-images.jpg").withUnsafeBytes { JPEGImageSpan.first(in: $0) }
        #expect(span?.range == 0 ..< (try Fixtures.jpegFile("photo-420.jpg")).count)
        #expect(span?.isComplete == true)
    }

    @Test func cutOffImageFollowedByAWholeOneDecodesTheWholeOne() throws {
        let image = try JPEGDecoder().decode(Fixtures.jpegFile("truncated-then-whole.jpg"))
        #expect(image.bytes == (try Fixtures.jpegFile("grey.rgb")))
    }

    @Test func restartMarkersInTheScanAreNotTheEndOfTheImage() throws {
        let file = try Fixtures.jpegFile("photo-420-restart.jpg")
        let span = file.withUnsafeBytes { JPEGImageSpan.first(in: $0) }
        #expect(span?.range == 0 ..< file.count)
        #expect(try JPEGDecoder().decode(file).bytes == (try Fixtures.jpegFile("photo-420-restart.rgb")))
    }

    @Test func jpegInsideAnAPP1SegmentIsNotTakenForTheImage() throws {
        // An EXIF-style thumbnail (the grey fixture) sits in APP1 before the real frame.
        let image = try JPEGDecoder().decode(Fixtures.jpegFile("photo-420-thumbnail.jpg"))
        #expect(image.bytes == (try Fixtures.jpegFile("photo-420.rgb")))
    }

    @Test func garbageBeforeTheImageIsSkipped() throws {
        let image = try JPEGDecoder().decode(Fixtures.jpegFile("garbage-then-image.jpg"))
        #expect(image.bytes == (try Fixtures.jpegFile("photo-422.rgb")))
    }

    @Test func bytesWithoutStartOfImageAreNotAJPEG() throws {
        #expect(throws: JPEGError.notJPEG) { try JPEGDecoder().decode(Fixtures.jpegFile("garbage.bin")) }
        #expect(throws: JPEGError.notJPEG) { try JPEGDecoder().decode([UInt8]()) }
        #expect(throws: JPEGError.notJPEG) { try JPEGDecoder().decode([0xFF, 0xD8]) }
    }

    @Test func startOfImageFollowedByJunkIsCorrupt() throws {
        #expect {
            try JPEGDecoder().decode(Fixtures.jpegFile("fake-soi.bin"))
        } throws: { error in
            if case .corrupt = error as? JPEGError { return true }
            return false
        }
    }

    @Test func cmykIsRejectedClearly() throws {
        #expect(throws: JPEGError.unsupportedColorSpace("CMYK")) {
            try JPEGDecoder().decode(Fixtures.jpegFile("cmyk.jpg"))
        }
    }

    @Test func headerAboveThePixelLimitIsRejectedBeforeDecoding() throws {
        let decoder = try JPEGDecoder(maximumPixelCount: 1000)
        #expect(throws: JPEGError.tooLarge(width: 75, height: 50, maximumPixelCount: 1000)) {
            try decoder.decode(Fixtures.jpegFile("photo-420.jpg"))
        }
    }

    @Test func progressiveFileWithHundredsOfScansIsRejected() throws {
        // Valid (djpeg decodes it) but 67 scans: the decoder's limit is 64.
        #expect {
            try JPEGDecoder().decode(Fixtures.jpegFile("many-scans.jpg"))
        } throws: { error in
            guard case let .corrupt(message) = error as? JPEGError else { return false }
            return message.contains("scans")
        }
    }

    @Test func decoderIsReusableAfterAnError() throws {
        let decoder = try JPEGDecoder()
        #expect(throws: JPEGError.self) { try decoder.decode(Fixtures.jpegFile("photo-420-truncated.jpg")) }
        #expect(try decoder.decode(Fixtures.jpegFile("photo-420.jpg")).bytes == (try Fixtures.jpegFile("photo-420.rgb")))
        #expect(try decoder.decode(Fixtures.jpegFile("grey.jpg"), scale: .quarter).bytes
            == (try Fixtures.jpegFile("grey-scale4.rgb")))
    }

    @Test func headerReportsSizeAndComponents() throws {
        let header = try Fixtures.jpegFile("photo-progressive.jpg").withUnsafeBytes { raw in
            try JPEGDecoder().header(of: raw)
        }
        #expect(header == JPEGHeader(width: 75, height: 50, components: 3, isProgressive: true))
    }

    @Test func everyTruncationOfAFrameFailsCleanly() throws {
        let full = try Fixtures.jpegFile("photo-420.jpg")
        let decoder = try JPEGDecoder()
        var decoded = 0
        for length in 0 ..< full.count {
            if (try? decoder.decode(Array(full.prefix(length)))) != nil { decoded += 1 }
        }
        // Only a cut inside the trailing EOI marker can still decode (libjpeg supplies the EOI).
        #expect(decoded <= 2)
    }

    @Test func markerSoupNeverCrashesOrHangs() throws {
        // Random buffers drawn mostly from marker bytes, so SOI/SOS/EOI and lengths collide.
        let alphabet: [UInt8] = [0xFF, 0xFF, 0xD8, 0xD9, 0xDA, 0xC4, 0xC0, 0xDB, 0x00, 0x00, 0x02, 0x11, 0xD0]
        let decoder = try JPEGDecoder()
        var state: UInt64 = 42
        for _ in 0 ..< 500 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 56)
            var buffer = [UInt8]()
            for _ in 0 ..< length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                buffer.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            if let span = buffer.withUnsafeBytes({ JPEGImageSpan.first(in: $0) }) {
                #expect(span.range.lowerBound >= 0 && span.range.upperBound <= buffer.count)
            }
            #expect(throws: JPEGError.self) { try decoder.decode(buffer) }
        }
    }

    @Test func randomByteFlipsNeverCrash() throws {
        let full = try Fixtures.jpegFile("photo-422.jpg")
        let decoder = try JPEGDecoder()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var failures = 0
        for _ in 0 ..< 300 {
            var bytes = full
            for _ in 0 ..< 3 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let position = Int(state >> 33) % bytes.count
                bytes[position] ^= UInt8(truncatingIfNeeded: state >> 20) | 1
            }
            do {
                let image = try decoder.decode(bytes)
                #expect(image.bytes.count == image.width * image.height * 3)
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0)  // the flips do hit the file
    }
}
