/// CONV_2D of few input channels (a network's stem: 3x3 stride 2 on RGB), computed
/// directly, without im2col: any window, stride, dilation and padding. Matches
/// `ReferenceKernels.conv2D` bit for bit.
///
/// **Why not the GEMM.** With 1–4 input channels a pixel's window is only a few dozen
/// values, so building it as a GEMM row (two integer divisions per pixel to locate it,
/// padding K to even) costs as much as multiplying it. Here each output row first widens
/// the `filterHeight` input rows it reads to int16, padded left and right with the input
/// zero point (rows above or below the image are all zero points), into a task scratch of
/// fixed row stride. A window is then a fixed set of int16 *pairs* at constant offsets from
/// `x · strideWidth · inputDepth`: per filter row, the contiguous run of `filterWidth ·
/// inputDepth` values (one run per tap when dilated) read two at a time. A run of odd
/// length ends with a pair whose second value belongs to the next pixel; its weight is 0.
///
/// **Arithmetic.** As in ``PackedGemmWeights``: the input offset is folded into the bias
/// (`bias + inputOffset · Σw`, wrapping int32 = arithmetic mod 2^32), and padded positions
/// hold the zero point `-inputOffset`, whose products cancel their share of the folded bias,
/// as the oracle's omission of those taps does. Each pair is one `vpmaddwd` lane pair on
/// x86 (`smull`/`smlal` by element on arm64), exact: |x·w| ≤ 2^14.
///
/// **Layout.** Output channels in blocks of 16 (the last block of a count that is not a
/// multiple of 16 starts at `outputDepth - 16`, overlapping the one before, so that stores
/// stay inside the tensor; fewer than 16 channels are stored lane by lane). Weights are
/// packed at load per block and pair in the GEMM panels' layout
/// (``storePanelPair(_:column:first:second:)``), which ``stemPairProducts(_:_:)`` reads.
/// A row's int32 accumulators land in scratch, block after block, and are requantized by
/// ``ChannelRequantization`` a block at a time. Not by ``BoundedAccumulatorRequantization``
/// (which the depthwise kernel uses): measured here, LLVM turned its lane-wise double
/// compares into branches in this caller, and the stem took over twice the GEMM's time.
///
/// `@unchecked Sendable`: `current` is written by ``run(input:output:pool:)`` before the
/// pool's tasks start and only read by them (one op at a time, from one thread); each task
/// uses only its own scratch slot; everything else is written only in init.
final class DirectStemConv2D: ParallelJob, @unchecked Sendable {
    /// One run's arguments, for the tasks.
    private struct Run {
        var input: UnsafePointer<Int8>
        var output: UnsafeMutablePointer<Int8>
        var tasks: Int
    }
    private var current: Run?

    /// The largest input depth taken: beyond it a window is long enough for the GEMM's row
    /// packing to be cheap in comparison.
    static let maximumInputDepth = 4
    /// Upper bound on the tasks one run is split into (and on scratch slots).
    static let maximumTasks = 8
    /// By default, runs with fewer multiply-accumulates per task than this stay on the
    /// caller's thread: waking a worker costs more than such a share of the row loop.
    static let defaultMinimumTaskMACs = 200_000

    private let batches: Int
    private let inputHeight: Int, inputWidth: Int, inputDepth: Int
    private let filterHeight: Int
    private let outputHeight: Int, outputWidth: Int, outputDepth: Int
    private let strideHeight: Int
    private let dilationHeight: Int
    private let paddingTop: Int, paddingLeft: Int
    /// Columns of a widened row: `-paddingLeft` up to the last column any window reads.
    private let paddedColumns: Int
    /// Int16 values between widened rows in scratch (≥ the row plus the value the last pair
    /// of a window may read past it).
    private let rowStride: Int
    /// Bytes between the windows of neighbouring output pixels in a widened row.
    private let pixelStep: Int
    /// Int16 pairs per window.
    let pairs: Int
    /// 16-channel blocks of the output.
    let blocks: Int
    private let zeroPoint: Int16
    /// Byte offset of each pair from the window's first value in scratch (Int32 each).
    private let pairOffsets: AlignedStorage
    /// Per block, per pair: 16 weight pairs (64 bytes).
    private let weights: AlignedStorage
    /// `bias + inputOffset * Σ w` per block lane (16 int32 per block).
    private let foldedBias: AlignedStorage
    private let requantization: ChannelRequantization
    private let scratch: AlignedStorage
    private let rowBytes: Int
    private let slotBytes: Int
    let multiplyAccumulates: Int
    /// Multiply-accumulates a task must have at least (``defaultMinimumTaskMACs``; tests lower
    /// it so that small layers are split over tasks too).
    let minimumTaskMACs: Int

    /// Nil when the direct kernel does not cover `p`: more than ``maximumInputDepth`` input
    /// channels, grouped convolutions, input zero points outside int8 (padding holds the zero
    /// point as an int16 factor of exact products), windows reaching far outside the image,
    /// or right shifts the vector requantization does not cover.
    ///
    /// "Far": widened rows of more than ``maximumPaddedColumns(inputWidth:)`` columns, or a
    /// task's widened rows over ``widenedRowsBudget(_:)`` bytes. The scratch grows with the
    /// padding and the window's height, which a corrupt model can make huge (a fuzzed one asked
    /// for 14 GB with a dilation of 14,548,994); the GEMM's im2col rows grow only with the filter.
    init?(_ p: Conv2DParameters, filter: [Int8], bias: [Int32]?, minimumTaskMACs: Int = DirectStemConv2D.defaultMinimumTaskMACs) {
        let depth = p.filterHeight * p.filterWidth * p.inputDepth
        let lastColumn = (p.outputWidth - 1) * p.strideWidth - p.paddingLeft + (p.filterWidth - 1) * p.dilationWidth
        let paddedColumns = lastColumn + p.paddingLeft + 1
        guard p.inputDepth >= 1, p.inputDepth <= Self.maximumInputDepth, p.filterInputDepth == p.inputDepth,
              p.outputDepth >= 1, p.filterHeight >= 1, p.filterWidth >= 1, p.outputHeight >= 1, p.outputWidth >= 1,
              p.strideHeight >= 1, p.strideWidth >= 1, p.dilationHeight >= 1, p.dilationWidth >= 1,
              p.paddingTop >= 0, p.paddingLeft >= 0, (-127...128).contains(p.inputOffset),
              paddedColumns <= Self.maximumPaddedColumns(inputWidth: p.inputWidth)
        else { return nil }
        // Only now: the row stride of a corrupt model's width or depth could overflow.
        let rowStride = Self.rowStride(paddedColumns: paddedColumns, inputDepth: p.inputDepth)
        // Divided, not multiplied: a corrupt filter height must not overflow.
        guard p.filterHeight <= Self.widenedRowsBudget(p) / (2 * rowStride),
              filter.count == p.outputDepth * depth, bias.map({ $0.count == p.outputDepth }) ?? true,
              p.outputMultipliers.count == p.outputDepth, ChannelRequantization.covers(p.outputMultipliers)
        else { return nil }
        (batches, inputHeight, inputWidth, inputDepth) = (p.batches, p.inputHeight, p.inputWidth, p.inputDepth)
        (filterHeight, outputHeight, outputWidth, outputDepth) = (p.filterHeight, p.outputHeight, p.outputWidth, p.outputDepth)
        (strideHeight, dilationHeight, paddingTop, paddingLeft) = (p.strideHeight, p.dilationHeight, p.paddingTop, p.paddingLeft)
        multiplyAccumulates = p.multiplyAccumulates
        self.minimumTaskMACs = max(1, minimumTaskMACs)
        zeroPoint = Int16(truncatingIfNeeded: -p.inputOffset)
        self.paddedColumns = paddedColumns
        self.rowStride = rowStride
        pixelStep = p.strideWidth * p.inputDepth * 2

        // The window's runs: (filter row, first value's column offset, length, first filter index).
        let channels = p.inputDepth
        var runs: [(row: Int, offset: Int, length: Int, k: Int)] = []
        for filterY in 0..<p.filterHeight {
            if p.dilationWidth == 1 {
                runs.append((filterY, 0, p.filterWidth * channels, filterY * p.filterWidth * channels))
            } else {
                for filterX in 0..<p.filterWidth {
                    runs.append((filterY, filterX * p.dilationWidth * channels, channels, (filterY * p.filterWidth + filterX) * channels))
                }
            }
        }
        // Per pair: its byte offset and the filter indices of its two values (-1: weight 0).
        var pairList: [(offset: Int, first: Int, second: Int)] = []
        for run in runs {
            var e = 0
            while e < run.length {
                pairList.append(((run.row * rowStride + run.offset + e) * 2, run.k + e, e + 1 < run.length ? run.k + e + 1 : -1))
                e += 2
            }
        }
        pairs = pairList.count
        pairOffsets = AlignedStorage(copying: pairList.map { Int32($0.offset) })

        let blocks = (p.outputDepth + 15) / 16
        self.blocks = blocks
        weights = AlignedStorage(byteCount: blocks * pairs * gemmPanelPairBytes)
        foldedBias = AlignedStorage(byteCount: blocks * 64)
        var blockMultipliers: [QuantizedMultiplier] = []
        blockMultipliers.reserveCapacity(blocks * 16)
        let packed = weights.pointer(as: Int16.self), biases = foldedBias.pointer(as: Int32.self)
        for block in 0..<blocks {
            let start = channelBlockStart(block, channels: p.outputDepth)
            for lane in 0..<16 {
                let output = start + lane
                guard output < p.outputDepth else {
                    blockMultipliers.append(QuantizedMultiplier(multiplier: 0, shift: 0))
                    continue
                }
                let filterStart = output * depth
                var weightSum: Int32 = 0
                for (i, pair) in pairList.enumerated() {
                    let first = filter[filterStart + pair.first]
                    let second: Int8 = pair.second >= 0 ? filter[filterStart + pair.second] : 0
                    weightSum = weightSum &+ Int32(first) &+ Int32(second)
                    storePanelPair(packed + (block * pairs + i) * (gemmPanelPairBytes / 2), column: lane,
                                  first: Int16(first), second: Int16(second))
                }
                let channelBias = bias?[output] ?? 0
                biases[block * 16 + lane] = channelBias &+ p.inputOffset &* weightSum
                blockMultipliers.append(p.outputMultipliers[output])
            }
        }
        requantization = ChannelRequantization(blockMultipliers, outputOffset: p.outputOffset, activation: p.activation)

        rowBytes = p.filterHeight * rowStride * 2
        slotBytes = (rowBytes + 63) / 64 * 64 + blocks * p.outputWidth * 64
        scratch = AlignedStorage(byteCount: Self.maximumTasks * slotBytes)
    }

    /// The widest padded row taken: twice the image plus 64 columns, room for any padding a
    /// real stem has (SAME padding adds less than one window).
    static func maximumPaddedColumns(inputWidth: Int) -> Int { 2 * inputWidth + 64 }

    /// The most bytes one task's widened rows may take: twice the image as int16, at least
    /// 64 KiB, and within the int32 pair offsets.
    static func widenedRowsBudget(_ p: Conv2DParameters) -> Int {
        min(Int(Int32.max), max(1 << 16, 4 * p.inputHeight * p.inputWidth * p.inputDepth))
    }

    /// Int16 values between widened rows: the padded row, plus slack for the last pair of a
    /// run, which may read one value past the row (its weight is 0), rounded to 64 bytes.
    static func rowStride(paddedColumns: Int, inputDepth: Int) -> Int {
        (paddedColumns * inputDepth + 16 + 31) / 32 * 32
    }

    /// How many tasks (ranges of output rows) a run on `threads` threads is split into; 1
    /// runs on the caller's thread.
    func taskCount(threads: Int) -> Int {
        guard threads > 1 else { return 1 }
        // Up to 4 tasks per thread: the pool hands tasks out by an atomic counter, so a thread
        // that falls behind (another process on its core) ends up taking fewer.
        return max(1, min(Self.maximumTasks, batches * outputHeight, 4 * threads, multiplyAccumulates / minimumTaskMACs))
    }

    func run(input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>, pool: WorkerPool?) {
        let tasks = taskCount(threads: pool?.threadCount ?? 1)
        guard let pool, tasks > 1 else {
            let rows = batches * outputHeight
            runRows(0..<rows, slot: 0, input: input, output: output)
            return
        }
        current = Run(input: input, output: output, tasks: tasks)
        pool.parallelFor(tasks, job: self)
        current = nil
    }

    /// Task `task` of the current run: a range of output rows.
    func run(task: Int) {
        guard let r = current else { return }
        let rows = batches * outputHeight
        runRows(task * rows / r.tasks ..< (task + 1) * rows / r.tasks, slot: task, input: r.input, output: r.output)
    }

    private func runRows(_ rows: Range<Int>, slot: Int, input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
        let slotStart = scratch.bytes + slot * slotBytes
        let widened = slotStart.assumingMemoryBound(to: Int16.self)
        let accumulators = (slotStart + (rowBytes + 63) / 64 * 64).assumingMemoryBound(to: SIMD16<Int32>.self)
        for row in rows {
            let batch = row / outputHeight, y = row % outputHeight
            for filterY in 0..<filterHeight {
                let inY = y * strideHeight - paddingTop + filterY * dilationHeight
                let destination = widened + filterY * rowStride
                if inY >= 0, inY < inputHeight {
                    widenPaddedRow(input + (batch * inputHeight + inY) * inputWidth * inputDepth, into: destination)
                } else {
                    destination.update(repeating: zeroPoint, count: paddedColumns * inputDepth)
                }
            }
            accumulateRow(UnsafeRawPointer(widened), into: accumulators)
            requantizeRow(accumulators, into: output + row * outputWidth * outputDepth)
        }
    }

    /// Writes the `paddedColumns` columns of one input row, from column `-paddingLeft`, as
    /// int16: zero points outside the image.
    private func widenPaddedRow(_ source: UnsafePointer<Int8>, into destination: UnsafeMutablePointer<Int16>) {
        let firstInside = min(paddingLeft, paddedColumns)
        let inside = max(0, min(inputWidth, paddedColumns - paddingLeft))
        destination.update(repeating: zeroPoint, count: firstInside * inputDepth)
        widenRow(source, count: inside * inputDepth, into: destination + firstInside * inputDepth)
        let after = (firstInside + inside) * inputDepth
        (destination + after).update(repeating: zeroPoint, count: paddedColumns * inputDepth - after)
    }

    /// The int32 accumulators of every pixel and block of one output row, from its widened
    /// input rows, into `accumulators` (block `b`'s pixels at `b * outputWidth`). Blocks go
    /// two at a time (each input pair loaded once for 32 channels), pixels two at a time:
    /// 8 ymm accumulators, 4 weight vectors and 2 broadcast pairs fit AVX2's 16 registers.
    @inline(never)
    private func accumulateRow(_ rows: UnsafeRawPointer, into accumulators: UnsafeMutablePointer<SIMD16<Int32>>) {
        var block = 0
        while block + 1 < blocks {
            accumulateBlocks(rows, block: block, two: true, into: accumulators)
            block += 2
        }
        if block < blocks { accumulateBlocks(rows, block: block, two: false, into: accumulators) }
    }

    /// Block `block`'s accumulators of one output row (and block `block + 1`'s when `two`).
    /// Inlined with a constant `two`, so that the pair loop carries no test of it: with the
    /// test inside, LLVM rebuilt the broadcast pair for the second block on every pair.
    @inline(always)
    private func accumulateBlocks(
        _ rows: UnsafeRawPointer, block: Int, two: Bool, into accumulators: UnsafeMutablePointer<SIMD16<Int32>>
    ) {
        let offsets = UnsafePointer(pairOffsets.pointer(as: Int32.self))
        let blockBytes = pairs * gemmPanelPairBytes
        let w = UnsafeRawPointer(weights.bytes) + block * blockBytes
        let biases = UnsafeRawPointer(foldedBias.bytes)
        let bias0 = biases.loadUnaligned(fromByteOffset: block * 64, as: SIMD16<Int32>.self)
        let bias1 = two ? biases.loadUnaligned(fromByteOffset: block * 64 + 64, as: SIMD16<Int32>.self) : bias0
        let out0 = accumulators + block * outputWidth
        let out1 = out0 + outputWidth
        var x = 0
        while x + 2 <= outputWidth {
            let first = rows + x * pixelStep
            var a00 = bias0, a01 = bias1, a10 = bias0, a11 = bias1
            var pw = w
            for pair in 0..<pairs {
                let offset = Int(offsets[pair])
                let x0 = first.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let x1 = first.loadUnaligned(fromByteOffset: offset + pixelStep, as: Int32.self)
                a00 &+= stemPairProducts(x0, pw)
                a10 &+= stemPairProducts(x1, pw)
                if two {
                    a01 &+= stemPairProducts(x0, pw + blockBytes)
                    a11 &+= stemPairProducts(x1, pw + blockBytes)
                }
                pw += gemmPanelPairBytes
            }
            out0[x] = a00
            out0[x + 1] = a10
            if two {
                out1[x] = a01
                out1[x + 1] = a11
            }
            x += 2
        }
        if x < outputWidth {
            let first = rows + x * pixelStep
            var a0 = bias0, a1 = bias1
            var pw = w
            for pair in 0..<pairs {
                let x0 = first.loadUnaligned(fromByteOffset: Int(offsets[pair]), as: Int32.self)
                a0 &+= stemPairProducts(x0, pw)
                if two { a1 &+= stemPairProducts(x0, pw + blockBytes) }
                pw += gemmPanelPairBytes
            }
            out0[x] = a0
            if two { out1[x] = a1 }
        }
    }

    /// Requantizes one output row's accumulators into its `outputWidth * outputDepth` bytes.
    @inline(never)
    private func requantizeRow(_ accumulators: UnsafePointer<SIMD16<Int32>>, into destination: UnsafeMutablePointer<Int8>) {
        guard outputDepth >= 16 else {
            // A 16-byte store would run past the pixel (and, for the last one, the tensor).
            for x in 0..<outputWidth {
                let values = requantization.requantize(accumulators[x], channel: 0)
                for lane in 0..<outputDepth { destination[x * outputDepth + lane] = values[lane] }
            }
            return
        }
        // In block order, so the overlapping last block rewrites the same bytes last.
        for block in 0..<blocks {
            requantization.requantize(accumulators + block * outputWidth, count: outputWidth, channel: block * 16,
                                      into: UnsafeMutableRawPointer(destination + channelBlockStart(block, channels: outputDepth)),
                                      stride: outputDepth)
        }
    }
}

#if arch(arm64)
/// `Σ` over the pair `(x0, x1)` packed in `pair` of `x · w` for 16 output channels; `weights`
/// holds the 16 weights of `x0`, then the 16 of `x1` (arm64 layout: `smull`/`smlal` by element).
@inline(always)
func stemPairProducts(_ pair: Int32, _ weights: UnsafeRawPointer) -> SIMD16<Int32> {
    let x0 = Int32(Int16(truncatingIfNeeded: pair)), x1 = pair >> 16
    let w0 = widenedToInt32(weights.loadUnaligned(as: SIMD16<Int16>.self))
    let w1 = widenedToInt32(weights.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self))
    return w0 &* SIMD16<Int32>(repeating: x0) &+ w1 &* SIMD16<Int32>(repeating: x1)
}
#else
/// `Σ` over the pair `(x0, x1)` packed in `pair` of `x · w` for 16 output channels; `weights`
/// holds 16 interleaved (first, second) int16 weight pairs: one `vpmaddwd` per 8 channels.
@inline(always)
func stemPairProducts(_ pair: Int32, _ weights: UnsafeRawPointer) -> SIMD16<Int32> {
    let x = widenedToInt32(unsafeBitCast(SIMD16<Int32>(repeating: pair), to: SIMD32<Int16>.self))
    return pairwiseSums(x &* widenedToInt32(weights.loadUnaligned(as: SIMD32<Int16>.self)))
}
#endif
