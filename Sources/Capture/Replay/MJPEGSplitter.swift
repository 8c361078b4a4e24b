/// Splits a concatenated MJPEG stream into JPEG frames.
///
/// It walks the JPEG segment structure rather than searching for the next EOI, so that SOI/EOI
/// pairs inside segments (EXIF thumbnails in APP1) do not cut frames. Bytes between frames are
/// skipped; a frame that stops early (a new SOI inside its entropy-coded data, or the end of
/// the stream before EOI) is dropped and counted.
struct MJPEGSplitter {
    /// Byte ranges of the complete frames, in stream order.
    var frames: [Range<Int>] = []
    /// Broken frames that were skipped.
    var corrupt = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        var position = 0
        while let start = Self.nextStartOfImage(bytes, from: position) {
            switch Self.frameEnd(bytes, start: start) {
            case .complete(let end):
                frames.append(start..<end)
                position = end
            case .broken(let resume):
                corrupt += 1
                position = resume
            }
        }
    }

    private enum Outcome {
        case complete(end: Int)
        /// The frame is unusable; look for the next SOI from `resume`.
        case broken(resume: Int)
    }

    /// SOI followed by another marker (FF D8 FF), so stray FF D8 pairs in garbage are skipped.
    private static func nextStartOfImage(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = from
        while i + 2 < bytes.count {
            if bytes[i] == 0xFF, bytes[i + 1] == 0xD8, bytes[i + 2] == 0xFF { return i }
            i += 1
        }
        return nil
    }

    private static func frameEnd(_ bytes: UnsafeRawBufferPointer, start: Int) -> Outcome {
        let count = bytes.count
        var i = start + 2
        var sawScan = false
        while true {
            // Segment headers.
            guard i + 1 < count else { return .broken(resume: count) }
            guard bytes[i] == 0xFF else { return .broken(resume: start + 2) }
            let marker = bytes[i + 1]
            switch marker {
            case 0xFF:
                i += 1  // fill byte before a marker
                continue
            case 0xD8:
                return .broken(resume: i)  // a new image starts inside this one's header
            case 0xD9:
                return sawScan ? .complete(end: i + 2) : .broken(resume: i + 2)
            case 0x01, 0xD0...0xD7:
                i += 2
                continue
            default:
                break
            }
            guard i + 3 < count else { return .broken(resume: count) }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2 else { return .broken(resume: start + 2) }
            i += 2 + length
            guard i <= count else { return .broken(resume: count) }
            guard marker == 0xDA else { continue }
            // Entropy-coded data after SOS: runs until a marker other than stuffing (FF 00) or a
            // restart marker. That marker is EOI, another segment (progressive scans), or a new
            // SOI meaning this frame was cut short.
            sawScan = true
            while i + 1 < count {
                if bytes[i] != 0xFF { i += 1; continue }
                let next = bytes[i + 1]
                if next == 0x00 || (0xD0...0xD7).contains(next) { i += 2; continue }
                if next == 0xFF { i += 1; continue }
                break
            }
            guard i + 1 < count else { return .broken(resume: count) }
            if bytes[i + 1] == 0xD8 { return .broken(resume: i) }
        }
    }
}
