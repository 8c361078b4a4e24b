// libFuzzer entry for the control protocol without sockets: a byte stream is split into lines
// the way the server loop does, each line goes through the UTF-8/nesting checks and the JSON
// parser, becomes a request or a rejection, has its arguments validated the way the daemon's
// commands validate them, and is answered with an encoded response line.
// scripts/fuzz compiles this file together with Sources/Control as one module, so internal
// types (JSONLineCodec, ResponseLine, ...) are reachable without an import.

/// The argument checks of the server's and the daemon's commands (DaemonControlHandler), without
/// the work behind them.
private func validateArguments(of request: ControlRequest) throws(ControlError) -> JSONValue {
    let args = request.arguments
    switch request.command {
    case "subscribe":
        try args.rejectUnknown(allowing: ["kinds"])
        return .array((try args.strings("kinds") ?? []).map { .string($0) })
    case "detections":
        try args.rejectUnknown(allowing: ["since", "until", "label", "min_score", "class", "limit", "cursor"])
        _ = try args.int64("since")
        _ = try args.int64("until")
        _ = try args.string("label")
        _ = try args.number("min_score")
        _ = try args.integer("class", in: 0...Int(Int32.max))
        _ = try args.string("cursor")
        return .number(Double(try args.integer("limit", in: 1...1000) ?? 50))
    case "detection", "heatmap":
        try args.rejectUnknown(allowing: ["id", "format"])
        _ = try args.string("format", oneOf: ["grid", "overlay", "both"])
        return .number(Double(try args.requiredInt64("id", minimum: 1)))
    case "explain":
        try args.rejectUnknown(allowing: ["path", "method", "layer", "target", "overlay"])
        _ = try args.requiredString("path")
        _ = try args.string("method")
        _ = try args.string("layer")
        _ = try args.integer("target", in: 0...Int(Int32.max))
        return .bool(try args.bool("overlay") ?? false)
    case "config.set":
        try args.rejectUnknown(allowing: ["key", "value"])
        return .string(try args.requiredString("key"))
    case "snapshot":
        try args.rejectUnknown(allowing: ["quality"])
        return .number(Double(try args.integer("quality", in: 1...100) ?? 90))
    case "db.prune":
        try args.rejectUnknown(allowing: ["max_age_days", "max_detections", "max_megabytes"])
        _ = try args.number("max_age_days", in: 0...1e6)
        _ = try args.integer("max_detections", in: 0...Int.max)
        _ = try args.integer("max_megabytes", in: 1...(1 << 30))
        return .null
    case "config.get":
        _ = try args.object("key")
        return .null
    default:
        return .object(args.values)
    }
}

private func process(_ rawLine: ArraySlice<UInt8>) {
    var line = rawLine
    while let last = line.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
        line.removeLast()
    }
    guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { return }
    let response: ResponseLine
    do throws(ControlError) {
        let value = try JSONLineCodec.decode(line: line)
        switch ControlRequest.parse(value) {
        case .failure(let rejected):
            response = ResponseLine(id: rejected.id, outcome: .failure(rejected.error))
        case .success(let request):
            do throws(ControlError) {
                response = ResponseLine(id: request.id, outcome: .success(try validateArguments(of: request)))
            } catch {
                response = ResponseLine(id: request.id, outcome: .failure(error))
            }
        }
    } catch {
        response = ResponseLine(id: nil, outcome: .failure(error))
    }
    let encoded = response.encoded()
    // The wire format promises exactly one newline per response, at its end.
    if encoded.last != UInt8(ascii: "\n") || encoded.dropLast().contains(UInt8(ascii: "\n")) {
        fatalError("a response line is not exactly one line: \(String(decoding: encoded, as: UTF8.self))")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
        process(ArraySlice(line))
    }
    return 0
}
