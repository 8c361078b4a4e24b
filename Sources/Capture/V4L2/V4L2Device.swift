import CV4L2
import Glibc

/// An open V4L2 device: one Swift function per ioctl we use, errors typed, EINTR retried in
/// one place (`control`). Not thread-safe; `V4L2Camera` owns it from its capture thread.
struct V4L2Device {
    let fd: Int32
    let path: String

    /// Opens `path` through libv4l2, non-blocking (DQBUF must never hang after an unplug).
    /// The corresponding C function is `v4l2_open`.
    static func open(path: String) throws(CaptureError) -> V4L2Device {
        while true {
            let fd = cv4l2_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 { return V4L2Device(fd: fd, path: path) }
            let code = errno
            switch code {
            case EINTR: continue
            case ENOENT, ENXIO, ENODEV: throw .deviceNotFound(path: path)
            case EACCES, EPERM: throw .permissionDenied(path: path)
            case EBUSY: throw .deviceBusy(path: path)
            default: throw .systemCall(path: path, operation: "open", errno: code)
            }
        }
    }

    /// The corresponding C function is `v4l2_close`.
    func close() {
        _ = cv4l2_close(fd)
    }

    /// The one place ioctls are issued: retries EINTR, returns the errno of a failure.
    private func control<Argument>(_ request: UInt, _ argument: inout Argument) -> Int32? {
        while true {
            let result = withUnsafeMutablePointer(to: &argument) { cv4l2_ioctl(fd, request, $0) }
            if result != -1 { return nil }
            let code = errno
            if code != EINTR { return code }
        }
    }

    /// Maps an ioctl failure to the error a user can act on.
    func failure(_ operation: String, _ code: Int32) -> CaptureError {
        switch code {
        case ENODEV, EIO, ENXIO, EPIPE: .deviceLost(path: path, operation: operation, errno: code)
        case EBUSY: .deviceBusy(path: path)
        case EACCES, EPERM: .permissionDenied(path: path)
        default: .systemCall(path: path, operation: operation, errno: code)
        }
    }

    private func perform<Argument>(_ request: UInt, _ name: String, _ argument: inout Argument) throws(CaptureError) {
        if let code = control(request, &argument) { throw failure(name, code) }
    }

    // MARK: Capabilities and formats

    struct Capability {
        var driver: String
        var card: String
        var busInfo: String
        /// The node's own capabilities (device_caps when the driver reports them).
        var capabilities: UInt32
        var canCaptureAndStream: Bool {
            capabilities & CV4L2_CAP_VIDEO_CAPTURE != 0 && capabilities & CV4L2_CAP_STREAMING != 0
        }
    }

    /// VIDIOC_QUERYCAP.
    func queryCapability() throws(CaptureError) -> Capability {
        var cap = v4l2_capability()
        try perform(CV4L2_VIDIOC_QUERYCAP, "VIDIOC_QUERYCAP", &cap)
        let caps = cap.capabilities & CV4L2_CAP_DEVICE_CAPS != 0 ? cap.device_caps : cap.capabilities
        return Capability(
            driver: Self.string(cap.driver), card: Self.string(cap.card), busInfo: Self.string(cap.bus_info),
            capabilities: caps)
    }

    /// VIDIOC_ENUM_FMT: the driver's own formats (formats libv4l2 emulates by converting are
    /// left out: we want the camera's bytes, not libv4l2's CPU conversions).
    func formats() throws(CaptureError) -> [UInt32] {
        var result: [UInt32] = []
        for index in 0..<64 as Range<UInt32> {
            var description = v4l2_fmtdesc()
            description.index = index
            description.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
            if let code = control(CV4L2_VIDIOC_ENUM_FMT, &description) {
                if code == EINVAL { break }
                throw failure("VIDIOC_ENUM_FMT", code)
            }
            if description.flags & CV4L2_FMT_FLAG_EMULATED == 0 { result.append(description.pixelformat) }
        }
        return result
    }

    /// VIDIOC_ENUM_FRAMESIZES; `.unknown` when the driver does not enumerate sizes.
    func frameSizes(pixelFormat: UInt32) throws(CaptureError) -> FrameSizes {
        var sizes: [FrameSize] = []
        for index in 0..<256 as Range<UInt32> {
            var e = v4l2_frmsizeenum()
            e.index = index
            e.pixel_format = pixelFormat
            if let code = control(CV4L2_VIDIOC_ENUM_FRAMESIZES, &e) {
                if code == EINVAL || code == ENOTTY { break }
                throw failure("VIDIOC_ENUM_FRAMESIZES", code)
            }
            if e.type == CV4L2_FRMSIZE_TYPE_DISCRETE {
                sizes.append(FrameSize(width: Int(e.discrete.width), height: Int(e.discrete.height)))
            } else {
                let s = e.stepwise
                return .stepwise(
                    minimum: FrameSize(width: Int(s.min_width), height: Int(s.min_height)),
                    maximum: FrameSize(width: Int(s.max_width), height: Int(s.max_height)),
                    step: FrameSize(width: max(1, Int(s.step_width)), height: max(1, Int(s.step_height))))
            }
        }
        return sizes.isEmpty ? .unknown : .discrete(sizes)
    }

    /// VIDIOC_ENUM_FRAMEINTERVALS, as frame rates; empty when the driver does not enumerate them.
    func frameRates(pixelFormat: UInt32, size: FrameSize) throws(CaptureError) -> FrameRates {
        var rates: [Double] = []
        for index in 0..<64 as Range<UInt32> {
            var e = v4l2_frmivalenum()
            e.index = index
            e.pixel_format = pixelFormat
            e.width = UInt32(size.width)
            e.height = UInt32(size.height)
            if let code = control(CV4L2_VIDIOC_ENUM_FRAMEINTERVALS, &e) {
                if code == EINVAL || code == ENOTTY { break }
                throw failure("VIDIOC_ENUM_FRAMEINTERVALS", code)
            }
            if e.type == CV4L2_FRMIVAL_TYPE_DISCRETE {
                if e.discrete.numerator > 0 { rates.append(Double(e.discrete.denominator) / Double(e.discrete.numerator)) }
            } else {
                // Stepwise intervals: min interval = max rate.
                let s = e.stepwise
                guard s.min.numerator > 0, s.max.numerator > 0 else { break }
                return .range(
                    minimum: Double(s.max.denominator) / Double(s.max.numerator),
                    maximum: Double(s.min.denominator) / Double(s.min.numerator))
            }
        }
        return .discrete(rates)
    }

    struct PixFormat {
        var pixelFormat: UInt32
        var width: Int
        var height: Int
        var bytesPerLine: Int
        var sizeImage: Int
    }

    /// VIDIOC_S_FMT; returns what the driver actually set.
    func setFormat(pixelFormat: UInt32, size: FrameSize) throws(CaptureError) -> PixFormat {
        var format = v4l2_format()
        format.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        format.fmt.pix.pixelformat = pixelFormat
        format.fmt.pix.width = UInt32(size.width)
        format.fmt.pix.height = UInt32(size.height)
        format.fmt.pix.field = CV4L2_FIELD_ANY
        try perform(CV4L2_VIDIOC_S_FMT, "VIDIOC_S_FMT", &format)
        return Self.pixFormat(format)
    }

    /// VIDIOC_G_FMT.
    func getFormat() throws(CaptureError) -> PixFormat {
        var format = v4l2_format()
        format.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        try perform(CV4L2_VIDIOC_G_FMT, "VIDIOC_G_FMT", &format)
        return Self.pixFormat(format)
    }

    /// VIDIOC_S_PARM with the frame interval closest to `framesPerSecond`; returns the rate the
    /// driver reports back, or nil when it cannot set the rate.
    func setFrameRate(_ framesPerSecond: Double) throws(CaptureError) -> Double? {
        var parm = v4l2_streamparm()
        parm.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        if let code = control(CV4L2_VIDIOC_G_PARM, &parm) {
            if code == EINVAL || code == ENOTTY { return nil }
            throw failure("VIDIOC_G_PARM", code)
        }
        guard parm.parm.capture.capability & CV4L2_CAP_TIMEPERFRAME != 0 else { return Self.rate(parm) }
        let interval = Fraction(approximating: 1 / framesPerSecond)
        parm.parm.capture.timeperframe.numerator = interval.numerator
        parm.parm.capture.timeperframe.denominator = interval.denominator
        try perform(CV4L2_VIDIOC_S_PARM, "VIDIOC_S_PARM", &parm)
        return Self.rate(parm)
    }

    // MARK: Buffers and streaming

    /// VIDIOC_REQBUFS with mmap memory; returns the count the driver granted (0 frees them).
    func requestBuffers(count: Int) throws(CaptureError) -> Int {
        var request = v4l2_requestbuffers()
        request.count = UInt32(count)
        request.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        request.memory = CV4L2_MEMORY_MMAP
        try perform(CV4L2_VIDIOC_REQBUFS, "VIDIOC_REQBUFS", &request)
        return Int(request.count)
    }

    /// VIDIOC_QUERYBUF: where buffer `index` lives for mmap.
    func queryBuffer(index: Int) throws(CaptureError) -> (offset: Int64, length: Int) {
        var buffer = Self.buffer(index: index)
        try perform(CV4L2_VIDIOC_QUERYBUF, "VIDIOC_QUERYBUF", &buffer)
        return (Int64(buffer.m.offset), Int(buffer.length))
    }

    /// VIDIOC_QBUF: hands buffer `index` to the driver to fill.
    func queueBuffer(index: Int) throws(CaptureError) {
        var buffer = Self.buffer(index: index)
        try perform(CV4L2_VIDIOC_QBUF, "VIDIOC_QBUF", &buffer)
    }

    /// VIDIOC_DQBUF on a non-blocking fd: nil when no buffer is ready yet (EAGAIN).
    func dequeueBuffer() throws(CaptureError) -> v4l2_buffer? {
        var buffer = Self.buffer(index: 0)
        if let code = control(CV4L2_VIDIOC_DQBUF, &buffer) {
            if code == EAGAIN { return nil }
            throw failure("VIDIOC_DQBUF", code)
        }
        return buffer
    }

    /// VIDIOC_STREAMON.
    func streamOn() throws(CaptureError) {
        var type = Int32(bitPattern: CV4L2_BUF_TYPE_VIDEO_CAPTURE)
        try perform(CV4L2_VIDIOC_STREAMON, "VIDIOC_STREAMON", &type)
    }

    /// VIDIOC_STREAMOFF (also returns every buffer to the application).
    func streamOff() throws(CaptureError) {
        var type = Int32(bitPattern: CV4L2_BUF_TYPE_VIDEO_CAPTURE)
        try perform(CV4L2_VIDIOC_STREAMOFF, "VIDIOC_STREAMOFF", &type)
    }

    /// Maps a driver buffer read-only. The corresponding C function is `v4l2_mmap`.
    func map(offset: Int64, length: Int) throws(CaptureError) -> UnsafeRawPointer {
        let address = cv4l2_mmap(nil, length, PROT_READ, MAP_SHARED, fd, offset)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw failure("mmap", errno)
        }
        return UnsafeRawPointer(address)
    }

    /// The corresponding C function is `v4l2_munmap`.
    func unmap(_ address: UnsafeRawPointer, length: Int) {
        _ = cv4l2_munmap(UnsafeMutableRawPointer(mutating: address), length)
    }

    // MARK: Helpers

    private static func buffer(index: Int) -> v4l2_buffer {
        var buffer = v4l2_buffer()
        buffer.index = UInt32(index)
        buffer.type = CV4L2_BUF_TYPE_VIDEO_CAPTURE
        buffer.memory = CV4L2_MEMORY_MMAP
        return buffer
    }

    private static func pixFormat(_ format: v4l2_format) -> PixFormat {
        let pix = format.fmt.pix
        return PixFormat(
            pixelFormat: pix.pixelformat, width: Int(pix.width), height: Int(pix.height),
            bytesPerLine: Int(pix.bytesperline), sizeImage: Int(pix.sizeimage))
    }

    private static func rate(_ parm: v4l2_streamparm) -> Double? {
        let t = parm.parm.capture.timeperframe
        return t.numerator > 0 && t.denominator > 0 ? Double(t.denominator) / Double(t.numerator) : nil
    }

    static func string<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// "MJPG" from its fourcc code.
    static func fourCCString(_ code: UInt32) -> String {
        let bytes = (0..<4).map { UInt8(truncatingIfNeeded: code >> (8 * $0)) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
