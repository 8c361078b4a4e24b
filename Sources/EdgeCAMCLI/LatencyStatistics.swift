/// Summary of repeated timings, in milliseconds.
struct LatencyStatistics: Encodable {
    var median: Double
    /// Nearest-rank 90th percentile: the `ceil(0.9 n)`-th smallest.
    var p90: Double
    var min: Double
    var mean: Double

    /// Nil for no samples.
    init?(milliseconds samples: [Double]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let n = sorted.count
        median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        p90 = sorted[Swift.max(0, Int((0.9 * Double(n)).rounded(.up)) - 1)]
        min = sorted[0]
        mean = sorted.reduce(0, +) / Double(n)
    }
}

extension Duration {
    /// The duration in milliseconds.
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e3 + Double(attoseconds) * 1e-15
    }
}
