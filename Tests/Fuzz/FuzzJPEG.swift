// libFuzzer entry for MJPEG frame handling: image location (`JPEGImageSpan`), the standard
// Huffman table insertion for DHT-less frames, header reading and full/scaled decoding.
// scripts/fuzz compiles this file together with Sources/Imaging (and the CJPEG shim) as one
// module, so the Imaging types are used without an import.

/// A small pixel limit keeps a forged 8K header from spending the fuzzer's time and memory;
/// the limit check itself is what is under test there.
nonisolated(unsafe) private let decoder = try? JPEGDecoder(maximumPixelCount: 1 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let decoder else { return 0 }
    let raw = UnsafeRawBufferPointer(start: data, count: size)
    // Walk every image a stream would yield, as the MJPEG replay source does.
    var start = 0
    while start < raw.count, let span = JPEGImageSpan.first(in: raw, from: start) {
        guard span.range.lowerBound >= start, span.range.upperBound <= raw.count, !span.range.isEmpty else {
            fatalError("JPEGImageSpan.first(in:from: \(start)) returned \(span.range) for \(raw.count) bytes")
        }
        start = span.range.upperBound
    }
    _ = try? decoder.header(of: raw)
    _ = try? decoder.decode(raw, scale: .full)
    _ = try? decoder.decode(raw, minimumWidth: 16, minimumHeight: 16)
    return 0
}
