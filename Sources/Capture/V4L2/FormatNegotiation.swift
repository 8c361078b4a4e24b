import CV4L2

/// A frame size in pixels.
public struct FrameSize: Sendable, Hashable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
    public var description: String { "\(width)x\(height)" }
}

/// The sizes a device offers for one pixel format (VIDIOC_ENUM_FRAMESIZES).
enum FrameSizes: Equatable {
    case discrete([FrameSize])
    case stepwise(minimum: FrameSize, maximum: FrameSize, step: FrameSize)
    /// The driver does not enumerate sizes: ask for the wanted size and take what S_FMT gives.
    case unknown
}

/// The frame rates a device offers for one format and size (VIDIOC_ENUM_FRAMEINTERVALS).
enum FrameRates: Equatable {
    case discrete([Double])
    case range(minimum: Double, maximum: Double)
}

/// A V4L2 fraction (timeperframe).
struct Fraction: Equatable {
    var numerator: UInt32
    var denominator: UInt32

    /// The closest fraction with a small denominator (30 fps → 1/30, 29.97 → 1001/30000).
    init(approximating value: Double) {
        guard value.isFinite, value > 0 else {
            self.init(numerator: 1, denominator: 30)
            return
        }
        let inverse = 1 / value
        if abs(inverse.rounded() - inverse) < 1e-6, inverse.rounded() >= 1, inverse.rounded() <= 1_000_000 {
            self.init(numerator: 1, denominator: UInt32(inverse.rounded()))
        } else {
            self.init(numerator: UInt32(max(1, (value * 1_000_000).rounded())), denominator: 1_000_000)
        }
    }

    init(numerator: UInt32, denominator: UInt32) {
        self.numerator = numerator
        self.denominator = denominator
    }
}

/// Which pixel formats are acceptable, in order of preference.
public enum PixelFormatPreference: Sendable, Hashable {
    /// MJPEG if offered (small buffers, USB bandwidth for high resolutions), else YUYV.
    case automatic
    /// Only this format.
    case only(PixelFormat)

    var candidates: [PixelFormat] {
        switch self {
        case .automatic: [.mjpeg, .yuyv]
        case .only(let format): [format]
        }
    }
}

/// Pure choices from what a device offers: the rules are unit-tested without a device.
enum FormatNegotiation {
    /// The first acceptable format the device offers, with the fourcc to request.
    /// Some cameras call their MJPEG stream 'JPEG'; both are accepted as `.mjpeg`.
    static func choosePixelFormat(offered: [UInt32], preference: PixelFormatPreference) -> (PixelFormat, UInt32)? {
        for candidate in preference.candidates {
            let codes: [UInt32] = candidate == .mjpeg ? [CV4L2_PIX_FMT_MJPEG, CV4L2_PIX_FMT_JPEG] : [CV4L2_PIX_FMT_YUYV]
            for code in codes where offered.contains(code) { return (candidate, code) }
        }
        return nil
    }

    static func pixelFormat(fourCC code: UInt32) -> PixelFormat? {
        if code == CV4L2_PIX_FMT_MJPEG || code == CV4L2_PIX_FMT_JPEG { return .mjpeg }
        if code == CV4L2_PIX_FMT_YUYV { return .yuyv }
        return nil
    }

    /// The offered size closest to `wanted`: exact if offered, else the smallest relative
    /// difference in width plus height (ties go to the larger size, which downscales cleanly).
    static func chooseSize(offered: FrameSizes, wanted: FrameSize) -> FrameSize {
        switch offered {
        case .unknown:
            return wanted
        case .discrete(let sizes):
            guard !sizes.isEmpty else { return wanted }
            func distance(_ s: FrameSize) -> Double {
                abs(Double(s.width - wanted.width)) / Double(max(wanted.width, 1))
                    + abs(Double(s.height - wanted.height)) / Double(max(wanted.height, 1))
            }
            var best = sizes[0]
            for size in sizes.dropFirst() {
                let d = distance(size), b = distance(best)
                if d < b || (d == b && size.width * size.height > best.width * best.height) { best = size }
            }
            return best
        case .stepwise(let minimum, let maximum, let step):
            func snap(_ value: Int, _ low: Int, _ high: Int, _ step: Int) -> Int {
                let clamped = min(max(value, low), high)
                return low + (clamped - low + step / 2) / step * step
            }
            return FrameSize(
                width: min(snap(wanted.width, minimum.width, maximum.width, step.width), maximum.width),
                height: min(snap(wanted.height, minimum.height, maximum.height, step.height), maximum.height))
        }
    }

    /// The offered rate closest to `wanted`, or nil when the device lists none.
    static func chooseRate(offered: FrameRates, wanted: Double) -> Double? {
        switch offered {
        case .discrete(let rates):
            return rates.min { abs($0 - wanted) < abs($1 - wanted) }
        case .range(let minimum, let maximum):
            return min(max(wanted, minimum), maximum)
        }
    }
}
