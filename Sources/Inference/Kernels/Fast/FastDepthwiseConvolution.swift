/// DEPTHWISE_CONV_2D with depth multiplier 1, any window, stride, dilation and padding,
/// SIMD across 16 channels (NHWC). Matches `ReferenceKernels.depthwiseConv2D` bit for bit.
///
/// **Arithmetic.** The oracle sums `(x + inputOffset) * w` over the taps inside the image, in
/// wrapping int32, on top of the bias. Wrapping int32 arithmetic is arithmetic modulo 2^32,
/// so the input offset folds into a per-channel bias, `bias + inputOffset * Σ_taps w`,
/// leaving a plain `Σ x * w` (see ``PackedGemmWeights``). A tap outside the image then
/// reads the input zero point `-inputOffset` instead of being skipped: its product
/// `-inputOffset * w` cancels its share of the folded bias exactly, as the oracle's
/// omission does. So border pixels run the same microkernel as interior ones, with their
/// outside taps pointed at a row of zero points (``depthwise16TapPairs(base:taps:pairs:channel:weights:bias:)``).
///
/// **Requantization.** Blocks whose channels' accumulator ranges (known at load: a bias and
/// a few dozen int8 products) allow it use the cheaper ``BoundedAccumulatorRequantization``
/// on x86; other blocks, and arm64, use ``ChannelRequantization``. Both give the oracle's bits.
///
/// **Layout.** Channels are cut into blocks of 16; when the count is not a multiple of 16
/// the last block starts at `channels - 16` (overlapping the one before, recomputing the
/// same bytes), so every load and store stays inside the tensors. Fewer than 16 channels
/// are gathered into 16-byte scratch lanes first. Weights are packed at load per block and
/// tap pair (``storeDepthwisePair(_:lane:first:second:)``), biases and requantization
/// constants per block: lane `l` of block `b` is channel `channelBlockStart(b, channels:) + l`.
///
/// **Loop order.** A task takes a range of output rows and a range of channel blocks; it
/// walks groups of blocks whose weights fit in L1, and within a group its rows. Per row, the
/// tap addresses of the border pixels are written once; then for each pair of blocks the
/// row's pixels run through the microkernel, are requantized and stored: border pixels
/// with their written addresses, interior pixels (the tight loop) with the op's fixed tap
/// offsets from a base that moves by one stride.
///
/// `@unchecked Sendable`: `current` is written by ``run(input:output:pool:)`` before the
/// pool's tasks start and only read by them (one op at a time, from one thread); each task
/// uses only its own scratch slot; everything else is written only in init.
final class FastDepthwiseConv2D: ParallelJob, @unchecked Sendable {
    /// One run's arguments, for the tasks.
    private struct Run {
        var input: UnsafePointer<Int8>
        var output: UnsafeMutablePointer<Int8>
        var rowChunks: Int
        var blockChunks: Int
    }
    private var current: Run?

    /// Upper bound on the tasks one run is split into (and on scratch slots).
    static let maximumTasks = 16
    /// Runs with fewer multiply-accumulates per task than this are not worth waking a thread for.
    static let minimumTaskMACs = 40_000
    /// Weight bytes a block group may span, so that a group's weights stay in L1 while its
    /// pixels stream through.
    static let groupWeightBytes = 8192

    private let batches: Int
    private let inputHeight: Int, inputWidth: Int, channels: Int
    private let filterHeight: Int, filterWidth: Int
    private let outputHeight: Int, outputWidth: Int
    private let strideHeight: Int, strideWidth: Int
    private let dilationHeight: Int, dilationWidth: Int
    private let paddingTop: Int, paddingLeft: Int
    /// Output columns `interiorStart..<interiorEnd` have their whole window inside the image's width.
    private let interiorStart: Int, interiorEnd: Int
    private let taps: Int
    /// Tap pairs; `2 * pairs` tap slots (an odd last tap is paired with a weight-0 tap).
    private let pairs: Int
    /// 16-channel blocks; block `b` covers the 16 channels from `channelBlockStart(b, channels: channels)`.
    private let blocks: Int
    /// Blocks per L1 group (even, so that blocks pair up inside a group).
    private let groupBlocks: Int
    private let weights: AlignedStorage
    /// `bias + inputOffset * Σ_taps w` per block lane.
    private let foldedBias: AlignedStorage
    /// Constants per block lane.
    private let requantization: ChannelRequantization
    /// The cheaper requantization, for the blocks it covers when `usesBoundedRequantization`.
    private let boundedRequantization: BoundedAccumulatorRequantization
    /// Whether some block takes ``BoundedAccumulatorRequantization`` (never on arm64).
    private let usesBoundedRequantization: Bool
    /// Blocks that take ``BoundedAccumulatorRequantization``.
    let boundedBlocks: Int
    /// At least 16 and `channels` bytes of the input zero point: what taps outside the image read.
    private let zeroPoints: AlignedStorage
    /// Byte offset of each tap (and of an odd last tap's weight-0 partner: 0) from the
    /// window's top-left input element.
    private let tapOffsets: AlignedStorage
    /// Per task: `2 * pairs` tap addresses for each pixel of a row (used for border pixels),
    /// then (fewer than 16 channels) `taps` 16-byte gather lanes.
    private let scratch: AlignedStorage
    private let addressBytes: Int
    private let slotBytes: Int
    let multiplyAccumulates: Int

    /// Nil for depth multipliers other than 1, input zero points outside int8 and right
    /// shifts the vector requantization does not cover (the reference kernel runs those).
    init?(_ p: DepthwiseConv2DParameters, filter: [Int8], bias: [Int32]?) {
        let taps = p.filterHeight * p.filterWidth, channels = p.inputDepth
        guard p.depthMultiplier == 1, taps > 0, channels > 0, filter.count == taps * channels,
              bias.map({ $0.count == channels }) ?? true,
              p.outputMultipliers.count == channels, ChannelRequantization.covers(p.outputMultipliers),
              p.inputOffset >= -127, p.inputOffset <= 128,
              p.strideHeight > 0, p.strideWidth > 0, p.dilationHeight > 0, p.dilationWidth > 0
        else { return nil }
        (batches, inputHeight, inputWidth, self.channels) = (p.batches, p.inputHeight, p.inputWidth, channels)
        (filterHeight, filterWidth, outputHeight, outputWidth) = (p.filterHeight, p.filterWidth, p.outputHeight, p.outputWidth)
        (strideHeight, strideWidth, dilationHeight, dilationWidth) = (p.strideHeight, p.strideWidth, p.dilationHeight, p.dilationWidth)
        (paddingTop, paddingLeft) = (p.paddingTop, p.paddingLeft)
        interiorStart = min(p.outputWidth, (p.paddingLeft + p.strideWidth - 1) / p.strideWidth)
        let lastInside = p.inputWidth - 1 - (p.filterWidth - 1) * p.dilationWidth + p.paddingLeft
        interiorEnd = lastInside >= 0 ? min(p.outputWidth, lastInside / p.strideWidth + 1) : 0
        self.taps = taps
        let pairs = (taps + 1) / 2
        self.pairs = pairs
        let blocks = (channels + 15) / 16
        self.blocks = blocks
        groupBlocks = max(2, Self.groupWeightBytes / (pairs * depthwisePairBytes) / 2 * 2)
        multiplyAccumulates = p.multiplyAccumulates

        weights = AlignedStorage(byteCount: blocks * pairs * depthwisePairBytes)
        foldedBias = AlignedStorage(byteCount: blocks * 16 * 4)
        var blockMultipliers: [QuantizedMultiplier] = []
        var accumulatorRanges: [ClosedRange<Int64>] = []
        blockMultipliers.reserveCapacity(blocks * 16)
        accumulatorRanges.reserveCapacity(blocks * 16)
        // The largest |x + inputOffset| of an int8 x: what one tap can contribute per unit of |w|.
        let largestInput = Int64(max(abs(-128 + Int(p.inputOffset)), abs(127 + Int(p.inputOffset))))
        let packed = weights.pointer(as: Int16.self), biases = foldedBias.pointer(as: Int32.self)
        for block in 0..<blocks {
            let start = channelBlockStart(block, channels: channels)
            for lane in 0..<16 {
                let channel = start + lane
                guard channel < channels else {
                    blockMultipliers.append(QuantizedMultiplier(multiplier: 0, shift: 0))
                    accumulatorRanges.append(0...0)
                    continue
                }
                var weightSum: Int32 = 0
                var absoluteWeightSum: Int64 = 0
                for pair in 0..<pairs {
                    let first = filter[2 * pair * channels + channel]
                    let second: Int8 = 2 * pair + 1 < taps ? filter[(2 * pair + 1) * channels + channel] : 0
                    weightSum = weightSum &+ Int32(first) &+ Int32(second)
                    absoluteWeightSum += Int64(abs(Int(first))) + Int64(abs(Int(second)))
                    storeDepthwisePair(packed + (block * pairs + pair) * (depthwisePairBytes / 2), lane: lane,
                                       first: Int16(first), second: Int16(second))
                }
                let channelBias = bias?[channel] ?? 0
                biases[block * 16 + lane] = channelBias &+ p.inputOffset &* weightSum
                blockMultipliers.append(p.outputMultipliers[channel])
                let spread = largestInput * absoluteWeightSum
                accumulatorRanges.append(Int64(channelBias) - spread...Int64(channelBias) + spread)
            }
        }
        requantization = ChannelRequantization(blockMultipliers, outputOffset: p.outputOffset, activation: p.activation)
        #if arch(arm64)
        // NEON has no 4-lane doubles; ChannelRequantization's two-step path is the cheap one there.
        boundedRequantization = BoundedAccumulatorRequantization(unusedWith: p.activation)
        #else
        boundedRequantization = BoundedAccumulatorRequantization(
            blockMultipliers, accumulatorRanges: accumulatorRanges, outputOffset: p.outputOffset, activation: p.activation)
        #endif
        boundedBlocks = boundedRequantization.coveredBlockCount
        usesBoundedRequantization = boundedBlocks > 0

        let zeroPointBytes = max(16, channels)
        zeroPoints = AlignedStorage(byteCount: zeroPointBytes)
        zeroPoints.bytes.initializeMemory(as: Int8.self, repeating: Int8(-p.inputOffset), count: zeroPointBytes)
        tapOffsets = AlignedStorage(byteCount: 2 * pairs * MemoryLayout<Int>.stride)
        for filterY in 0..<p.filterHeight {
            for filterX in 0..<p.filterWidth {
                tapOffsets.pointer(as: Int.self)[filterY * p.filterWidth + filterX] =
                    (filterY * p.dilationHeight * p.inputWidth + filterX * p.dilationWidth) * channels
            }
        }
        addressBytes = (p.outputWidth * 2 * pairs * MemoryLayout<Int>.stride + 63) / 64 * 64
        slotBytes = addressBytes + (channels < 16 ? taps * 16 : 0)
        scratch = AlignedStorage(byteCount: Self.maximumTasks * slotBytes)
    }

    func run(input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>, pool: WorkerPool?) {
        let rows = batches * outputHeight
        guard rows > 0, outputWidth > 0 else { return }
        let threads = pool?.threadCount ?? 1
        let tasks = min(Self.maximumTasks, 4 * threads, multiplyAccumulates / Self.minimumTaskMACs)
        guard let pool, threads > 1, tasks > 1 else {
            runChunk(rows: 0..<rows, blocks: 0..<blocks, slot: 0, input: input, output: output)
            return
        }
        // Rows alone when there are plenty (each chunk then holds several rows, so chunks of
        // unequal size differ little); otherwise blocks too, for layers of few rows and many channels.
        let rowChunks: Int, blockChunks: Int
        if rows >= 4 * tasks || blocks == 1 {
            (rowChunks, blockChunks) = (min(rows, tasks), 1)
        } else {
            blockChunks = min(blocks, tasks)
            rowChunks = min(rows, max(1, tasks / blockChunks))
        }
        current = Run(input: input, output: output, rowChunks: rowChunks, blockChunks: blockChunks)
        pool.parallelFor(rowChunks * blockChunks, job: self)
        current = nil
    }

    /// Task `task` of the current run: a range of output rows times a range of channel blocks.
    func run(task: Int) {
        guard let r = current else { return }
        let rows = batches * outputHeight
        let rowChunk = task / r.blockChunks, blockChunk = task % r.blockChunks
        runChunk(rows: rowChunk * rows / r.rowChunks ..< (rowChunk + 1) * rows / r.rowChunks,
                 blocks: Self.chunk(blockChunk, of: r.blockChunks, blocks: blocks, channels: channels),
                 slot: task, input: r.input, output: r.output)
    }

    /// Block range of chunk `chunk`. A chunk never starts at the overlapping last block, so
    /// the two blocks that share channels are always written by the same task.
    private static func chunk(_ chunk: Int, of chunks: Int, blocks: Int, channels: Int) -> Range<Int> {
        let overlapping = channels % 16 != 0 && blocks > 1
        func boundary(_ i: Int) -> Int {
            let b = i * blocks / chunks
            return overlapping && b == blocks - 1 ? blocks : b
        }
        return boundary(chunk)..<boundary(chunk + 1)
    }

    private func runChunk(
        rows: Range<Int>, blocks: Range<Int>, slot: Int, input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>
    ) {
        let slotStart = scratch.bytes + slot * slotBytes
        let borderTaps = slotStart.bindMemory(to: Int.self, capacity: outputWidth * 2 * pairs)
        let zeroPoints = Int(bitPattern: self.zeroPoints.bytes)
        let imageBytes = inputHeight * inputWidth * channels
        var groupStart = blocks.lowerBound
        while groupStart < blocks.upperBound {
            let groupEnd = min(groupStart + groupBlocks, blocks.upperBound)
            for row in rows {
                let batch = row / outputHeight, y = row % outputHeight
                let image = input + batch * imageBytes
                let inYOrigin = y * strideHeight - paddingTop
                let rowInside = inYOrigin >= 0 && inYOrigin + (filterHeight - 1) * dilationHeight < inputHeight
                // Interior pixels of this row: none if its windows cross the top or bottom.
                let interior = rowInside ? interiorStart..<max(interiorStart, interiorEnd) : 0..<0
                for x in 0..<outputWidth where !interior.contains(x) {
                    let addresses = borderTaps + x * 2 * pairs
                    setBorderTaps(addresses, image: image, inYOrigin: inYOrigin, inXOrigin: x * strideWidth - paddingLeft,
                                  zeroPoints: zeroPoints)
                    // An odd last tap's partner: weight 0, any readable bytes.
                    if taps % 2 == 1 { addresses[taps] = zeroPoints }
                }
                let destination = output + row * outputWidth * channels
                // Address of the window of output column `interior.lowerBound` (when there is one).
                let interiorBase = Int(bitPattern: image) &+ (inYOrigin &* inputWidth &+ interior.lowerBound &* strideWidth &- paddingLeft) &* channels
                if channels < 16 {
                    runNarrowRow(interior: interior, interiorBase: interiorBase, borderTaps: borderTaps,
                                 gather: (slotStart + addressBytes).assumingMemoryBound(to: Int8.self), destination: destination)
                    continue
                }
                var block = groupStart
                while block < groupEnd {
                    let two = block + 1 < groupEnd
                    runPixels(0..<interior.lowerBound, interior: false, two: two, block: block,
                              interiorBase: interiorBase, borderTaps: borderTaps, destination: destination)
                    runPixels(interior, interior: true, two: two, block: block,
                              interiorBase: interiorBase, borderTaps: borderTaps, destination: destination)
                    runPixels(max(interior.upperBound, interior.lowerBound)..<outputWidth, interior: false, two: two,
                              block: block, interiorBase: interiorBase, borderTaps: borderTaps, destination: destination)
                    block += two ? 2 : 1
                }
            }
            groupStart = groupEnd
        }
    }

    /// Output pixels `xs` of one row for block `block` (and `block + 1` when `two`): interior
    /// pixels (`interior`, all of `xs`) from `interiorBase` by the fixed tap offsets, border
    /// pixels from their addresses in `borderTaps`. Compiled once per tap-pair count of 3x3
    /// and 5x5 windows (so that the microkernel is unrolled) and once for the others; kept
    /// out of line so that the hot loop stays small enough for LLVM to vectorize it whole.
    @inline(never)
    private func runPixels(
        _ xs: Range<Int>, interior: Bool, two: Bool, block: Int, interiorBase: Int,
        borderTaps: UnsafeMutablePointer<Int>, destination: UnsafeMutablePointer<Int8>
    ) {
        switch pairs {
        case 5: runPixels(xs, interior: interior, two: two, pairs: 5, block: block, interiorBase: interiorBase,
                          borderTaps: borderTaps, destination: destination)
        case 13: runPixels(xs, interior: interior, two: two, pairs: 13, block: block, interiorBase: interiorBase,
                           borderTaps: borderTaps, destination: destination)
        default: runPixels(xs, interior: interior, two: two, pairs: pairs, block: block, interiorBase: interiorBase,
                           borderTaps: borderTaps, destination: destination)
        }
    }

    @inline(always)
    private func runPixels(
        _ xs: Range<Int>, interior: Bool, two: Bool, pairs: Int, block: Int, interiorBase: Int,
        borderTaps: UnsafeMutablePointer<Int>, destination: UnsafeMutablePointer<Int8>
    ) {
        guard !xs.isEmpty else { return }
        let blockWeightBytes = pairs &* depthwisePairBytes
        let weights = UnsafeRawPointer(self.weights.bytes) + block &* blockWeightBytes
        let biases = UnsafeRawPointer(foldedBias.bytes) + block &* 64
        let channel = channelBlockStart(block, channels: channels)
        let next = two ? channelBlockStart(block + 1, channels: channels) : channel
        let interiorTaps = UnsafePointer(tapOffsets.pointer(as: Int.self))
        let step = strideWidth &* channels
        var base = interiorBase &+ (xs.lowerBound &- interiorStart) &* step
        var output = destination + xs.lowerBound &* channels
        for x in xs {
            let taps = interior ? interiorTaps : UnsafePointer(borderTaps + x &* 2 &* pairs)
            let start = interior ? base : 0
            if two {
                let (acc0, acc1) = depthwise32TapPairs(
                    base: start, taps: taps, pairs: pairs, channel0: channel, channel1: next,
                    weights: weights, weightStride: blockWeightBytes,
                    bias0: biases.loadUnaligned(as: SIMD16<Int32>.self), bias1: biases.loadUnaligned(fromByteOffset: 64, as: SIMD16<Int32>.self))
                UnsafeMutableRawPointer(output + channel).storeBytes(of: requantized(acc0, block: block), as: SIMD16<Int8>.self)
                UnsafeMutableRawPointer(output + next).storeBytes(of: requantized(acc1, block: block &+ 1), as: SIMD16<Int8>.self)
            } else {
                let acc = depthwise16TapPairs(base: start, taps: taps, pairs: pairs, channel: channel, weights: weights,
                                              bias: biases.loadUnaligned(as: SIMD16<Int32>.self))
                UnsafeMutableRawPointer(output + channel).storeBytes(of: requantized(acc, block: block), as: SIMD16<Int8>.self)
            }
            base = base &+ step
            output += channels
        }
    }

    /// One output row of fewer than 16 channels: 16-byte loads could leave the tensor, so each
    /// pixel's taps are gathered into 16-byte lanes first (zero-padded; the weight-0 partner
    /// of an odd last tap keeps its address).
    private func runNarrowRow(
        interior: Range<Int>, interiorBase: Int, borderTaps: UnsafeMutablePointer<Int>,
        gather: UnsafeMutablePointer<Int8>, destination: UnsafeMutablePointer<Int8>
    ) {
        let interiorTaps = UnsafePointer(tapOffsets.pointer(as: Int.self))
        for x in 0..<outputWidth {
            let addresses = borderTaps + x * 2 * pairs
            let isInterior = interior.contains(x)
            let base = isInterior ? interiorBase + (x - interior.lowerBound) * strideWidth * channels : 0
            for tap in 0..<taps {
                let lane = gather + 16 * tap
                let source = isInterior ? base + interiorTaps[tap] : addresses[tap]
                lane.update(from: UnsafePointer<Int8>(bitPattern: source).unsafelyUnwrapped, count: channels)
                addresses[tap] = Int(bitPattern: lane)
            }
            if taps % 2 == 1 { addresses[taps] = Int(bitPattern: zeroPoints.bytes) }
            let acc = depthwise16TapPairs(base: 0, taps: addresses, pairs: pairs, channel: 0, weights: UnsafeRawPointer(weights.bytes),
                                          bias: UnsafeRawPointer(foldedBias.bytes).loadUnaligned(as: SIMD16<Int32>.self))
            let result = requantized(acc, block: 0)
            for lane in 0..<channels { destination[x * channels + lane] = result[lane] }
        }
    }

    @inline(always)
    private func requantized(_ acc: SIMD16<Int32>, block: Int) -> SIMD16<Int8> {
        usesBoundedRequantization && boundedRequantization.covers(block: block)
            ? boundedRequantization.requantize(acc, block: block)
            : requantizedInSteps(acc, block: block)
    }

    /// ``ChannelRequantization``, out of line: it is the rarer path, and inlined into every
    /// copy of the pixel loop it would make that loop too large to optimize well.
    @inline(never)
    private func requantizedInSteps(_ acc: SIMD16<Int32>, block: Int) -> SIMD16<Int8> {
        requantization.requantize(acc, channel: block * 16)
    }

    /// Absolute tap addresses of a window that crosses the image border: taps outside read zero points.
    @inline(always)
    private func setBorderTaps(
        _ addresses: UnsafeMutablePointer<Int>, image: UnsafePointer<Int8>, inYOrigin: Int, inXOrigin: Int, zeroPoints: Int
    ) {
        for filterY in 0..<filterHeight {
            let inY = inYOrigin + filterY * dilationHeight
            let rowInside = inY >= 0 && inY < inputHeight
            for filterX in 0..<filterWidth {
                let inX = inXOrigin + filterX * dilationWidth
                addresses[filterY * filterWidth + filterX] = rowInside && inX >= 0 && inX < inputWidth
                    ? Int(bitPattern: image + (inY * inputWidth + inX) * channels) : zeroPoints
            }
        }
    }
}
