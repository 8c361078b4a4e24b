// Store benchmark: insert throughput with heatmap blobs, and `detections` query latency over a
// large table. Build in release: swift run -c release StoreBenchmark [--rows N] [--dir PATH]
import Foundation
import Store

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
}

struct Options {
    var rows = 1_000_000
    var directory: String?

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--rows":
                guard let value = iterator.next().flatMap(Int.init), value >= 1_000 else {
                    throw BenchmarkError(description: "--rows needs an integer of at least 1000")
                }
                rows = value
            case "--dir":
                guard let value = iterator.next() else { throw BenchmarkError(description: "--dir needs a path") }
                directory = value
            case "-h", "--help":
                print("usage: StoreBenchmark [--rows N (default 1000000)] [--dir EXISTING_DIR (default: a temp dir)]")
                exit(0)
            default:
                throw BenchmarkError(description: "unknown argument \(argument); try --help")
            }
        }
    }
}

/// Deterministic noise, so that blobs are as incompressible as real JPEG data.
struct NoiseGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func bytes(_ count: Int) -> Data {
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count { bytes[i] = UInt8(truncatingIfNeeded: next()) }
        return Data(bytes)
    }
}

/// CPU seconds this process has used (all threads): unlike wall time, barely moved by other
/// processes competing for the cores.
func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func seconds(_ duration: Duration) -> Double {
    let (s, atto) = duration.components
    return Double(s) + Double(atto) / 1e18
}

func pad(_ text: String) -> String {
    text.padding(toLength: 42, withPad: " ", startingAt: 0)
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

let labels = ["person", "car", "dog", "cat", "bicycle", "truck", "bird", "bus", "horse", "umbrella"]
/// Label of row i: skewed like a real camera (half "person"), one label at 0.1 %.
func label(_ i: Int) -> (Int, String) {
    let r = i % 1_000
    let index = r < 500 ? 0 : r < 700 ? 1 : r < 800 ? 2 : r < 880 ? 3 : r == 999 ? 4 : 5 + r % 5
    return (index, labels[index])
}

func detection(_ i: Int, time: Int64, heatmap: NewHeatmap?) -> NewDetection {
    let (classIndex, name) = label(i)
    return NewDetection(
        time: time, frameSequence: Int64(i), modelID: nil, classIndex: classIndex, label: name,
        score: 0.3 + Double(i % 70) / 100, box: Detection.Box(x0: 10, y0: 20, x1: 200, y1: 220), peak: Detection.Point(x: 105, y: 120),
        latencies: StageLatencies(capture: 0.4, decode: 3.1, infer: 18.5, explain: 1.2, total: 23.9),
        method: "gradcam", layer: "conv_pw_13", heatmap: heatmap)
}

func run() throws {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let base: URL
    if let directory = options.directory {
        base = URL(fileURLWithPath: directory).appendingPathComponent("store-benchmark-\(getpid())")
    } else {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("store-benchmark-\(getpid())")
    }
    try FileManager.default.createDirectory(at: base, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: base) }
    let clock = ContinuousClock()
    var noise = NoiseGenerator(state: 0x1234_5678_9ABC_DEF1)

    // Insert throughput: each detection carries a 14×14 grid and a 6 kB overlay JPEG.
    print("insert throughput (each detection with a 14x14 uint8 grid + 6 kB overlay JPEG)")
    print("  batch  detections  seconds  detections/s  cpu s  detections/cpu-s  wal max (kB)")
    let overlays = (0..<64).map { _ in noise.bytes(6_000) }
    let grid = noise.bytes(14 * 14)
    for (batchSize, total) in [(1, 5_000), (10, 20_000), (100, 50_000)] {
        let path = base.appendingPathComponent("insert-\(batchSize).sqlite").path
        let store = try DetectionStore(path: path)
        var walMax: Int64 = 0
        let batches = (0..<(total / batchSize)).map { b in
            (0..<batchSize).map { j in
                let i = b * batchSize + j
                return detection(
                    i, time: 1_700_000_000_000 + Int64(i) * 40,
                    heatmap: NewHeatmap(width: 14, height: 14, grid: grid, overlayJPEG: overlays[i % overlays.count]))
            }
        }
        let cpuStart = cpuSeconds()
        let elapsed = try clock.measure {
            for batch in batches {
                try store.insert(batch)
                walMax = max(walMax, store.walBytes())
            }
        }
        let cpu = cpuSeconds() - cpuStart
        try store.close()
        print(String(format: "  %5d  %10d  %7.2f  %12.0f  %5.2f  %16.0f  %12lld", batchSize, total, seconds(elapsed),
                     Double(total) / seconds(elapsed), cpu, Double(total) / cpu, walMax / 1024))
    }

    // Query latency over `rows` detections (no heatmaps: they do not change the indexes).
    let rows = options.rows
    let path = base.appendingPathComponent("query.sqlite").path
    let store = try DetectionStore(path: path)
    let start: Int64 = 1_700_000_000_000
    let spacing: Int64 = 2_500  // one detection every 2.5 s: 1 M rows ≈ 29 days
    let fillCPUStart = cpuSeconds()
    let fill = try clock.measure {
        var i = 0
        while i < rows {
            let n = min(10_000, rows - i)
            try store.insert((i..<(i + n)).map { detection($0, time: start + Int64($0) * spacing, heatmap: nil) })
            i += n
        }
    }
    let fillCPU = cpuSeconds() - fillCPUStart
    try store.checkpoint()
    let stats = try store.stats()
    print(String(format: "\nquery latency over %d detections (setup: %.1f s wall, %.1f s cpu, %.0f rows/cpu-s in batches of 10000, no heatmaps; database %.1f MB)",
                 stats.detections, seconds(fill), fillCPU, Double(rows) / fillCPU, Double(stats.databaseBytes) / 1e6))

    // A cursor for a page deep in the table: the page that ends just before row depth·rows.
    func cursor(depth: Double, filter: DetectionFilter) throws -> String {
        let until = start + Int64(Double(rows) * (1 - depth)) * spacing
        var bounded = filter
        bounded.until = until
        guard let next = try store.detections(filter: bounded, limit: 50).nextCursor else {
            throw BenchmarkError(description: "no rows before \(until)")
        }
        return next
    }
    let deep = try cursor(depth: 0.9, filter: DetectionFilter())
    let deepCar = try cursor(depth: 0.9, filter: DetectionFilter(label: "car"))

    let cases: [(String, DetectionFilter, String?)] = [
        ("first page, no filter", DetectionFilter(), nil),
        ("first page, label=car (20%)", DetectionFilter(label: "car"), nil),
        ("first page, label=bicycle (0.1%)", DetectionFilter(label: "bicycle"), nil),
        ("first page, min score 0.95", DetectionFilter(minScore: 0.95), nil),
        ("first page, last hour", DetectionFilter(since: start + Int64(rows) * spacing - 3_600_000), nil),
        ("deep cursor (90% down), no filter", DetectionFilter(), deep),
        ("deep cursor (90% down), label=car", DetectionFilter(label: "car"), deepCar),
    ]
    print("  query (limit 50)                           median ms    p90 ms  rows")
    for (name, filter, cursor) in cases {
        var times: [Double] = []
        var count = 0
        for _ in 0..<101 {
            var page: Page<Detection>?
            let elapsed = try clock.measure { page = try store.detections(filter: filter, limit: 50, cursor: cursor) }
            times.append(seconds(elapsed) * 1_000)
            count = page?.items.count ?? 0
        }
        let sorted = times.sorted()
        print("  " + pad(name) + String(format: " %9.3f %9.3f  %4d", median(times), sorted[sorted.count * 9 / 10], count))
    }
    var statsTimes: [Double] = []
    for _ in 0..<21 { statsTimes.append(seconds(try clock.measure { _ = try store.stats() }) * 1_000) }
    print("  " + pad("stats() (row counts)") + String(format: " %9.3f", median(statsTimes)))

    // Retention cost: drop the oldest 10 % by count, 500 per transaction.
    var report: PruneReport?
    let pruneTime = try clock.measure { report = try store.prune(RetentionPolicy(maxDetections: rows - rows / 10)) }
    if let report {
        print(String(format: "\nprune oldest %d detections in %d batches: %.2f s (%.1f ms per batch)",
                     report.deletedDetections, report.batches, seconds(pruneTime),
                     seconds(pruneTime) * 1_000 / Double(max(report.batches, 1))))
    }
    let integrity = try clock.measure { _ = try store.integrityCheck() }
    print(String(format: "integrity_check over %d rows: %.2f s", rows - rows / 10, seconds(integrity)))
    try store.close()
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("StoreBenchmark: \(error)\n".utf8))
    exit(1)
}
