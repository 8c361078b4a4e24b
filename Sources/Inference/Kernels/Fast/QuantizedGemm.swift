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
    /// Int32 words per packed row in scratch (one word per k-pair), rounded up to a cache line.
    private let rowWords: Int

    init(weights: PackedGemmWeights, requantization: GemmRequantization) {
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
        let scales = UnsafePointer(doubleScales.pointer(as: Double.self))
        for tile in tiles {
            let firstRow = tile * 4
            let validRows = min(4, rowCount - firstRow)
            for r in 0..<validRows {
                rows.pack(firstRow + r, depth: depth,
                          into: UnsafeMutableRawPointer(packed + r * rowWords).assumingMemoryBound(to: Int16.self))
            }
            for block in blocks {
                let acc = gemm4x16Int16Pairs(rows: packed, rowStride: rowWords, kPairs: weights.kPairs,
                                             panel: weights.panel(block), bias: weights.bias(block))
                let column = block * 16
                let columns = min(16, outputs - column)
                let destination = output + firstRow * outputs + column
                store(acc.row0, destination, columns: columns, column: column, scales)
                if validRows > 1 { store(acc.row1, destination + outputs, columns: columns, column: column, scales) }
                if validRows > 2 { store(acc.row2, destination + 2 * outputs, columns: columns, column: column, scales) }
                if validRows > 3 { store(acc.row3, destination + 3 * outputs, columns: columns, column: column, scales) }
            }
        }
    }

    @inline(__always)
    private func store(
        _ acc: SIMD16<Int32>, _ destination: UnsafeMutablePointer<Int8>, columns: Int, column: Int,
        _ scales: UnsafePointer<Double>
    ) {
        if !usesDoubleScales {
            let values = fixedPoint.requantize(acc, channel: column)
            if columns == 16 {
                UnsafeMutableRawPointer(destination).storeBytes(of: values, as: SIMD16<Int8>.self)
            } else {
                for lane in 0..<columns { destination[lane] = values[lane] }
            }
        } else {
            let minimum = Double(activation.minimum), maximum = Double(activation.maximum)
            for lane in 0..<columns {
                let scaled = (Double(acc[lane]) * scales[column + lane]).rounded(.toNearestOrAwayFromZero)
                destination[lane] = Int8(min(max(scaled + Double(outputOffset), minimum), maximum))
            }
        }
    }
}
