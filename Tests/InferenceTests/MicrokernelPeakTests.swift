import Testing
@testable import Inference

/// ``MicrokernelPeak``: the loop `edgecam bench` times as the GEMM's ceiling must be the
/// real microkernel computing real tiles, or the "% of peak" it reports means nothing.
@Suite struct MicrokernelPeakTests {
    @Test func timedTilesMatchTheScalarFormula() {
        let peak = MicrokernelPeak.measure(milliseconds: 6, segments: 3)
        #expect(peak.tiles > MicrokernelPeak.blocks)
        #expect(peak.checksum == MicrokernelPeak.expectedChecksum(tiles: peak.tiles))
        #expect(peak.gigaMACsPerSecond > 0)
        #expect(peak.microkernel == (QuantizedGemm.avx512VNNIAvailable ? "avx512-vnni" : "avx2") || peak.microkernel == "neon")
    }

    @Test func checksumDependsOnTheTileCount() {
        // Guards the check itself: a loop that skipped passes would give a different checksum.
        #expect(MicrokernelPeak.expectedChecksum(tiles: 2 * MicrokernelPeak.blocks)
                != MicrokernelPeak.expectedChecksum(tiles: 3 * MicrokernelPeak.blocks))
    }
}
