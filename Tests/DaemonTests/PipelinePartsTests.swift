import Capture
import Foundation
import Locking
import Testing
@testable import Daemon

@Suite("Pipeline parts")
struct PipelinePartsTests {
    static let rules = DetectionPolicy.Rules(classes: nil, minScore: 0.5, topK: 1, repeatSeconds: 10, clearSeconds: 2, changeSeconds: 1)

    @Test func objectInViewIsLoggedOnAppearanceThenAtTheRepeatInterval() {
        var policy = DetectionPolicy()
        var logged: [(Double, DetectionPolicy.Reason)] = []
        for frame in 0..<750 {  // 25 s at 30 fps, class 1 always on top
            let t = Double(frame) / 30
            for decision in policy.evaluate(scores: [0.1, 0.8, 0.1], at: t, rules: Self.rules) { logged.append((t, decision.reason)) }
        }
        #expect(logged.map(\.1) == [.appeared, .repeated, .repeated])
        #expect(logged.map(\.0) == [0, 10, 20])
    }

    @Test func classChangeAndReappearanceAreLoggedButFlickerIsNot() {
        var policy = DetectionPolicy()
        func run(_ scores: [Float], _ t: Double) -> [DetectionPolicy.Decision] { policy.evaluate(scores: scores, at: t, rules: Self.rules) }
        #expect(run([0.9, 0.0], 0).map(\.reason) == [.appeared])
        #expect(run([0.0, 0.9], 0.1).map(\.reason) == [.appeared])  // class 1 appears (a change of class)
        #expect(run([0.9, 0.0], 0.2).isEmpty)  // class 0 back within change_seconds: flicker, not logged
        #expect(run([0.9, 0.0], 0.3).isEmpty)
        #expect(run([0.0, 0.9], 1.5).map(\.reason) == [.classChange])  // back on top after change_seconds
        #expect(run([0.1, 0.1], 2.0).isEmpty)  // below min_score
        #expect(run([0.0, 0.9], 5.0).map(\.reason) == [.appeared])  // gone > clear_seconds, so a new appearance
    }

    @Test func classesOfInterestAndTopKFilter() {
        var policy = DetectionPolicy()
        var rules = Self.rules
        rules.classes = [2, 3]
        rules.topK = 2
        rules.minScore = 0.2
        let decisions = policy.evaluate(scores: [0.9, 0.3, 0.25, 0.3, 0.1], at: 0, rules: rules)
        #expect(decisions.map(\.classIndex) == [3, 2])
    }

    @Test func frameSlotKeepsOnlyTheNewestFrameAndCountsDrops() {
        let slot = FrameSlot()
        func frame(_ n: UInt64) -> Frame {
            Frame(bytes: [], pixelFormat: .mjpeg, width: 1, height: 1, bytesPerLine: 0, sequence: n, timestampNanoseconds: n)
        }
        #expect(slot.put(frame(1)) == false)
        #expect(slot.put(frame(2)) == true)
        #expect(slot.put(frame(3)) == true)
        #expect(slot.take(timeout: .milliseconds(10))?.sequence == 3)
        #expect(slot.take(timeout: .milliseconds(10)) == nil)
        #expect(slot.put(frame(4)) == false)
        slot.close()
        #expect(slot.take(timeout: .milliseconds(10))?.sequence == 4)
        #expect(slot.take(timeout: .milliseconds(10)) == nil)
    }

    @Test func frameSlotHoldsAnOnDemandProducerUntilTheFrameIsTaken() {
        let slot = FrameSlot()
        #expect(slot.waitUntilEmpty())
        slot.put(Frame(bytes: [], pixelFormat: .mjpeg, width: 1, height: 1, bytesPerLine: 0, sequence: 1, timestampNanoseconds: 1))
        let returned = DispatchSemaphore(value: 0)
        let result = PThreadMutex<Bool?>(nil)
        Thread {
            let empty = slot.waitUntilEmpty()
            result.withLock { $0 = empty }
            returned.signal()
        }.start()
        // A slow machine can only make the producer return later, never before the take.
        #expect(returned.wait(timeout: .now() + .milliseconds(100)) == .timedOut)
        #expect(slot.take(timeout: .milliseconds(10))?.sequence == 1)
        #expect(returned.wait(timeout: .now() + .seconds(10)) == .success)
        #expect(result.withLock { $0 } == true)
        slot.close()
        #expect(!slot.waitUntilEmpty())
    }

    @Test func heatmapBoxesMapBackThroughCropAndDCTScaling() {
        // 640×480 frame decoded at 1/2 (320×240), centre square 240×240 at x 40, resized to 224.
        let geometry = InputGeometry(frameWidth: 640, frameHeight: 480, decodedWidth: 320, decodedHeight: 240,
                                     crop: .init(x: 40, y: 0, width: 240, height: 240), inputWidth: 224, inputHeight: 224)
        let whole = geometry.frameBox(x0: 0, y0: 0, x1: 223, y1: 223)
        #expect(whole.x0 == 80 && whole.y0 == 0 && whole.x1 == 560 && whole.y1 == 480)
        let quarter = geometry.frameBox(x0: 112, y0: 0, x1: 223, y1: 111)  // top-right quarter of the input
        #expect(quarter.x0 == 320 && quarter.y0 == 0 && quarter.x1 == 560 && quarter.y1 == 240)
        let centre = geometry.framePoint(centerOf: 111, 111)
        #expect(abs(centre.x - (80 + 111.5 * 480 / 224)) < 1e-9 && abs(centre.y - 111.5 * 480 / 224) < 1e-9)
    }

    @Test func sha256MatchesTheFIPSExample() {
        // FIPS 180-4 example "abc" (also `printf abc | sha256sum`).
        #expect(SHA256.hexDigest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func latencyPercentilesUseNearestRank() {
        var window = LatencyWindow(capacity: 100)
        for value in 1...100 { window.record(Double(value)) }
        #expect(window.percentile(50) == 50 && window.percentile(99) == 99)
        window.record(1000)  // the oldest sample (1) leaves the window
        #expect(window.percentile(99) == 100 && window.percentile(100) == 1000)
    }
}

@Suite("Configuration keys")
struct ConfigurationKeysTests {
    @Test func fileOverridesDefaultsAndStringsAreCoercedForConfigSet() throws {
        let configuration = try ConfigurationKeys.load("""
            [source]
            uri = "mjpeg:demo/sample.mjpeg"
            [detection]
            classes = ["tabby, tabby cat", 285]
            min_score = 1
            """, path: "test.toml")
        #expect(configuration.source.uri == .mjpegFile("demo/sample.mjpeg"))
        #expect(configuration.detection.classes == [.label("tabby, tabby cat"), .index(285)])
        #expect(configuration.detection.minScore == 1.0)
        #expect(configuration.explain.method == "gradcam")  // default kept
        var changed = configuration
        try ConfigurationKeys.key("detection.top_k")?.apply(.string("3"), to: &changed)
        try ConfigurationKeys.key("explain.mode")?.apply(.string("on-demand"), to: &changed)
        try ConfigurationKeys.key("model.mean")?.apply(.string("[123.675, 116.28, 103.53]"), to: &changed)
        #expect(changed.detection.topK == 3 && changed.explain.mode == .onDemand && changed.model.mean.count == 3)
    }

    @Test(arguments: [
        ("[detection]\ntop_k = 0\n", "test.toml:2: detection.top_k: must be an integer between 1 and 1000"),
        ("[source]\nuri = \"usb:0\"\n", "test.toml:2: source.uri: unknown source kind 'usb'; use v4l2:/dev/videoN, jpeg-dir:PATH or mjpeg:PATH"),
        ("[explain]\nmethod = \"gradcum\"\n", "test.toml:2: explain.method: must be one of activation, cam, gradcam, gradcam++, eigencam, guided-backprop, guided-gradcam, occlusion"),
        ("\n[model]\nthreads = \"2\"\n", "test.toml:3: model.threads: must be an integer, not a string"),
        ("[detection]\nrepeat = 5\n", "test.toml:2: unknown key 'detection.repeat'; did you mean 'detection.repeat_seconds'?"),
    ])
    func badValuesAndUnknownKeysNameLineAndKey(text: String, message: String) {
        do {
            _ = try ConfigurationKeys.load(text, path: "test.toml")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description == message)
        }
    }
}
