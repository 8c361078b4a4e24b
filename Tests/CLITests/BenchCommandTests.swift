import Foundation
import Testing

/// `edgecam bench` on the shapes model: the report's structure, never timing thresholds.
@Suite struct BenchCommandTests {
    @Test func jsonReportHasTheLatenciesAndAPerOperatorTable() throws {
        let result = try EdgeCAMCommand.run(["bench", CLIFixtures.shapesModel, "--runs", "3", "--warmup", "1",
                                             "--threads", "1", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let median = try #require(report["median_ms"] as? Double)
        let p90 = try #require(report["p90_ms"] as? Double)
        let minimum = try #require(report["min_ms"] as? Double)
        #expect(minimum > 0 && minimum <= median && median <= p90)
        #expect(report["threads"] as? Int == 1)
        #expect((report["gmacs_per_s"] as? Double ?? 0) > 0)
        // refs/shapes/README.md: 16 ops (CONV_2D x8, DEPTHWISE_CONV_2D x6, MEAN, FULLY_CONNECTED).
        let ops = try #require(report["ops"] as? [[String: Any]])
        #expect(ops.count == 16)
        #expect(ops.filter { $0["type"] as? String == "CONV_2D" }.count == 8)
        #expect(ops.filter { $0["type"] as? String == "DEPTHWISE_CONV_2D" }.count == 6)
        let macs = try #require(report["macs"] as? Int)
        #expect(macs > 0 && macs == ops.reduce(0) { $0 + ($1["macs"] as? Int ?? 0) })
        let shares = ops.compactMap { $0["share"] as? Double }
        #expect(shares.count == 16 && abs(shares.reduce(0, +) - 1) < 1e-6)
        #expect(ops.allSatisfy { ($0["ms"] as? Double ?? -1) >= 0 && ($0["output_shape"] as? [Int]) != nil })
        #expect(ops.last?["output_shape"] as? [Int] == [1, 5])
        #expect(report["forward_median_ms"] == nil)
        // The microkernel ceiling, and each op with MACs measured against it (1 thread).
        let peak = try #require(report["peak"] as? [String: Any])
        let peakGMACs = try #require(peak["gmacs_per_s"] as? Double)
        #expect(peakGMACs > 0)
        #expect(["avx2", "avx512-vnni", "neon"].contains(peak["microkernel"] as? String ?? ""))
        for op in ops {
            let opMACs = op["macs"] as? Int ?? 0, ms = op["ms"] as? Double ?? 0
            guard opMACs > 0, ms > 0 else { continue }
            let ofPeak = try #require(op["of_peak"] as? Double, "op \(op["step"] ?? "?") has MACs but no of_peak")
            #expect(abs(ofPeak - Double(opMACs) / (ms * 1e6) / peakGMACs) <= 1e-9 * ofPeak)
        }
    }

    @Test func referenceKernelsReportNoMicrokernelPeak() throws {
        let result = try EdgeCAMCommand.run(["bench", CLIFixtures.shapesModel, "--runs", "1", "--warmup", "0",
                                             "--kernels", "reference", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["peak"] == nil)
        let ops = try #require(report["ops"] as? [[String: Any]])
        #expect(ops.allSatisfy { $0["of_peak"] == nil })
    }

    @Test func explainTimingSitsNextToTheForwardPass() throws {
        let result = try EdgeCAMCommand.run(["bench", CLIFixtures.shapesModel, "--runs", "3", "--warmup", "1",
                                             "--explain", "gradcam", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect((report["forward_median_ms"] as? Double ?? 0) > 0)
        #expect((report["explain_total_median_ms"] as? Double ?? 0) > 0)
        #expect(report["explain_median_ms"] is Double)
        #expect(report["explain_method"] as? String == "gradcam")
    }

    @Test func textReportNamesTheColumns() throws {
        let result = try EdgeCAMCommand.run(["bench", CLIFixtures.shapesModel, "--runs", "2", "--warmup", "0", "--kernels", "reference"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("latency: median"))
        #expect(result.stdout.contains("reference kernels"))
        #expect(result.stdout.contains("FULLY_CONNECTED"))
        #expect(!result.stdout.contains("microkernel peak"))
    }

    @Test func anUnknownExplanationMethodIsAUsageError() throws {
        let result = try EdgeCAMCommand.run(["bench", CLIFixtures.shapesModel, "--explain", "lime"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("unknown method 'lime'"), "\(result.stderr)")
    }
}
