import Locking

/// Counters, rates and rolling stage latencies of the pipeline, for `status`.
final class PipelineMetrics: Sendable {
    enum Stage: String, Sendable, CaseIterable {
        /// Decode + crop + resize + quantize.
        case decode
        case infer
        case explain
        /// Frame dequeued by the inference thread → detection committed to the store.
        case committed
    }

    struct Counters: Sendable, Equatable {
        /// Frames the source delivered.
        var framesIn = 0
        /// Frames the model ran on.
        var framesProcessed = 0
        /// Frames replaced in the hand-off before the model took them.
        var framesDropped = 0
        /// Frames discarded while paused.
        var framesPaused = 0
        /// Frames that could not be decoded or prepared.
        var frameErrors = 0
        var detections = 0
        var explained = 0
        var explainErrors = 0
        var lastError: String?
    }

    private struct State {
        var counters = Counters()
        var windows: [Stage: LatencyWindow] = [:]
        var inRate = RateMeter()
        var outRate = RateMeter()
        /// Monotonic seconds of the inference loop's last turn (watchdog).
        var heartbeat = MonotonicTime.seconds()
        /// Monotonic seconds of the last frame from the source.
        var lastFrameArrival: Double?
        /// Monotonic seconds of the camera's last change to streaming.
        var streamStart: Double?
    }

    private let state = PThreadMutex(State())

    func update(_ body: (inout Counters) -> Void) { state.withLock { body(&$0.counters) } }

    var counters: Counters { state.withLock { $0.counters } }

    func record(_ stage: Stage, milliseconds: Double) {
        state.withLock { $0.windows[stage, default: LatencyWindow()].record(milliseconds) }
    }

    func frameArrived(at time: Double) {
        state.withLock {
            $0.inRate.record(at: time)
            $0.counters.framesIn += 1
            $0.lastFrameArrival = time
        }
    }

    /// Monotonic seconds of the last frame from the source; nil before the first.
    var lastFrameArrival: Double? { state.withLock { $0.lastFrameArrival } }

    /// Notes that the camera (re)started streaming: stall reporting counts from here.
    func streamStarted(at time: Double) { state.withLock { $0.streamStart = time } }

    var streamStart: Double? { state.withLock { $0.streamStart } }

    func frameProcessed(at time: Double) { state.withLock { $0.outRate.record(at: time); $0.counters.framesProcessed += 1 } }

    func beat() { state.withLock { $0.heartbeat = MonotonicTime.seconds() } }

    var secondsSinceHeartbeat: Double { MonotonicTime.seconds() - state.withLock { $0.heartbeat } }

    /// (frames in per second, frames processed per second) over the last seconds.
    func rates(at now: Double) -> (inbound: Double, processed: Double) {
        state.withLock { ($0.inRate.rate(at: now), $0.outRate.rate(at: now)) }
    }

    /// p50 and p99 of each stage that has samples, in ms.
    func latencies() -> [Stage: (p50: Double, p99: Double, samples: Int)] {
        state.withLock { state in
            var result: [Stage: (p50: Double, p99: Double, samples: Int)] = [:]
            for (stage, window) in state.windows {
                if let p50 = window.percentile(50), let p99 = window.percentile(99) {
                    result[stage] = (p50, p99, window.total)
                }
            }
            return result
        }
    }
}
