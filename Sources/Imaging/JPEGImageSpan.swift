#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where one JPEG image lies in a buffer that may hold garbage, several images, or a cut-off one.
///
/// Found by walking the marker structure the way a decoder does: segments are skipped by their
/// length (so an EXIF thumbnail's own SOI/EOI inside APP1 is not mistaken for an image), and
/// entropy-coded data is skipped up to the next marker that is not a stuffed `FF 00`, a fill
/// byte or a restart marker. Nothing is decoded.
public struct JPEGImageSpan: Sendable, Equatable {
    /// From the SOI marker through the EOI marker (inclusive) when complete, else to the end.
    public var range: Range<Int>
    /// True when an EOI marker ends the image after at least one scan.
    public var isComplete: Bool
    /// Offset of the first SOS marker (FF DA), if the walk got that far.
    public var firstScanOffset: Int?
    /// True when a DHT segment precedes the first scan. UVC MJPEG frames usually have none and
    /// rely on the standard tables (see `StandardHuffmanTables`).
    public var hasHuffmanTables: Bool

    /// The first complete image (SOI ... EOI) at or after `start`.
    ///
    /// - Bytes before an SOI are skipped.
    /// - An SOI inside an unfinished image abandons that image and starts over at the new SOI,
    ///   so a cut-off frame followed by a whole one yields the whole one.
    /// - A tables-only stream (SOI, tables, EOI with no scan) is not an image and is skipped.
    /// - With no complete image, the first incomplete one is returned (`isComplete == false`),
    ///   running to the end of the buffer, so a decoder can report what is wrong with it.
    /// - nil when the buffer holds no SOI marker at all.
    ///
    /// To split a concatenated MJPEG file, call again with `from: span.range.upperBound` while
    /// the returned span is complete.
    public static func first(in bytes: UnsafeRawBufferPointer, from start: Int = 0) -> JPEGImageSpan? {
        let n = bytes.count
        guard start >= 0, start < n, let base = bytes.baseAddress else { return nil }
        let b = base.assumingMemoryBound(to: UInt8.self)
        var firstIncomplete: JPEGImageSpan?
        var searchFrom = start

        // Offset of the next 0xFF at or after `from`, using memchr (entropy data is most of a frame).
        func nextFF(_ from: Int) -> Int? {
            guard from < n, let hit = memchr(b + from, 0xFF, n - from) else { return nil }
            return b.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }

        outer: while let soiFF = nextSOI(b, n, from: searchFrom) {
            var span = JPEGImageSpan(range: soiFF ..< n, isComplete: false, firstScanOffset: nil,
                                     hasHuffmanTables: false)
            var p = soiFF + 2
            var inScan = false
            markers: while true {
                // In entropy data skip to an FF that starts a real marker; between segments take
                // the next FF (stray bytes there are libjpeg's "extraneous bytes", a warning).
                guard var ff = nextFF(p) else { break }
                if inScan {
                    while ff + 1 < n, b[ff + 1] == 0x00 || (0xD0 ... 0xD7).contains(b[ff + 1]) {
                        guard let next = nextFF(ff + 2) else { ff = n; break }
                        ff = next
                    }
                    if ff >= n { break }
                }
                var m = ff + 1
                while m < n && b[m] == 0xFF { m += 1 }  // fill bytes
                guard m < n else { break }
                let code = b[m]
                p = m + 1
                switch code {
                case 0xD8:  // a new image starts before this one ended
                    if firstIncomplete == nil { firstIncomplete = span }
                    searchFrom = m - 1
                    continue outer
                case 0xD9:
                    if span.firstScanOffset != nil {
                        span.range = soiFF ..< p
                        span.isComplete = true
                        return span
                    }
                    searchFrom = p  // tables-only stream
                    continue outer
                case 0x00, 0x01, 0xD0 ... 0xD7:
                    continue  // no length field
                default:
                    guard p + 2 <= n else { break markers }
                    let length = Int(b[p]) << 8 | Int(b[p + 1])
                    guard length >= 2 else {  // not a real segment: look for another SOI
                        if firstIncomplete == nil { firstIncomplete = span }
                        searchFrom = soiFF + 2
                        continue outer
                    }
                    if code == 0xC4 && span.firstScanOffset == nil { span.hasHuffmanTables = true }
                    if code == 0xDA {
                        if span.firstScanOffset == nil { span.firstScanOffset = m - 1 }
                        inScan = true
                    } else {
                        inScan = false
                    }
                    p += length
                }
                if p > n { break markers }
            }
            // Ran off the end of the buffer inside this image.
            return firstIncomplete ?? span
        }
        return firstIncomplete
    }

    /// Offset of the next FF D8 FF at or after `from` (an SOI followed by another marker).
    private static func nextSOI(_ b: UnsafePointer<UInt8>, _ n: Int, from: Int) -> Int? {
        var i = from
        while i + 2 < n {
            guard let hit = memchr(b + i, 0xFF, n - i - 2) else { return nil }
            let j = b.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if b[j + 1] == 0xD8 && b[j + 2] == 0xFF { return j }
            i = j + 1
        }
        return nil
    }
}
