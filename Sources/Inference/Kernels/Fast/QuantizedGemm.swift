#if arch(x86_64) && canImport(InferenceVNNI)
import InferenceVNNI
#endif

/// How a GEMM turns int32 accumulators into int8 outputs.
enum GemmRequantization: Sendable {
    /// Fixed-point per-channel multipliers (CONV_2D), see ``ChannelRequantization``.
    case fixedPoint(ChannelRequantization)
    /// `round(acc * scale[c])` in double, half away from zero, then offset and clamp:
    /// the arithmetic of `ReferenceKernels.fullyConnected`.
    case doubleScale(scales: [Double], outputOffset: Int32, activation: ActivationRange)
}

/// An int8 GEMM `output[m][n] = requantize(Σ_k rows[m][k] * filter[n][k] + bias[n])` on
/// weights packed at load, run in 4x16 tiles by ``gemm4x16Int16Pairs`` and split over a
/// ``WorkerPool`` by row tiles (and by column blocks when rows are few).
///
/// Each task packs its 4 input rows as int16 pairs into its own slot of a scratch block
/// allocated at load for ``maximumTasks`` tasks, so a run allocates nothing. The GEMM is its
/// own ``ParallelJob`` (a class made at load), so starting the threads allocates nothing either.
///
/// `@unchecked Sendable`: `current` is written by ``run(_:rowCount:output:pool:)`` before
/// the pool's tasks start and only read by them; an ``Interpreter`` runs one op at a time
/// from one thread. Everything else is written only in init.
final class QuantizedGemm: ParallelJob, @unchecked Sendable {
    /// One run's arguments, for the tasks.
    private struct Run {
        var rows: GemmRows
        var rowCount: Int
        var output: UnsafeMutablePointer<Int8>
        var tiles: Int
        var rowChunks: Int
        var blockChunks: Int
    }
    private var current: Run?

    /// Upper bound on the tasks one run is split into (and on scratch slots).
    static let maximumTasks = 8

    let weights: PackedGemmWeights
    /// Fixed-point constants, used unless `usesDoubleScales` (a non-optional stored value:
    /// unwrapping an optional per tile costs a retain/release pair).
    private let fixedPoint: ChannelRequantization
    private let usesDoubleScales: Bool
    /// Per-column double scales when `usesDoubleScales` (else empty).
    private let doubleScales: AlignedStorage
    private let outputOffset: Int32
    private let activation: ActivationRange
    private let scratch: AlignedStorage
    /// Whether 4-row tiles run the AVX-512 VNNI microkernel (InferenceVNNI).
    let usesAVX512VNNI: Bool
    /// Per task: the int32 tiles of up to ``vnniChunkBlocks`` column blocks from the VNNI
    /// microkernel, before requantization (empty when it is not used).
    private let tileScratch: AlignedStorage
    static let vnniChunkBlocks = 8

    /// Whether this machine can run the AVX-512 VNNI microkernel (cpuid, x86_64 builds only).
    static var avx512VNNIAvailable: Bool {
        #if arch(x86_64) && canImport(InferenceVNNI)
        return InferenceVNNI.avx512VNNIAvailable
        #else
        return false
        #endif
    }
    /// Int32 words per packed row in scratch (one word per k-pair), rounded up to a cache line.
    private let rowWords: Int

    /// `allowsAVX512VNNI: false` keeps the AVX2 microkernel on a VNNI machine (tests of both).
    init(weights: PackedGemmWeights, requantization: GemmRequantization, allowsAVX512VNNI: Bool = true) {
        self.weights = weights
        switch requantization {
        case let .fixedPoint(requantize):
            (fixedPoint, doubleScales, usesDoubleScales) = (requantize, AlignedStorage(byteCount: 0), false)
            (outputOffset, activation) = (requantize.outputOffset, ActivationRange(minimum: requantize.minimum, maximum: requantize.maximum))
        case let .doubleScale(scales, outputOffset, activation):
            // The fixed-point constants of no channels: never read.
            fixedPoint = ChannelRequantization([], outputOffset: outputOffset, activation: activation)
            (doubleScales, usesDoubleScales) = (AlignedStorage(copying: scales), true)
            (self.outputOffset, self.activation) = (outputOffset, activation)
        }
        rowWords = (weights.kPairs + 15) / 16 * 16
        scratch = AlignedStorage(byteCount: Self.maximumTasks * 4 * rowWords * 4)
        usesAVX512VNNI = allowsAVX512VNNI && Self.avx512VNNIAvailable
        tileScratch = AlignedStorage(byteCount: usesAVX512VNNI ? Self.maximumTasks * Self.vnniChunkBlocks * 256 : 0)
    }

    /// Computes `rowCount` output rows of `weights.outputs` int8 values each into `output`.
    func run(_ rows: GemmRows, rowCount: Int, output: UnsafeMutablePointer<Int8>, pool: WorkerPool?) {
        let tiles = (rowCount + 3) / 4
        guard tiles > 0 else { return }
        let threads = pool?.threadCount ?? 1
        if threads == 1 {
            runTask(rows, rowCount: rowCount, tiles: 0..<tiles, blocks: 0..<weights.blocks, slot: 0, output: output)
            return
        }
        let rowChunks = min(tiles, Self.maximumTasks)
        let blockChunks = rowChunks >= 2 * threads ? 1 : max(1, min(weights.blocks, Self.maximumTasks / rowChunks))
        current = Run(rows: rows, rowCount: rowCount, output: output, tiles: tiles, rowChunks: rowChunks,
                      blockChunks: blockChunks)
        pool?.parallelFor(rowChunks * blockChunks, job: self)
        current = nil
    }

    /// Task `task` of the current run: a range of row tiles times a range of column blocks.
    func run(task: Int) {
        guard let r = current else { return }
        let blocks = weights.blocks
        let rowChunk = task / r.blockChunks, blockChunk = task % r.blockChunks
        runTask(r.rows, rowCount: r.rowCount,
                tiles: rowChunk * r.tiles / r.rowChunks ..< (rowChunk + 1) * r.tiles / r.rowChunks,
                blocks: blockChunk * blocks / r.blockChunks ..< (blockChunk + 1) * blocks / r.blockChunks,
                slot: task, output: r.output)
    }

    private func runTask(
        _ rows: GemmRows, rowCount: Int, tiles: Range<Int>, blocks: Range<Int>, slot: Int, output: UnsafeMutablePointer<Int8>
    ) {
        let packed = scratch.pointer(as: Int32.self, byteOffset: slot * 4 * rowWords * 4)
        let depth = weights.depth, outputs = weights.outputs
        for tile in tiles {
            let firstRow = tile * 4
            let validRows = min(4, rowCount - firstRow)
            for r in 0..<validRows {
                rows.pack(firstRow + r, depth: depth,
                          into: UnsafeMutableRawPointer(packed + r * rowWords).assumingMemoryBound(to: Int16.self))
            }
            if validRows == 4, !usesDoubleScales {
                if usesAVX512VNNI {
                    multiplyTileAVX512VNNI(packed, blocks: blocks, slot: slot, output: output + firstRow * outputs)
                } else {
                    multiplyTile(packed, blocks: blocks, output: output + firstRow * outputs)
                }
                continue
            }
            // The last 1...3 rows, GEMV, and the double-precision requantization: one row at a time.
            for r in 0..<validRows {
                multiplyRow(packed + r * rowWords, blocks: blocks, output: output + (firstRow + r) * outputs)
            }
        }
    }

    /// Four packed rows times the column blocks `blocks`, requantized with the fixed-point
    /// constants into the 4 output rows starting at `output`.
    @inline(never)
    private func multiplyTile(_ packed: UnsafePointer<Int32>, blocks: Range<Int>, output: UnsafeMutablePointer<Int8>) {
        let kPairs = weights.kPairs
        for block in blocks {
            if weights.outputs - block * 16 <= 8 {
                multiplyNarrowTile(packed, block: block, output: output)
                continue
            }
            var acc = gemm4x16Int16Pairs(rows: packed, rowStride: rowWords, kPairs: kPairs,
                                         panel: weights.panel(block), bias: weights.bias(block))
            withUnsafeMutablePointer(to: &acc) { tile in
                tile.withMemoryRebound(to: SIMD16<Int32>.self, capacity: 4) { rows in
                    storeTile(rows, block: block, output: output)
                }
            }
        }
    }

    /// The last column block when it has at most 8 columns (e.g. 24 or 40 output channels):
    /// a 4x8 tile, half the multiplies of the 4x16 one, stored by ``storePartialTile(_:column:output:)``.
    @inline(never)
    private func multiplyNarrowTile(_ packed: UnsafePointer<Int32>, block: Int, output: UnsafeMutablePointer<Int8>) {
        let tile = gemm4x8Int16Pairs(rows: packed, rowStride: rowWords, kPairs: weights.kPairs,
                                     panel: weights.panel(block), bias: weights.bias(block).lowHalf)
        var rows = (SIMD16<Int32>(lowHalf: tile.row0, highHalf: .zero), SIMD16<Int32>(lowHalf: tile.row1, highHalf: .zero),
                    SIMD16<Int32>(lowHalf: tile.row2, highHalf: .zero), SIMD16<Int32>(lowHalf: tile.row3, highHalf: .zero))
        withUnsafeMutablePointer(to: &rows) { rows in
            rows.withMemoryRebound(to: SIMD16<Int32>.self, capacity: 4) { rows in
                storePartialTile(rows, column: block * 16, output: output)
            }
        }
    }

    /// ``multiplyTile(_:blocks:output:)`` on the AVX-512 VNNI microkernel, which computes
    /// the int32 tiles of up to ``vnniChunkBlocks`` blocks per call into the task's slot of
    /// `tileScratch`; they are then requantized here.
    @inline(never)
    private func multiplyTileAVX512VNNI(_ packed: UnsafePointer<Int32>, blocks: Range<Int>, slot: Int, output: UnsafeMutablePointer<Int8>) {
        #if arch(x86_64) && canImport(InferenceVNNI)
        let tiles = tileScratch.pointer(as: SIMD16<Int32>.self, byteOffset: slot * Self.vnniChunkBlocks * 256)
        var start = blocks.lowerBound
        while start < blocks.upperBound {
            let end = min(start + Self.vnniChunkBlocks, blocks.upperBound)
            gemm4x16TilesAVX512VNNI(rows: packed, rowStride: rowWords, kPairs: weights.kPairs, panels: weights.panel(0),
                                    biases: weights.biases, blocks: start..<end, into: UnsafeMutableRawPointer(tiles))
            for block in start..<end {
                storeTile(tiles + 4 * (block - start), block: block, output: output)
            }
            start = end
        }
        #else
        multiplyTile(packed, blocks: blocks, output: output)
        #endif
    }

    /// Requantizes the 4 rows of one tile (16 int32 each) of column block `block` into the
    /// 4 output rows starting at `output`.
    @inline(__always)
    private func storeTile(_ rows: UnsafePointer<SIMD16<Int32>>, block: Int, output: UnsafeMutablePointer<Int8>) {
        let outputs = weights.outputs, column = block * 16
        if column + 16 <= outputs {
            fixedPoint.requantize(rows, count: 4, channel: column, into: UnsafeMutableRawPointer(output + column), stride: outputs)
        } else {
            storePartialTile(rows, column: column, output: output)
        }
    }

    /// ``storeTile(_:block:output:)`` for the last, partial block: requantized into a
    /// 64-byte buffer, then its `outputs - column` columns copied.
    @inline(never)
    private func storePartialTile(_ rows: UnsafePointer<SIMD16<Int32>>, column: Int, output: UnsafeMutablePointer<Int8>) {
        let outputs = weights.outputs
        var partial = (SIMD16<Int8>(), SIMD16<Int8>(), SIMD16<Int8>(), SIMD16<Int8>())
        withUnsafeMutablePointer(to: &partial) { buffer in
            fixedPoint.requantize(rows, count: 4, channel: column, into: UnsafeMutableRawPointer(buffer), stride: 16)
            let bytes = UnsafeRawPointer(buffer).assumingMemoryBound(to: Int8.self)
            for r in 0..<4 {
                (output + r * outputs + column).update(from: bytes + 16 * r, count: outputs - column)
            }
        }
    }

    /// One packed row times the column blocks `blocks`, into the output row `output`.
    @inline(never)
    private func multiplyRow(_ packed: UnsafePointer<Int32>, blocks: Range<Int>, output: UnsafeMutablePointer<Int8>) {
        let outputs = weights.outputs, kPairs = weights.kPairs
        let requantization = fixedPoint
        for block in blocks {
            let acc = gemm1x16Int16Pairs(row: packed, kPairs: kPairs, panel: weights.panel(block), bias: weights.bias(block))
            let column = block * 16
            let columns = min(16, outputs - column)
            if usesDoubleScales {
                storeDoubleScaled(acc, output + column, columns: columns, column: column)
                continue
            }
            let values = requantization.requantize(acc, channel: column)
            if columns == 16 {
                UnsafeMutableRawPointer(output + column).storeBytes(of: values, as: SIMD16<Int8>.self)
            } else {
                storePartial(values, output + column, columns: columns)
            }
        }
    }

    /// The first `columns` (< 16) lanes of `values` (the last, partial column block).
    @inline(never)
    private func storePartial(_ values: SIMD16<Int8>, _ destination: UnsafeMutablePointer<Int8>, columns: Int) {
        for lane in 0..<columns { destination[lane] = values[lane] }
    }

    /// Out of line: the double-precision path is per lane and rare (fully connected layers).
    @inline(never)
    private func storeDoubleScaled(_ acc: SIMD16<Int32>, _ destination: UnsafeMutablePointer<Int8>, columns: Int, column: Int) {
        let scales = UnsafePointer(doubleScales.pointer(as: Double.self))
        let minimum = Double(activation.minimum), maximum = Double(activation.maximum)
        for lane in 0..<columns {
            let scaled = (Double(acc[lane]) * scales[column + lane]).rounded(.toNearestOrAwayFromZero)
            destination[lane] = Int8(min(max(scaled + Double(outputOffset), minimum), maximum))
        }
    }
}
