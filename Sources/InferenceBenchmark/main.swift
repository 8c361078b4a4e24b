// Times EdgeCAM's int8 interpreter on a .tflite model: median and minimum latency, GMAC/s,
// per-op times, and heap allocations per steady-state invocation.
//
//   InferenceBenchmark MODEL.tflite [--threads N] [--runs R] [--kernels fast|reference]
//
// Allocation counting: the CMallocCounter target interposes glibc's allocation functions
// and counts calls while counting is on.
#if canImport(Glibc)
import Glibc
import CMallocCounter
import Inference

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}

func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let read = fread(&chunk, 1, chunk.count, file)
        if read <= 0 { break }
        bytes += chunk[0..<read]
    }
    return bytes
}

var arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, in arguments: inout [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    defer { arguments.removeSubrange(index...index + 1) }
    return arguments[index + 1]
}
let threads = option("--threads", in: &arguments).flatMap { Int($0) } ?? 1
let runs = option("--runs", in: &arguments).flatMap { Int($0) } ?? 50
let kernels: KernelSelection = option("--kernels", in: &arguments) == "reference" ? .reference : .fast
guard let path = arguments.first, let bytes = readFile(path) else {
    print("usage: InferenceBenchmark MODEL.tflite [--threads N] [--runs R] [--kernels fast|reference]")
    exit(2)
}
do {
    let interpreter = try Interpreter(modelBytes: bytes, options: InterpreterOptions(threads: threads, kernels: kernels))
    let input = interpreter.inputs[0]
    try interpreter.setInput(bytes: [UInt8](repeating: 0x11, count: input.byteCount ?? 0))
    for _ in 0..<5 { interpreter.invoke() }

    // Self-check: an array allocation must be seen, or the interposition is not in effect.
    let probeBefore = edgecam_allocation_calls()
    edgecam_count_allocations(true)
    let probe = [Int](repeating: threads, count: 1000 + threads)
    edgecam_count_allocations(false)
    let counterWorks = edgecam_allocation_calls() - probeBefore > 0 && probe.count > 0

    let before = edgecam_allocation_calls()
    edgecam_count_allocations(true)
    for _ in 0..<10 { interpreter.invoke() }
    edgecam_count_allocations(false)
    let allocations = edgecam_allocation_calls() - before

    // The pool alone: cost and allocations of one empty parallelFor job.
    let pool = interpreter.pool
    let jobBefore = edgecam_allocation_calls()
    edgecam_count_allocations(true)
    let jobStart = now()
    for _ in 0..<1000 { pool.parallelFor(pool.threadCount) { _ in } }
    let jobSeconds = now() - jobStart
    edgecam_count_allocations(false)
    print("parallelFor_us \((jobSeconds / 1000) * 1e6) allocations_per_parallelFor \(Double(edgecam_allocation_calls() - jobBefore) / 1000)")

    // Whether the pool's threads really run at the same time: 2 tasks of ~1 ms each.
    final class SpinJob: ParallelJob, @unchecked Sendable {
        func run(task: Int) {
            let end = now() + 1e-3
            while now() < end {}
        }
    }
    let spin = SpinJob()
    var bestSpin = Double.infinity
    for _ in 0..<20 {
        let start = now()
        pool.parallelFor(2, job: spin)
        bestSpin = min(bestSpin, now() - start)
    }
    print("two_1ms_tasks_ms \(bestSpin * 1e3) (1 = parallel, 2 = serial)")

    var times: [Double] = []
    for _ in 0..<runs {
        let start = now()
        interpreter.invoke()
        times.append(now() - start)
    }
    times.sort()
    let macs = interpreter.multiplyAccumulates
    let median = times[times.count / 2], minimum = times[0]
    print("model \(path) threads \(threads) kernels \(kernels) runs \(runs)")
    print("median_ms \(median * 1e3) min_ms \(minimum * 1e3) p90_ms \(times[times.count * 9 / 10] * 1e3)")
    print("macs \(macs) GMAC/s(median) \(Double(macs) / median / 1e9) GMAC/s(min) \(Double(macs) / minimum / 1e9)")
    print(counterWorks ? "allocations_per_invoke \(Double(allocations) / 10)" : "allocations_per_invoke unknown (malloc not interposed)")

    // Per op: minimum over runs of each step alone.
    var best = [Double](repeating: .infinity, count: interpreter.operators.count)
    for _ in 0..<max(5, runs / 5) {
        for step in interpreter.operators.indices {
            let start = now()
            interpreter.invoke(steps: step..<step + 1)
            best[step] = min(best[step], now() - start)
        }
    }
    let total = best.reduce(0, +)
    let ranked = best.indices.sorted { best[$0] > best[$1] }
    print("step op macs min_ms share GMAC/s")
    for step in ranked.prefix(25) {
        let op = interpreter.operators[step]
        let ms = best[step] * 1e3
        let rate = op.multiplyAccumulates > 0 ? Double(op.multiplyAccumulates) / best[step] / 1e9 : 0
        print("\(step) \(op.info.name) \(op.multiplyAccumulates) \(ms) \(best[step] / total * 100)% \(rate)")
    }
    print("sum_of_op_minimums_ms \(total * 1e3)")
    var byType: [String: (ms: Double, macs: Int)] = [:]
    for step in best.indices {
        let op = interpreter.operators[step]
        byType[op.info.name, default: (0, 0)].ms += best[step] * 1e3
        byType[op.info.name, default: (0, 0)].macs += op.multiplyAccumulates
    }
    for (name, entry) in byType.sorted(by: { $0.value.ms > $1.value.ms }) {
        print("type \(name) ms \(entry.ms) macs \(entry.macs) GMAC/s \(entry.ms > 0 ? Double(entry.macs) / entry.ms / 1e6 : 0)")
    }
} catch {
    print("error: \(error)")
    exit(1)
}
#else
print("InferenceBenchmark needs glibc")
#endif
