import Foundation
import Testing

/// The real V4L2Camera + libv4l2 path, run in capture-probe under the fake camera (LD_PRELOAD):
/// the test process cannot preload a library into itself after start.
@Suite("Camera capture through libv4l2 and the fake camera")
struct FakeCameraCaptureTests {
    let served: [String]

    init() throws {
        served = try Fixtures.jpegFiles(in: Fixtures.jpegDirectory).map(fnv1a)
    }

    /// The fake camera's documented YUYV pattern: byte (y, x) = x + 7·y + 13·sequence.
    static func yuyvPattern(width: Int, height: Int, sequence: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: width * height * 2)
        for y in 0..<height {
            for x in 0..<(width * 2) { bytes[y * width * 2 + x] = UInt8(truncatingIfNeeded: x + 7 * y + 13 * sequence) }
        }
        return bytes
    }

    func expectServedMJPEG(_ frames: [[String: Any]], sourceLocation: SourceLocation = #_sourceLocation) {
        for frame in frames {
            let deviceSeq = frame.int("deviceSeq")
            #expect(deviceSeq >= 0, sourceLocation: sourceLocation)
            guard deviceSeq >= 0 else { continue }
            #expect(frame.string("fnv") == served[deviceSeq % served.count], "frame \(frame)", sourceLocation: sourceLocation)
        }
    }

    @Test func capturesMJPEGFramesByteForByte() throws {
        let run = try runProbe(["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "12"], fakeCamera: [:])
        #expect(run.status == 0, "\(run.standardError)")
        let negotiated = try #require(run.events("negotiated").first)
        #expect(negotiated.string("format") == "MJPG")
        #expect(negotiated.int("width") == 160 && negotiated.int("height") == 120)
        #expect(negotiated["fps"] as? Double == 100)
        let frames = run.frames
        #expect(frames.count == 12)
        expectServedMJPEG(frames)
        #expect(frames.map { $0.int("seq") } == Array(0..<12))
        #expect(frames.allSatisfy { $0.string("format") == "MJPG" && $0.int("width") == 160 && $0.int("bytesPerLine") == 0 })
        let times = frames.map { $0.uint64("t") }
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })
        #expect(run.counter("frames") == 12 && run.counter("corrupt") == 0 && run.counter("reconnects") == 0)
    }

    @Test func capturesYUYVFramesByteForByte() throws {
        let run = try runProbe(
            ["camera", "/dev/video42", "--format", "yuyv", "--size", "320x240", "--fps", "100", "--frames", "6"], fakeCamera: [:])
        #expect(run.status == 0, "\(run.standardError)")
        let frames = run.frames
        #expect(frames.count == 6)
        for frame in frames {
            #expect(frame.string("format") == "YUYV")
            #expect(frame.int("width") == 320 && frame.int("height") == 240 && frame.int("bytesPerLine") == 640)
            #expect(frame.int("bytes") == 320 * 240 * 2)
            let expected = Self.yuyvPattern(width: 320, height: 240, sequence: frame.int("deviceSeq"))
            #expect(frame.string("fnv") == fnv1a(expected))
        }
    }

    @Test func automaticFormatFallsBackToYUYVWithoutMJPEG() throws {
        let run = try runProbe(["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "2"],
                               fakeCamera: ["FAKECAM_FORMATS": "YUYV"])
        #expect(run.events("negotiated").first?.string("format") == "YUYV")
        #expect(run.frames.count == 2)
    }

    @Test func closestSizeAndRateAreNegotiatedAndReported() throws {
        let run = try runProbe(["camera", "/dev/video42", "--size", "300x200", "--fps", "25", "--frames", "1"], fakeCamera: [:])
        let negotiated = try #require(run.events("negotiated").first)
        #expect(negotiated.int("width") == 320 && negotiated.int("height") == 240)
        #expect(negotiated["fps"] as? Double == 30)
    }

    @Test func mjpegOnlyFailsClearlyWhenCameraHasNoMJPEG() throws {
        let run = try runProbe(["camera", "/dev/video42", "--format", "mjpeg", "--frames", "1"], fakeCamera: ["FAKECAM_FORMATS": "YUYV"])
        #expect(run.status == 2)
        let message = try #require(run.errorMessage)
        #expect(message.contains("MJPG") && message.contains("YUYV"))
    }

    @Test func unplugThenReplugResumesWithinTwoSecondsInSameProcess() throws {
        let run = try runProbe(
            ["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "25", "--duration", "8"],
            fakeCamera: ["FAKECAM_SCRIPT": "@10 unplug 0.5"])
        #expect(run.status == 0, "\(run.standardError)")
        let frames = run.frames
        #expect(frames.count == 25)
        #expect(run.states.first == "streaming")
        let reconnecting = try #require(run.states.firstIndex(of: "reconnecting"))
        #expect(run.states[reconnecting...].contains("streaming"))
        let lostMessage = run.events("state").first { $0.string("state") == "reconnecting" }?.string("error") ?? ""
        #expect(lostMessage.contains("/dev/video42"))
        #expect(run.counter("reconnects") == 1)
        // The driver sequence restarts with the new stream; ours keeps increasing.
        let restart = try #require(frames.indices.dropFirst().first { frames[$0].int("deviceSeq") < frames[$0 - 1].int("deviceSeq") })
        let gap = Double(frames[restart].uint64("t") - frames[restart - 1].uint64("t")) / 1e9
        #expect(gap < 2.0, "frames resumed after \(gap) s")
        #expect(gap >= 0.5, "the fake was unplugged for 0.5 s, yet frames resumed after \(gap) s")
        let sequences = frames.map { $0.int("seq") }
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 })
        expectServedMJPEG(frames)
    }

    @Test func stallTriggersReconnectAndFramesResume() throws {
        // "stall" without a duration lasts until the next STREAMON, i.e. a reopen cures it.
        let run = try runProbe(
            ["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "15", "--stall-timeout", "0.3"],
            fakeCamera: ["FAKECAM_SCRIPT": "@5 stall"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.frames.count == 15)
        #expect(run.counter("reconnects") == 1)
        let reason = run.events("state").first { $0.string("state") == "reconnecting" }?.string("error") ?? ""
        #expect(reason.contains("no frame for 0.3 s"))
    }

    @Test func ioErrorBurstIsSurvivedByReopening() throws {
        let run = try runProbe(
            ["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "20", "--duration", "8"],
            fakeCamera: ["FAKECAM_SCRIPT": "@5 eio 3"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.frames.count == 20)
        #expect(run.counter("reconnects") == 3)
        expectServedMJPEG(run.frames)
    }

    @Test func wouldBlockAndInterruptedCallsAreRetriedWithoutReconnecting() throws {
        let run = try runProbe(
            ["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "15"],
            fakeCamera: ["FAKECAM_SCRIPT": "@5 eagain 5;@8 eintr 3"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.frames.count == 15)
        #expect(run.counter("reconnects") == 0)
        #expect(!run.states.contains("reconnecting"))
    }

    @Test func corruptFramesAreSkippedAndCounted() throws {
        // Four broken buffers: garbage without SOI, truncated without EOI, empty, error flag.
        let run = try runProbe(
            ["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "12"],
            fakeCamera: ["FAKECAM_SCRIPT": "@5 corrupt 4"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.counter("corrupt") == 4)
        #expect(run.counter("reconnects") == 0)
        let frames = run.frames
        #expect(frames.count == 12)
        expectServedMJPEG(frames)
        let deviceSequences = frames.map { $0.int("deviceSeq") }
        #expect(deviceSequences == Array(0..<5) + Array(9..<16))
    }

    @Test func dhtLessMJPEGFramesAreDelivered() throws {
        let run = try runProbe(["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "5"],
                               fakeCamera: ["FAKECAM_SCRIPT": "nodht 1"])
        let sizes = try Fixtures.jpegFiles(in: Fixtures.jpegDirectory).map(\.count)
        #expect(run.frames.count == 5)
        #expect(run.counter("corrupt") == 0)
        for frame in run.frames {
            // The fixtures carry four DHT segments (at least 400 bytes); the fake strips them.
            #expect(frame.int("bytes") < sizes[frame.int("deviceSeq") % sizes.count] - 400)
        }
    }

    @Test func sequenceGapsAreCountedAsDrops() throws {
        let run = try runProbe(["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "10"],
                               fakeCamera: ["FAKECAM_SCRIPT": "@5 drop 3"])
        #expect(run.counter("drops") == 3)
        let gapFrame = try #require(run.frames.first { $0.int("drops") > 0 })
        #expect(gapFrame.int("drops") == 3 && gapFrame.int("deviceSeq") == 8 && gapFrame.int("seq") == 8)
    }

    @Test func stopFromAnotherThreadWakesABlockedCapture() throws {
        // The camera stalls for good after 3 frames; nextFrame blocks with a 20 s timeout and
        // a 20 s stall timeout, and another thread calls stop() after 0.3 s.
        let start = Date()
        let run = try runProbe(
            ["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "10", "--timeout", "20",
             "--stall-timeout", "20", "--duration", "25", "--stop-after", "0.3"],
            fakeCamera: ["FAKECAM_SCRIPT": "@3 stall 100"])
        let elapsed = Date().timeIntervalSince(start)
        #expect(run.frames.count == 3)
        #expect(run.events("end").count == 1)
        #expect(run.states.last == "stopped")
        // Not woken, the capture would end at its 20 s timeout; the bound leaves room for
        // starting the probe on a loaded machine.
        #expect(elapsed < 10, "stop() took \(elapsed) s to end the capture")
    }

    @Test func missingDeviceGivesClearError() throws {
        let run = try runProbe(["camera", "/dev/video7", "--frames", "1"], fakeCamera: [:])
        #expect(run.status == 2)
        let message = try #require(run.errorMessage)
        #expect(message.contains("/dev/video7") && message.contains("not found"))
    }

    @Test func permissionDeniedNamesTheVideoGroup() throws {
        let run = try runProbe(["camera", "/dev/video42", "--frames", "1"], fakeCamera: ["FAKECAM_SCRIPT": "deny 1"])
        #expect(run.status == 2)
        let message = try #require(run.errorMessage)
        #expect(message.contains("/dev/video42") && message.contains("'video' group"))
    }

    @Test func busyDeviceSaysAnotherProgramHasIt() throws {
        let run = try runProbe(["camera", "/dev/video42", "--frames", "1"], fakeCamera: ["FAKECAM_SCRIPT": "busy 1"])
        #expect(run.status == 2)
        let message = try #require(run.errorMessage)
        #expect(message.contains("/dev/video42") && message.contains("busy"))
    }

    @Test func waitForDeviceWaitsForALateCamera() throws {
        let run = try runProbe(
            ["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "3", "--wait"],
            fakeCamera: ["FAKECAM_SCRIPT": "unplug 0.3"])
        #expect(run.status == 0, "\(run.standardError)")
        #expect(run.states.first == "reconnecting")
        #expect(run.states.last == "streaming" || run.states.suffix(2) == ["streaming", "stopped"])
        #expect(run.frames.count == 3)
    }

    @Test func reconnectionGivesUpAfterMaxAttempts() throws {
        let run = try runProbe(
            ["camera", "/dev/video42", "--size", "160x120", "--fps", "100", "--frames", "50", "--backoff", "0.05", "0.1",
             "--max-attempts", "3"],
            fakeCamera: ["FAKECAM_SCRIPT": "@5 unplug"])
        #expect(run.status == 2)
        #expect(run.states.last == "failed")
        #expect(run.events("state").filter { $0.string("state") == "reconnecting" }.map { $0.int("attempt") } == [1, 2, 3])
        #expect(run.errorMessage?.contains("not found") == true)
    }
}
