#if arch(x86_64) && canImport(InferenceVNNI)
import InferenceVNNI
#endif

/// The throughput ceiling of the GEMM: the 4x16 microkernel that ``QuantizedGemm`` runs on
/// this CPU (AVX2 `vpmaddwd`, AVX-512 VNNI `vpdpwssd` or NEON), on one thread, with its rows
/// and weights in L1 and no row packing or requantization. `edgecam bench` divides each
/// layer's GMAC/s by it, so that "how close to the hardware" is a measured ratio on the
/// machine at hand rather than a MAC-per-cycle figure from another CPU.
public struct MicrokernelPeak: Sendable {
    /// Multiply-accumulates per second, in billions: one thread, the fastest segment.
    public let gigaMACsPerSecond: Double
    /// Which microkernel was timed: "avx512-vnni", "avx2" or "neon".
    public let microkernel: String
    /// The wrapping int32 sum of every accumulator the timed tiles produced (see
    /// ``expectedChecksum(tiles:)``): evidence that the timed loop computed the tiles.
    public let checksum: Int32
    /// Tiles computed.
    public let tiles: Int

    /// K-pairs per tile: 256 values of depth, a typical pointwise layer's.
    static let kPairs = 128
    /// Column blocks per pass: 2 panels of 8 KiB, L1-resident with the rows.
    static let blocks = 2

    /// Times passes over the same L1-resident tiles for about `milliseconds` after one warm-up
    /// pass, in `segments` equal parts, and reports the fastest part: a ceiling is a maximum,
    /// and on a shared VM a slow moment would otherwise pass for a lower peak (and put layers
    /// timed in a fast moment above 100 %).
    public static func measure(milliseconds: Double = 200, segments: Int = 10) -> MicrokernelPeak {
        let operands = Operands()
        let clock = ContinuousClock()
        let budget = Duration.nanoseconds(Int64(milliseconds * 1e6 / Double(max(1, segments))))
        var checksum = operands.pass()
        var tiles = blocks
        var best = 0.0
        for _ in 0..<max(1, segments) {
            let start = clock.now
            var elapsed = Duration.zero
            var segmentTiles = 0
            repeat {
                for _ in 0..<64 { checksum = checksum &+ operands.pass() }
                segmentTiles += 64 * blocks
                elapsed = clock.now - start
            } while elapsed < budget
            tiles += segmentTiles
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            best = max(best, Double(segmentTiles * 4 * 16 * 2 * kPairs) / seconds / 1e9)
        }
        return MicrokernelPeak(gigaMACsPerSecond: best, microkernel: operands.microkernel, checksum: checksum, tiles: tiles)
    }

    /// The ``checksum`` that `tiles` tiles must give, from the scalar formula `bias + Σ_k x·w`
    /// over the same deterministic operands (tiles repeat the same `blocks` tiles in turn).
    public static func expectedChecksum(tiles: Int) -> Int32 {
        var perPass: Int32 = 0
        for block in 0..<blocks {
            for row in 0..<4 {
                for column in 0..<16 {
                    var acc = Operands.bias(block: block, column: column)
                    for k in 0..<2 * kPairs {
                        acc = acc &+ Int32(Operands.input(row: row, k: k)) &* Int32(Operands.weight(block: block, column: column, k: k))
                    }
                    perPass = perPass &+ acc
                }
            }
        }
        return perPass &* Int32(truncatingIfNeeded: tiles / blocks)
    }

    /// Rows packed and weights packed as ``QuantizedGemm`` packs them, from fixed formulas
    /// spanning the int8 range (including -128).
    private final class Operands {
        let rows: AlignedStorage
        let weights: PackedGemmWeights
        let accumulators: AlignedStorage
        let usesAVX512VNNI = QuantizedGemm.avx512VNNIAvailable

        static func input(row: Int, k: Int) -> Int8 { Int8(truncatingIfNeeded: (row * 67 + k * 29) % 256 - 128) }
        static func weight(block: Int, column: Int, k: Int) -> Int8 {
            Int8(truncatingIfNeeded: (block * 101 + column * 37 + k * 13) % 256 - 128)
        }
        static func bias(block: Int, column: Int) -> Int32 { Int32(block * 16 + column) * 1_000_003 }

        init() {
            let depth = 2 * MicrokernelPeak.kPairs, outputs = 16 * MicrokernelPeak.blocks
            var filter = [Int8](repeating: 0, count: outputs * depth)
            var bias = [Int32](repeating: 0, count: outputs)
            for n in 0..<outputs {
                bias[n] = Self.bias(block: n / 16, column: n % 16)
                for k in 0..<depth { filter[n * depth + k] = Self.weight(block: n / 16, column: n % 16, k: k) }
            }
            weights = filter.withUnsafeBufferPointer { filter in
                bias.withUnsafeBufferPointer { bias in
                    PackedGemmWeights(filter: filter, outputs: outputs, depth: depth, bias: bias, inputOffset: 0)
                }
            }
            rows = AlignedStorage(byteCount: 4 * depth * 2)
            let packed = rows.pointer(as: Int16.self)
            for row in 0..<4 {
                for k in 0..<depth { packed[row * depth + k] = Int16(Self.input(row: row, k: k)) }
            }
            accumulators = AlignedStorage(byteCount: MicrokernelPeak.blocks * 256)
        }

        var microkernel: String {
            #if arch(arm64)
            return "neon"
            #else
            return usesAVX512VNNI ? "avx512-vnni" : "avx2"
            #endif
        }

        /// One tile per block; returns the wrapping sum of their accumulators.
        @inline(never)
        func pass() -> Int32 {
            let rowPointer = UnsafePointer(rows.pointer(as: Int32.self))
            let tiles = accumulators.pointer(as: SIMD16<Int32>.self)
            #if arch(x86_64) && canImport(InferenceVNNI)
            if usesAVX512VNNI {
                let kPairs = MicrokernelPeak.kPairs
                gemm4x16TilesAVX512VNNI(rows: rowPointer, rowStride: kPairs, kPairs: kPairs, panels: weights.panel(0),
                                        biases: weights.biases, blocks: 0..<MicrokernelPeak.blocks,
                                        into: UnsafeMutableRawPointer(tiles))
            } else {
                computeTiles(rowPointer, into: tiles)
            }
            #else
            computeTiles(rowPointer, into: tiles)
            #endif
            var sum = SIMD16<Int32>()
            for i in 0..<4 * MicrokernelPeak.blocks { sum &+= tiles[i] }
            return sum.wrappedSum()
        }

        /// The portable microkernel's tiles (AVX2 or NEON), row after row per block.
        @inline(__always)
        private func computeTiles(_ rowPointer: UnsafePointer<Int32>, into tiles: UnsafeMutablePointer<SIMD16<Int32>>) {
            let kPairs = MicrokernelPeak.kPairs
            for block in 0..<MicrokernelPeak.blocks {
                let tile = gemm4x16Int16Pairs(rows: rowPointer, rowStride: kPairs, kPairs: kPairs,
                                              panel: weights.panel(block), bias: weights.bias(block))
                (tiles[4 * block], tiles[4 * block + 1], tiles[4 * block + 2], tiles[4 * block + 3]) =
                    (tile.row0, tile.row1, tile.row2, tile.row3)
            }
        }
    }
}
