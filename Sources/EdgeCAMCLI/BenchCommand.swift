import ArgumentParser
import Explain
import Foundation
import Inference
import NPY

/// `edgecam bench MODEL.tflite [--threads N] [--runs R] [--warmup W] [--input X.npy] [--kernels K] [--explain M] [--json]`
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a model's forward pass (median, p90, min, GMAC/s, per-op table) and optionally an explanation.",
        discussion: """
        The latency runs time whole invocations only; a separate profiling pass then times each \
        operator on its own (invoke(steps: i..<i+1)), so the headline numbers carry no per-op overhead. \
        Without --input the input is uniformly random bytes from a fixed seed (the same every run). \
        With --explain M, forward passes and explanations alternate; explain_median_ms is the median of \
        (explanation time - forward time) over these pairs: what the method adds to the forward pass it needs.
        """
    )

    enum Kernels: String, ExpressibleByArgument, CaseIterable {
        case fast, reference
    }

    @Argument(help: "The .tflite model file.")
    var model: String

    @Option(help: "Threads; the default is the number of online CPUs.")
    var threads: Int = WorkerPool.onlineProcessors

    @Option(help: "Timed invocations.")
    var runs: Int = 50

    @Option(help: "Untimed invocations first.")
    var warmup: Int = 5

    @Option(name: .shortAndLong, help: "Use the first sample of this .npy as the input (default: random bytes, fixed seed).")
    var input: String?

    @Option(help: "fast (SIMD, default) or reference (scalar) kernels.")
    var kernels: Kernels = .fast

    @Option(help: "Also time this explanation method on the same input (\(ExplanationMethod.allCases.map(\.rawValue).joined(separator: "|"))).")
    var explain: String?

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    /// The seed of the default random input.
    static let inputSeed: UInt64 = 0x5EED_CA11

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads needs at least 1") }
        guard runs >= 1 else { throw ValidationError("--runs needs at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup cannot be negative") }
        if let explain, ExplanationMethod(rawValue: explain) == nil {
            throw ValidationError("unknown method '\(explain)'; choose one of \(ExplanationMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let model = try loadModel(at: model)
        let options = InterpreterOptions(threads: threads, kernels: kernels == .fast ? .fast : .reference)
        let interpreter: Interpreter
        do { interpreter = try Interpreter(model: model, options: options) } catch { throw CLIError("\(self.model): \(error)") }

        // Inputs: the first sample of --input for input 0, seeded random bytes for the rest.
        var generator = SplitMix64(seed: Self.inputSeed)
        var inputs: [[UInt8]] = []
        for (position, tensor) in model.inputs.enumerated() {
            let info = model.tensors[tensor]
            if position == 0, let input {
                inputs.append(Array(try BatchedTensor(reading: input, for: info).sample(0)))
            } else {
                inputs.append(Self.randomInput(for: info, using: &generator))
            }
        }
        do {
            for (position, bytes) in inputs.enumerated() { try interpreter.setInput(position, bytes: bytes) }
        } catch {
            throw CLIError("\(self.model): \(error)")
        }

        let clock = ContinuousClock()
        for _ in 0..<warmup { interpreter.invoke() }
        var times: [Double] = []
        times.reserveCapacity(runs)
        for _ in 0..<runs {
            let start = clock.now
            interpreter.invoke()
            times.append((clock.now - start).milliseconds)
        }
        guard let latency = LatencyStatistics(milliseconds: times) else { return }

        // Profiling pass: each operator alone, median over a few rounds.
        let rounds = min(runs, 10)
        let steps = interpreter.operators.count
        var opTimes = [[Double]](repeating: [], count: steps)
        for _ in 0..<rounds {
            for step in 0..<steps {
                let start = clock.now
                interpreter.invoke(steps: step..<step + 1)
                opTimes[step].append((clock.now - start).milliseconds)
            }
        }
        let opMedians = opTimes.map { LatencyStatistics(milliseconds: $0)?.median ?? 0 }
        let opTotal = opMedians.reduce(0, +)
        var ops = interpreter.operators.enumerated().map { step, prepared in
            let info = prepared.info
            return BenchReport.Operator(
                step: step, index: info.index, type: info.name,
                outputShape: info.outputs.first.map { model.tensors[$0].shape } ?? [],
                macs: prepared.multiplyAccumulates, ms: opMedians[step],
                share: opTotal > 0 ? opMedians[step] / opTotal : 0)
        }

        // The ceiling the per-op throughputs are compared with (fast kernels only).
        let peak = kernels == .fast ? try Self.measurePeak() : nil
        if let peak {
            let ceiling = peak.gmacsPerS * Double(interpreter.pool.threadCount)
            for i in ops.indices where ops[i].macs > 0 { ops[i].ofPeak = ops[i].gmacsPerS / ceiling }
        }

        let macs = interpreter.multiplyAccumulates
        var report = BenchReport(
            model: self.model, threads: interpreter.pool.threadCount, kernels: kernels.rawValue, runs: runs, warmup: warmup,
            input: input ?? "random bytes, seed 0x\(String(Self.inputSeed, radix: 16, uppercase: true))",
            medianMs: latency.median, p90Ms: latency.p90, minMs: latency.min, meanMs: latency.mean,
            macs: macs, gmacsPerS: latency.median > 0 ? Double(macs) / (latency.median * 1e6) : 0,
            profileRounds: rounds, ops: ops, peak: peak)

        if let explain, let method = ExplanationMethod(rawValue: explain) {
            report.explanation = try benchExplanation(method, model: model, options: options, input: inputs[0],
                                                      forward: interpreter, clock: clock)
        }

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
    }

    /// Alternates forward passes and explanations so that drift affects both alike.
    func benchExplanation(_ method: ExplanationMethod, model: Model, options: InterpreterOptions, input: [UInt8],
                          forward: Interpreter, clock: ContinuousClock) throws -> BenchReport.ExplanationTiming {
        let explainer: Explainer
        do { explainer = try Explainer(model: model, interpreterOptions: options) } catch { throw CLIError("\(self.model): \(error)") }
        func once() throws {
            do { _ = try explainer.explain(input: input, method: method) } catch { throw CLIError("\(self.model): \(error)") }
        }
        for _ in 0..<max(warmup, 1) { try once() }  // the first call also prepares interpreters and backward passes
        var forwardTimes: [Double] = [], explainTimes: [Double] = []
        for _ in 0..<runs {
            var start = clock.now
            forward.invoke()
            forwardTimes.append((clock.now - start).milliseconds)
            start = clock.now
            try once()
            explainTimes.append((clock.now - start).milliseconds)
        }
        // Paired differences: a load spike slows both runs of a pair alike, so the median of the
        // differences is steadier than the difference of the medians.
        let added = zip(explainTimes, forwardTimes).map { $0 - $1 }
        return BenchReport.ExplanationTiming(method: method.rawValue,
                                             forwardMedianMs: LatencyStatistics(milliseconds: forwardTimes)?.median ?? 0,
                                             explainTotalMedianMs: LatencyStatistics(milliseconds: explainTimes)?.median ?? 0,
                                             explainMedianMs: LatencyStatistics(milliseconds: added)?.median ?? 0)
    }

    /// Times the GEMM microkernel (``MicrokernelPeak``) and checks that the timed loop computed
    /// the tiles the scalar formula gives.
    static func measurePeak() throws -> BenchReport.Peak {
        let peak = MicrokernelPeak.measure()
        guard peak.checksum == MicrokernelPeak.expectedChecksum(tiles: peak.tiles) else {
            throw CLIError("the \(peak.microkernel) GEMM microkernel computed wrong tiles while timing its peak; "
                           + "the fast kernels are not trustworthy on this machine (run with --kernels reference)")
        }
        return BenchReport.Peak(microkernel: peak.microkernel, gmacsPerS: peak.gigaMACsPerSecond)
    }

    /// Uniform random bytes (int8/uint8/int32), or floats uniform in [-1, 1) for float32.
    static func randomInput(for tensor: TensorInfo, using generator: inout SplitMix64) -> [UInt8] {
        let count = tensor.byteCount ?? 0
        if tensor.type == .float32 {
            return (0..<tensor.elementCount).flatMap { _ -> [UInt8] in
                let value = Float(generator.next() >> 40) / Float(1 << 24) * 2 - 1
                return withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
            }
        }
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next() >> 56) }
    }
}

/// SplitMix64 (Steele et al.): a tiny fixed-seed generator, so the default bench input is reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
