import Foundation
import Testing
@testable import Store

/// The byte limit under a small budget (issue 6, item 5): a prune deletes what the excess
/// needs, not a whole batch, so the log stays close under its limit instead of being emptied.
@Suite struct RetentionByteLimitTests {
    @Test func pruneByBytesDeletesAboutTheExcessNotAWholeBatch() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try DetectionStore(path: dir.path("edgecam.sqlite"))
        // 300 detections with 5 kB of incompressible overlay each: about 1.6 MB used.
        for batch in 0..<30 {
            try store.insert((0..<10).map { i in
                Sample.detection(time: Int64(batch * 10 + i), heatmap: Sample.heatmap(overlayBytes: 5_000, seed: UInt64(batch * 10 + i)))
            })
        }
        let limit: Int64 = 1 << 20
        let report = try store.prune(RetentionPolicy(maxDatabaseBytes: limit))  // default batch: 500 rows
        #expect(report.limitsHold)
        #expect(report.usedBytesBefore > 3 * limit / 2)
        #expect(report.usedBytesAfter <= limit)
        // 1 MiB holds about 200 such rows. Deleting a whole batch of 500 would have left none.
        let kept = try store.stats().detections
        #expect(kept >= 150 && kept < 300, "kept \(kept) of 300")
        #expect(report.usedBytesAfter >= limit * 3 / 4, "pruned far below the limit: \(report.usedBytesAfter) bytes used")
        #expect(try store.integrityCheck().ok)
        try store.close()
    }
}
