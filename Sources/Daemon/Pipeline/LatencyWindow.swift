/// The last `capacity` samples of one stage's latency, for rolling percentiles.
struct LatencyWindow: Sendable {
    private var samples: [Double]
    private var next = 0
    private(set) var count = 0
    /// Samples ever recorded.
    private(set) var total = 0

    init(capacity: Int = 512) {
        samples = [Double](repeating: 0, count: capacity)
    }

    mutating func record(_ milliseconds: Double) {
        samples[next] = milliseconds
        next = (next + 1) % samples.count
        count = min(count + 1, samples.count)
        total += 1
    }

    /// The nearest-rank percentile (`p` in 0...100) of the window; nil when empty.
    func percentile(_ p: Double) -> Double? {
        guard count > 0 else { return nil }
        let sorted = samples[0..<count].sorted()
        let rank = Int((p / 100 * Double(count)).rounded(.up))
        return sorted[min(max(rank, 1), count) - 1]
    }
}

/// Events per second over the last few seconds, from the times of the last events.
struct RateMeter: Sendable {
    private var times: [Double]
    private var next = 0
    private var count = 0
    /// Events older than this do not count.
    let window: Double

    init(capacity: Int = 128, window: Double = 5) {
        times = [Double](repeating: 0, count: capacity)
        self.window = window
    }

    mutating func record(at time: Double) {
        times[next] = time
        next = (next + 1) % times.count
        count = min(count + 1, times.count)
    }

    /// Rate at `now`: events within the window divided by the span they cover.
    func rate(at now: Double) -> Double {
        var recent: [Double] = []
        for i in 0..<count where now - times[i] <= window { recent.append(times[i]) }
        guard recent.count >= 2, let first = recent.min(), let last = recent.max(), last > first else { return 0 }
        // n events span n-1 intervals.
        return Double(recent.count - 1) / (last - first)
    }
}
