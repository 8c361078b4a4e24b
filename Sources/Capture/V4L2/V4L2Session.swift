import CV4L2
import Glibc

/// What one open-and-stream of the device agreed on.
public struct NegotiatedFormat: Sendable, Equatable, CustomStringConvertible {
    public var pixelFormat: PixelFormat
    public var width: Int
    public var height: Int
    /// Row stride for raw formats; 0 for MJPEG.
    public var bytesPerLine: Int
    /// The driver's maximum frame size in bytes (sizeimage).
    public var maximumFrameBytes: Int
    /// The frame rate the driver reported after S_PARM; nil if it cannot set one.
    public var framesPerSecond: Double?
    public var bufferCount: Int
    public var driver: String
    public var card: String
    public var busInfo: String

    public var description: String {
        let rate = framesPerSecond.map { "\($0) fps" } ?? "driver-chosen fps"
        return "\(pixelFormat) \(width)x\(height) at \(rate), \(bufferCount) buffers (\(card), \(driver), \(busInfo))"
    }
}

/// One open, negotiated, streaming device with its mapped buffers. Torn down as a whole when
/// anything goes wrong; `V4L2Camera` then makes a new one.
final class V4L2Session {
    let device: V4L2Device
    let negotiated: NegotiatedFormat
    private var buffers: [(address: UnsafeRawPointer, length: Int)] = []
    private var lastDeviceSequence: UInt32?
    private var firstDeviceSequence: UInt32?
    /// Monotonic ns of the last sign of life (stream start or any dequeued buffer).
    private(set) var lastActivity: UInt64

    /// Outcome of one dequeue.
    enum Dequeued {
        case frame(Frame)
        /// A broken buffer was skipped; it still proves the device is alive.
        case corrupt(dropsBefore: UInt64)
        case notReady
    }

    /// Opens, checks capabilities, negotiates, maps `bufferCount` buffers and starts streaming.
    init(configuration: V4L2CameraConfiguration) throws(CaptureError) {
        let device = try V4L2Device.open(path: configuration.devicePath)
        var buffers: [(address: UnsafeRawPointer, length: Int)] = []
        do throws(CaptureError) {
            let capability = try device.queryCapability()
            guard capability.canCaptureAndStream else {
                throw CaptureError.notACaptureDevice(path: device.path, card: capability.card)
            }
            let offered = try device.formats()
            guard let (format, code) = FormatNegotiation.choosePixelFormat(offered: offered, preference: configuration.pixelFormat) else {
                throw CaptureError.noSupportedFormat(
                    path: device.path, wanted: configuration.pixelFormat.candidates.map(\.fourCC),
                    available: offered.map(V4L2Device.fourCCString))
            }
            let wanted = FrameSize(width: configuration.width, height: configuration.height)
            let size = FormatNegotiation.chooseSize(offered: try device.frameSizes(pixelFormat: code), wanted: wanted)
            let set = try device.setFormat(pixelFormat: code, size: size)
            guard set.pixelFormat == code else {
                throw CaptureError.noSupportedFormat(
                    path: device.path, wanted: [format.fourCC], available: [V4L2Device.fourCCString(set.pixelFormat)])
            }
            let actualSize = FrameSize(width: set.width, height: set.height)
            let rates = try device.frameRates(pixelFormat: code, size: actualSize)
            let rate = FormatNegotiation.chooseRate(offered: rates, wanted: configuration.framesPerSecond)
            let actualRate = try device.setFrameRate(rate ?? configuration.framesPerSecond)
            let granted = try device.requestBuffers(count: configuration.bufferCount)
            guard granted > 0 else {
                throw CaptureError.systemCall(path: device.path, operation: "VIDIOC_REQBUFS", errno: ENOMEM)
            }
            for index in 0..<granted {
                let (offset, length) = try device.queryBuffer(index: index)
                buffers.append((try device.map(offset: offset, length: length), length))
            }
            for index in 0..<granted { try device.queueBuffer(index: index) }
            try device.streamOn()
            self.negotiated = NegotiatedFormat(
                pixelFormat: format, width: set.width, height: set.height,
                bytesPerLine: format == .yuyv ? max(set.bytesPerLine, set.width * 2) : 0,
                maximumFrameBytes: set.sizeImage, framesPerSecond: actualRate, bufferCount: granted,
                driver: capability.driver, card: capability.card, busInfo: capability.busInfo)
        } catch {
            for buffer in buffers { device.unmap(buffer.address, length: buffer.length) }
            _ = try? device.requestBuffers(count: 0)
            device.close()
            throw error
        }
        self.device = device
        self.buffers = buffers
        self.lastActivity = MonotonicClock.now()
    }

    /// Stops streaming, unmaps, frees the buffers and closes. Errors are ignored: the device
    /// may already be gone, and everything must be released anyway.
    func close() {
        try? device.streamOff()
        for buffer in buffers { device.unmap(buffer.address, length: buffer.length) }
        buffers = []
        _ = try? device.requestBuffers(count: 0)
        device.close()
    }

    /// Dequeues one buffer if ready, copies its bytes out unless it is broken, and queues it
    /// back. `sequenceBase` maps this stream's driver sequence numbers into the source's.
    func dequeue(sequenceBase: UInt64) throws(CaptureError) -> Dequeued {
        guard let buffer = try device.dequeueBuffer() else { return .notReady }
        lastActivity = MonotonicClock.now()
        let index = Int(buffer.index)
        guard index < buffers.count else {
            throw CaptureError.systemCall(path: device.path, operation: "VIDIOC_DQBUF (buffer index \(index))", errno: EINVAL)
        }
        let sequence = buffer.sequence
        var drops: UInt64 = 0
        if let last = lastDeviceSequence, sequence &- last > 1, sequence &- last < 1 << 31 {
            drops = UInt64(sequence &- last &- 1)
        }
        lastDeviceSequence = sequence
        if firstDeviceSequence == nil { firstDeviceSequence = sequence }

        let used = min(Int(buffer.bytesused), buffers[index].length)
        let bytes = UnsafeRawBufferPointer(start: buffers[index].address, count: used)
        let intact = buffer.flags & CV4L2_BUF_FLAG_ERROR == 0 && isIntact(bytes)
        let copied = intact ? [UInt8](bytes) : nil
        try device.queueBuffer(index: index)
        guard let copied else { return .corrupt(dropsBefore: drops) }

        let nanoseconds = UInt64(max(0, buffer.timestamp.tv_sec)) &* 1_000_000_000
            &+ UInt64(max(0, buffer.timestamp.tv_usec)) &* 1_000
        return .frame(
            Frame(
                bytes: copied, pixelFormat: negotiated.pixelFormat, width: negotiated.width, height: negotiated.height,
                bytesPerLine: negotiated.bytesPerLine,
                sequence: sequenceBase &+ UInt64(sequence &- (firstDeviceSequence ?? sequence)),
                deviceSequence: sequence, timestampNanoseconds: nanoseconds == 0 ? MonotonicClock.now() : nanoseconds,
                dropsBefore: drops))
    }

    /// The sequence number the next stream should continue from.
    func nextSequence(after base: UInt64) -> UInt64 {
        guard let first = firstDeviceSequence, let last = lastDeviceSequence else { return base }
        return base &+ UInt64(last &- first) &+ 1
    }

    /// Cheap rejection of buffers that cannot be a frame, before copying them.
    private func isIntact(_ bytes: UnsafeRawBufferPointer) -> Bool {
        switch negotiated.pixelFormat {
        case .mjpeg: JPEGMarkers.isPlausibleFrame(bytes)
        case .yuyv: bytes.count >= negotiated.bytesPerLine * negotiated.height
        }
    }
}
