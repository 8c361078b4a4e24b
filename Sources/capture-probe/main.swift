// capture-probe: reads frames from a camera or a replay source and prints one JSON object per
// line (negotiated format, frames, state changes, final counters). Used by the Capture tests
// (run under the fake camera's LD_PRELOAD) and handy to check a real camera on a board:
//
//   capture-probe camera /dev/video0 --frames 30
//   capture-probe mjpeg demo/sample.mjpeg --fps 15 --frames 100
//
// Exit status: 0 when the frame count or duration was reached, 1 on usage errors,
// 2 when the source threw (the error is printed as {"event":"error",...}).
import Capture
import Glibc

struct Options {
    var kind = ""
    var target = ""
    var format = PixelFormatPreference.automatic
    var size = FrameSize(width: 640, height: 480)
    var fps: Double = 30
    var frames = 10
    var duration = 10.0
    var stallTimeout = 3.0
    var backoffInitial = 0.1
    var backoffMaximum = 5.0
    var maxAttempts: Int?
    var buffers = 4
    var waitForDevice = false
    var replayFPS: Double?
    var loop = false
    var timeout = 0.5
    var stopAfter: Double?
}

func usage() -> Never {
    let text = """
        usage: capture-probe camera DEVICE [--format auto|mjpeg|yuyv] [--size WxH] [--fps N]
                                           [--buffers N] [--stall-timeout S] [--backoff S MAX]
                                           [--max-attempts N] [--wait]
               capture-probe jpeg-dir DIR [--fps N] [--loop]
               capture-probe mjpeg FILE [--fps N] [--loop]
               common: [--frames N] [--duration S] [--timeout S (per nextFrame)]
                       [--stop-after S (call stop() from another thread)]

        """
    writeAll(2, text)
    exit(1)
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    guard arguments.count >= 2 else { usage() }
    options.kind = arguments[0]
    options.target = arguments[1]
    var i = 2
    func value() -> String {
        i += 1
        guard i < arguments.count else { usage() }
        return arguments[i]
    }
    func number(_ text: String) -> Double {
        guard let number = Double(text) else { usage() }
        return number
    }
    while i < arguments.count {
        switch arguments[i] {
        case "--format":
            switch value() {
            case "auto": options.format = .automatic
            case "mjpeg": options.format = .only(.mjpeg)
            case "yuyv": options.format = .only(.yuyv)
            default: usage()
            }
        case "--size":
            let parts = value().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { usage() }
            options.size = FrameSize(width: parts[0], height: parts[1])
        case "--fps":
            options.fps = number(value())
            options.replayFPS = options.fps
        case "--frames": options.frames = Int(number(value()))
        case "--duration": options.duration = number(value())
        case "--stall-timeout": options.stallTimeout = number(value())
        case "--backoff":
            options.backoffInitial = number(value())
            options.backoffMaximum = number(value())
        case "--max-attempts": options.maxAttempts = Int(number(value()))
        case "--buffers": options.buffers = Int(number(value()))
        case "--wait": options.waitForDevice = true
        case "--loop": options.loop = true
        case "--timeout": options.timeout = number(value())
        case "--stop-after": options.stopAfter = number(value())
        default: usage()
        }
        i += 1
    }
    return options
}

func json(_ fields: [(String, String)]) {
    let body = fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",")
    writeAll(1, "{\(body)}\n")
}

/// Unbuffered, so that a test reading the pipe sees each line when it happens.
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        offset += n
    }
}

func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case _ where scalar.value < 0x20: out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// FNV-1a 64: lets the tests compare frame bytes with what the fake camera served.
func fnv1a(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    bytes.withUnsafeBufferPointer { buffer in
        for byte in buffer {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
    }
    return quoted(String(hash, radix: 16).leftPadded(to: 16))
}

func stateFields(_ state: CameraState) -> [(String, String)] {
    switch state {
    case .idle: [("state", quoted("idle"))]
    case .streaming: [("state", quoted("streaming"))]
    case .reconnecting(let attempt, let error):
        [("state", quoted("reconnecting")), ("attempt", "\(attempt)"), ("error", quoted(error.description))]
    case .failed(let reason): [("state", quoted("failed")), ("error", quoted(reason.description))]
    case .stopped: [("state", quoted("stopped"))]
    }
}

func counterFields(_ c: CaptureCounters) -> [(String, String)] {
    [("frames", "\(c.frames)"), ("drops", "\(c.drops)"), ("corrupt", "\(c.corrupt)"), ("reconnects", "\(c.reconnects)")]
}

func seconds(_ value: Double) -> Duration { .nanoseconds(Int64(value * 1e9)) }

let options = parse(Array(CommandLine.arguments.dropFirst()))
let source: any FrameSource
var camera: V4L2Camera?
do {
    switch options.kind {
    case "camera":
        var configuration = V4L2CameraConfiguration(devicePath: options.target)
        configuration.pixelFormat = options.format
        configuration.width = options.size.width
        configuration.height = options.size.height
        configuration.framesPerSecond = options.fps
        configuration.bufferCount = options.buffers
        configuration.stallTimeout = seconds(options.stallTimeout)
        configuration.backoff = ReconnectBackoff(initial: seconds(options.backoffInitial), maximum: seconds(options.backoffMaximum))
        configuration.maxReconnectAttempts = options.maxAttempts
        configuration.waitForDevice = options.waitForDevice
        let opened = try V4L2Camera(configuration: configuration) { state in
            json([("event", quoted("state"))] + stateFields(state))
        }
        try opened.start()
        if let negotiated = opened.negotiated {
            json([
                ("event", quoted("negotiated")), ("format", quoted(negotiated.pixelFormat.fourCC)),
                ("width", "\(negotiated.width)"), ("height", "\(negotiated.height)"),
                ("bytesPerLine", "\(negotiated.bytesPerLine)"), ("fps", negotiated.framesPerSecond.map { "\($0)" } ?? "null"),
                ("buffers", "\(negotiated.bufferCount)"), ("card", quoted(negotiated.card)),
            ])
        }
        camera = opened
        source = opened
    case "jpeg-dir":
        source = try JPEGDirectorySource(
            directory: options.target, pacing: options.replayFPS.map { .framesPerSecond($0) } ?? .asFastAsPossible,
            end: options.loop ? .loop : .stop)
    case "mjpeg":
        let file = try MJPEGFileSource(
            path: options.target, pacing: options.replayFPS.map { .framesPerSecond($0) } ?? .asFastAsPossible,
            end: options.loop ? .loop : .stop)
        json([("event", quoted("file")), ("frames", "\(file.frameCount)"), ("broken", "\(file.brokenFramesInFile)")])
        source = file
    default:
        usage()
    }
} catch {
    json([("event", quoted("error")), ("message", quoted(error.description))])
    exit(2)
}

if let stopAfter = options.stopAfter {
    // stop() from another thread must wake the capture thread blocked in nextFrame.
    let stoppable = source
    Task.detached {
        try? await Task.sleep(for: seconds(stopAfter))
        stoppable.stop()
    }
}

var delivered = 0
let start = DispatchFreeClock.now()
var status: Int32 = 0
loop: while delivered < options.frames {
    let remaining = options.duration - DispatchFreeClock.seconds(since: start)
    if remaining <= 0 { break }
    do {
        switch try source.nextFrame(timeout: seconds(min(remaining, options.timeout))) {
        case .frame(let frame):
            delivered += 1
            json([
                ("event", quoted("frame")), ("seq", "\(frame.sequence)"),
                ("deviceSeq", frame.deviceSequence.map { "\($0)" } ?? "null"),
                ("format", quoted(frame.pixelFormat.fourCC)), ("width", "\(frame.width)"), ("height", "\(frame.height)"),
                ("bytesPerLine", "\(frame.bytesPerLine)"), ("bytes", "\(frame.bytes.count)"), ("fnv", fnv1a(frame.bytes)),
                ("t", "\(frame.timestampNanoseconds)"), ("drops", "\(frame.dropsBefore)"),
            ])
        case .timedOut:
            continue
        case .endOfStream:
            json([("event", quoted("end"))])
            break loop
        }
    } catch {
        json([("event", quoted("error")), ("message", quoted(error.description))])
        status = 2
        break
    }
}
source.stop()
json([("event", quoted("counters"))] + counterFields(source.counters) + (camera.map { stateFields($0.state) } ?? []))
exit(status)

/// Wall time for the probe's own duration limit.
enum DispatchFreeClock {
    static func now() -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return t
    }
    static func seconds(since start: timespec) -> Double {
        let t = now()
        return Double(t.tv_sec - start.tv_sec) + Double(t.tv_nsec - start.tv_nsec) / 1e9
    }
}
