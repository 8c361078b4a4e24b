import Foundation

/// What `bench` reports, as plain data so text and JSON say the same thing.
struct BenchReport: Encodable {
    struct Operator: Encodable {
        /// Position in the execution order.
        var step: Int
        /// The operator's index in the model.
        var index: Int
        var type: String
        var outputShape: [Int]
        var macs: Int
        /// Median time of the operator alone (profiling pass).
        var ms: Double
        /// `ms` over the sum of all operators' `ms`.
        var share: Double
        /// This operator's multiply-accumulates per second over the microkernel peak of all
        /// threads (`peak.gmacsPerS * threads`); nil for operators without MACs or without a peak.
        var ofPeak: Double?

        var gmacsPerS: Double { ms > 0 ? Double(macs) / (ms * 1e6) : 0 }

        private enum CodingKeys: String, CodingKey {
            case step, index, type, outputShape = "output_shape", macs, ms, share, ofPeak = "of_peak"
        }
    }

    /// The GEMM microkernel's throughput on one thread with L1-resident operands (``MicrokernelPeak``).
    struct Peak: Encodable {
        var microkernel: String
        var gmacsPerS: Double

        private enum CodingKeys: String, CodingKey {
            case microkernel, gmacsPerS = "gmacs_per_s"
        }
    }

    struct ExplanationTiming: Encodable {
        var method: String
        var forwardMedianMs: Double
        /// Median time of one whole `explain` call (its own forward pass included).
        var explainTotalMedianMs: Double
        /// Median over alternating pairs of (explain time - forward time): what the method adds to
        /// the forward pass it needs (can come out slightly negative from noise when that is ~0).
        var explainMedianMs: Double
    }

    var model: String
    var threads: Int
    var kernels: String
    var runs: Int
    var warmup: Int
    var input: String
    var medianMs: Double
    var p90Ms: Double
    var minMs: Double
    var meanMs: Double
    var macs: Int
    var gmacsPerS: Double
    var profileRounds: Int
    var ops: [Operator]
    var peak: Peak?
    var explanation: ExplanationTiming?

    private enum CodingKeys: String, CodingKey {
        case model, threads, kernels, runs, warmup, input, medianMs = "median_ms", p90Ms = "p90_ms", minMs = "min_ms"
        case meanMs = "mean_ms", macs, gmacsPerS = "gmacs_per_s", profileRounds = "profile_rounds", ops, peak
        case explainMethod = "explain_method", forwardMedianMs = "forward_median_ms"
        case explainMedianMs = "explain_median_ms", explainTotalMedianMs = "explain_total_median_ms"
    }

    // The explanation fields sit at the top level, as `forward_median_ms` / `explain_median_ms`.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(threads, forKey: .threads)
        try c.encode(kernels, forKey: .kernels)
        try c.encode(runs, forKey: .runs)
        try c.encode(warmup, forKey: .warmup)
        try c.encode(input, forKey: .input)
        try c.encode(medianMs, forKey: .medianMs)
        try c.encode(p90Ms, forKey: .p90Ms)
        try c.encode(minMs, forKey: .minMs)
        try c.encode(meanMs, forKey: .meanMs)
        try c.encode(macs, forKey: .macs)
        try c.encode(gmacsPerS, forKey: .gmacsPerS)
        try c.encode(profileRounds, forKey: .profileRounds)
        try c.encode(ops, forKey: .ops)
        try c.encodeIfPresent(peak, forKey: .peak)
        if let explanation {
            try c.encode(explanation.method, forKey: .explainMethod)
            try c.encode(explanation.forwardMedianMs, forKey: .forwardMedianMs)
            try c.encode(explanation.explainMedianMs, forKey: .explainMedianMs)
            try c.encode(explanation.explainTotalMedianMs, forKey: .explainTotalMedianMs)
        }
    }

    var text: String {
        func ms(_ value: Double) -> String { String(format: "%.3f", value) }
        var lines: [String] = []
        lines.append("model: \(model)")
        lines.append("threads \(threads), \(kernels) kernels, \(runs) runs after \(warmup) warm-up, input: \(input)")
        lines.append("latency: median \(ms(medianMs)) ms, p90 \(ms(p90Ms)) ms, min \(ms(minMs)) ms")
        lines.append("MACs: \(macs) (\(String(format: "%.1f", Double(macs) / 1e6)) M), \(String(format: "%.2f", gmacsPerS)) GMAC/s at the median")
        if let explanation {
            lines.append("explain \(explanation.method): adds \(ms(explanation.explainMedianMs)) ms to a \(ms(explanation.forwardMedianMs)) ms forward pass "
                         + "(\(String(format: "%.1f", explanation.forwardMedianMs > 0 ? 100 * explanation.explainMedianMs / explanation.forwardMedianMs : 0)) %; whole call \(ms(explanation.explainTotalMedianMs)) ms)")
        }
        if let peak {
            lines.append("GEMM microkernel peak (\(peak.microkernel), operands in L1): \(String(format: "%.2f", peak.gmacsPerS)) GMAC/s per thread; "
                         + "%peak = an operator's GMAC/s over \(threads) x that")
        }
        lines.append("per operator (each alone, median of \(profileRounds) rounds):")
        lines.append("  step   op  type               output shape        MACs         ms   share  GMAC/s  %peak")
        for op in ops {
            let shape = "[" + op.outputShape.map(String.init).joined(separator: ",") + "]"
            lines.append("  " + String(op.step).leftPadded(to: 4) + " " + String(op.index).leftPadded(to: 4) + "  "
                         + op.type.padding(toLength: 18, withPad: " ", startingAt: 0) + " "
                         + shape.padding(toLength: 16, withPad: " ", startingAt: 0) + " "
                         + String(op.macs).leftPadded(to: 11) + " " + ms(op.ms).leftPadded(to: 10) + " "
                         + String(format: "%6.1f%%", 100 * op.share)
                         + (op.macs > 0 ? String(format: " %7.2f", op.gmacsPerS) : "")
                         + (op.ofPeak.map { String(format: " %5.1f%%", 100 * $0) } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}
