import CV4L2
import Testing

@testable import Capture

@Suite("Format, size and rate negotiation")
struct FormatNegotiationTests {
    let mjpg = CV4L2_PIX_FMT_MJPEG, jpeg = CV4L2_PIX_FMT_JPEG, yuyv = CV4L2_PIX_FMT_YUYV

    @Test func automaticPrefersMJPEGThenJPEGThenYUYV() {
        #expect(FormatNegotiation.choosePixelFormat(offered: [yuyv, mjpg], preference: .automatic)! == (.mjpeg, mjpg))
        #expect(FormatNegotiation.choosePixelFormat(offered: [yuyv, jpeg], preference: .automatic)! == (.mjpeg, jpeg))
        #expect(FormatNegotiation.choosePixelFormat(offered: [yuyv], preference: .automatic)! == (.yuyv, yuyv))
        #expect(FormatNegotiation.choosePixelFormat(offered: [mjpg], preference: .only(.yuyv)) == nil)
        #expect(FormatNegotiation.choosePixelFormat(offered: [0x3231_5559], preference: .automatic) == nil)
    }

    @Test func discreteSizeIsExactOrClosest() {
        let sizes = FrameSizes.discrete([
            FrameSize(width: 1280, height: 720), FrameSize(width: 640, height: 480), FrameSize(width: 320, height: 240),
        ])
        #expect(FormatNegotiation.chooseSize(offered: sizes, wanted: FrameSize(width: 640, height: 480)) == FrameSize(width: 640, height: 480))
        #expect(FormatNegotiation.chooseSize(offered: sizes, wanted: FrameSize(width: 1920, height: 1080)) == FrameSize(width: 1280, height: 720))
        #expect(FormatNegotiation.chooseSize(offered: sizes, wanted: FrameSize(width: 300, height: 200)) == FrameSize(width: 320, height: 240))
        #expect(FormatNegotiation.chooseSize(offered: .unknown, wanted: FrameSize(width: 99, height: 77)) == FrameSize(width: 99, height: 77))
    }

    @Test func stepwiseSizeIsClampedAndSnappedToTheStep() {
        let sizes = FrameSizes.stepwise(
            minimum: FrameSize(width: 48, height: 32), maximum: FrameSize(width: 1920, height: 1080), step: FrameSize(width: 16, height: 8))
        #expect(FormatNegotiation.chooseSize(offered: sizes, wanted: FrameSize(width: 641, height: 479)) == FrameSize(width: 640, height: 480))
        #expect(FormatNegotiation.chooseSize(offered: sizes, wanted: FrameSize(width: 4000, height: 3000)) == FrameSize(width: 1920, height: 1080))
        #expect(FormatNegotiation.chooseSize(offered: sizes, wanted: FrameSize(width: 1, height: 1)) == FrameSize(width: 48, height: 32))
    }

    @Test func rateIsClosestOfferedOrClamped() {
        #expect(FormatNegotiation.chooseRate(offered: .discrete([30, 15, 5]), wanted: 25) == 30)
        #expect(FormatNegotiation.chooseRate(offered: .discrete([30, 15, 5]), wanted: 8) == 5)
        #expect(FormatNegotiation.chooseRate(offered: .discrete([]), wanted: 8) == nil)
        #expect(FormatNegotiation.chooseRate(offered: .range(minimum: 1, maximum: 60), wanted: 90) == 60)
    }

    @Test func frameIntervalFractions() {
        #expect(Fraction(approximating: 1.0 / 30) == Fraction(numerator: 1, denominator: 30))
        #expect(Fraction(approximating: 1.0 / 7.5) == Fraction(numerator: 133_333, denominator: 1_000_000))
    }

    @Test func backoffDoublesUpToTheMaximum() {
        let backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(5))
        let delays = (1...9).map { backoff.delay(beforeAttempt: $0) }
        #expect(delays == [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000].map { Duration.milliseconds($0) })
    }

    @Test func invalidConfigurationIsRejected() {
        var configuration = V4L2CameraConfiguration(devicePath: "/dev/video0")
        configuration.bufferCount = 0
        #expect(throws: CaptureError.self) { try V4L2Camera(configuration: configuration) }
        configuration.bufferCount = 4
        configuration.framesPerSecond = 0
        #expect(throws: CaptureError.self) { try V4L2Camera(configuration: configuration) }
    }
}
