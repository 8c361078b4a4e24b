/// DEPTHWISE_CONV_2D with depth multiplier 1, any window, stride and dilation, SIMD across
/// 16 channels (NHWC), threads split by output rows. Matches `ReferenceKernels.depthwiseConv2D`.
///
/// Layout: weights are packed at load as int16 `[tap][channel]`, channels padded to 16.
/// Each output pixel loops only over the window taps inside the image (the border path
/// and the interior path are the same loop with different bounds), which is how the oracle
/// pads: by omission. Per tap, `(x + inputOffset)` lies in [-255, 255], so the int16
/// product with a weight in [-128, 127] is exact (|p| ≤ 32640); it is widened and
/// accumulated in wrapping int32 on top of the bias, exactly the oracle's sum.
///
/// Interior pixels (whole window inside the image) of full 16-channel blocks take a shorter
/// path: the input offset is folded into an interior bias (`bias + inputOffset * Σ w`, exact
/// modulo 2^32 as in ``PackedGemmWeights``), each tap is `x * w` in int16 (|p| ≤ 2^14), and
/// tap addresses come from a table made at load.
///
/// `@unchecked Sendable`: `current` is written by ``run(input:output:pool:)`` before the
/// pool's tasks start and only read by them (one op at a time, from one thread); the
/// storage is written only in init.
final class FastDepthwiseConv2D: ParallelJob, @unchecked Sendable {
    private var current: (input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>)?
    private let window: ConvolutionWindow
    private let batches: Int
    private let channels: Int
    private let paddedChannels: Int
    private let weights: AlignedStorage
    private let bias: AlignedStorage
    /// `bias + inputOffset * Σ_taps w` per channel, for interior pixels.
    private let interiorBias: AlignedStorage
    /// Byte offset of each tap from the window's top-left input element.
    private let tapOffsets: AlignedStorage
    private let taps: Int
    private let requantization: ChannelRequantization

    /// Nil for depth multipliers other than 1 (the reference kernel runs those).
    init?(_ p: DepthwiseConv2DParameters, filter: [Int8], bias: [Int32]?) {
        let taps = p.filterHeight * p.filterWidth, channels = p.inputDepth
        guard p.depthMultiplier == 1, filter.count == taps * channels,
              bias.map({ $0.count == channels }) ?? true,
              ChannelRequantization.covers(p.outputMultipliers)
        else { return nil }
        let requantization = ChannelRequantization(p.outputMultipliers, outputOffset: p.outputOffset, activation: p.activation)
        paddedChannels = (channels + 15) / 16 * 16
        weights = AlignedStorage(byteCount: taps * paddedChannels * 2)
        let packed = weights.pointer(as: Int16.self)
        for tap in 0..<taps {
            for channel in 0..<channels { packed[tap * paddedChannels + channel] = Int16(filter[tap * channels + channel]) }
        }
        self.bias = AlignedStorage(byteCount: paddedChannels * 4)
        if let bias { for channel in 0..<channels { self.bias.pointer(as: Int32.self)[channel] = bias[channel] } }
        interiorBias = AlignedStorage(byteCount: paddedChannels * 4)
        for channel in 0..<channels {
            var weightSum: Int32 = 0
            for tap in 0..<taps { weightSum = weightSum &+ Int32(filter[tap * channels + channel]) }
            interiorBias.pointer(as: Int32.self)[channel] = (bias?[channel] ?? 0) &+ p.inputOffset &* weightSum
        }
        tapOffsets = AlignedStorage(byteCount: taps * MemoryLayout<Int>.stride)
        for filterY in 0..<p.filterHeight {
            for filterX in 0..<p.filterWidth {
                tapOffsets.pointer(as: Int.self)[filterY * p.filterWidth + filterX] =
                    (filterY * p.dilationHeight * p.inputWidth + filterX * p.dilationWidth) * channels
            }
        }
        self.taps = taps
        self.requantization = requantization
        self.channels = channels
        batches = p.batches
        window = ConvolutionWindow(
            Conv2DParameters(
                batches: p.batches, inputHeight: p.inputHeight, inputWidth: p.inputWidth, inputDepth: p.inputDepth,
                filterHeight: p.filterHeight, filterWidth: p.filterWidth, filterInputDepth: 1,
                outputHeight: p.outputHeight, outputWidth: p.outputWidth, outputDepth: p.outputDepth,
                strideHeight: p.strideHeight, strideWidth: p.strideWidth,
                dilationHeight: p.dilationHeight, dilationWidth: p.dilationWidth,
                paddingTop: p.paddingTop, paddingLeft: p.paddingLeft, inputOffset: p.inputOffset,
                outputOffset: p.outputOffset, outputMultipliers: [], activation: p.activation))
    }

    func run(input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>, pool: WorkerPool?) {
        let rows = batches * window.outputHeight
        if let pool, pool.threadCount > 1 {
            current = (input, output)
            pool.parallelFor(rows, job: self)
            current = nil
        } else {
            for row in 0..<rows { runRow(row, input: input, output: output) }
        }
    }

    /// Task `task` of the current run: output row `task`.
    func run(task: Int) {
        guard let (input, output) = current else { return }
        runRow(task, input: input, output: output)
    }

    /// Output row `row` (batch-major) of every channel.
    private func runRow(_ row: Int, input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>) {
        let w = window
        let batch = row / w.outputHeight, y = row % w.outputHeight
        let inYOrigin = y * w.strideHeight - w.paddingTop
        // Taps [firstY, endY) fall inside the image rows.
        let firstY = max(0, (-inYOrigin + w.dilationHeight - 1) / w.dilationHeight)
        let endY = min(w.filterHeight, (w.inputHeight - inYOrigin + w.dilationHeight - 1) / w.dilationHeight)
        let offset = SIMD16<Int16>(repeating: Int16(truncatingIfNeeded: w.inputOffset))
        let packedWeights = UnsafeRawPointer(weights.bytes)
        let biases = UnsafeRawPointer(bias.bytes)
        let imageBase = input + batch * w.inputHeight * w.inputWidth * channels
        // Output columns [interiorStart, interiorEnd) have their whole window inside the image.
        let rowIsInterior = firstY == 0 && endY == w.filterHeight
        let interiorStart = (w.paddingLeft + w.strideWidth - 1) / w.strideWidth
        let lastInside = w.inputWidth - 1 - (w.filterWidth - 1) * w.dilationWidth + w.paddingLeft
        let interiorEnd = rowIsInterior && lastInside >= 0 ? min(w.outputWidth, lastInside / w.strideWidth + 1) : 0
        let fullBlocks = channels / 16 * 16
        let offsets = UnsafePointer(tapOffsets.pointer(as: Int.self))
        let interiorBiases = UnsafeRawPointer(interiorBias.bytes)
        for x in 0..<w.outputWidth {
            let inXOrigin = x * w.strideWidth - w.paddingLeft
            var channel = 0
            if x >= interiorStart && x < interiorEnd {
                let windowStart = imageBase + (inYOrigin * w.inputWidth + inXOrigin) * channels
                let destination = output + (row * w.outputWidth + x) * channels
                while channel < fullBlocks {
                    var acc = interiorBiases.loadUnaligned(fromByteOffset: channel * 4, as: SIMD16<Int32>.self)
                    var weight = packedWeights + channel * 2
                    for tap in 0..<taps {
                        let values = UnsafeRawPointer(windowStart + offsets[tap] + channel).loadUnaligned(as: SIMD16<Int8>.self)
                        acc &+= widenedToInt32(widenedToInt16(values) &* weight.loadUnaligned(as: SIMD16<Int16>.self))
                        weight += paddedChannels * 2
                    }
                    UnsafeMutableRawPointer(destination + channel).storeBytes(
                        of: requantization.requantize(acc, channel: channel), as: SIMD16<Int8>.self)
                    channel += 16
                }
            }
            let firstX = max(0, (-inXOrigin + w.dilationWidth - 1) / w.dilationWidth)
            let endX = min(w.filterWidth, (w.inputWidth - inXOrigin + w.dilationWidth - 1) / w.dilationWidth)
            let destination = output + (row * w.outputWidth + x) * channels
            while channel < channels {
                let lanes = min(16, channels - channel)
                var acc = biases.loadUnaligned(fromByteOffset: channel * 4, as: SIMD16<Int32>.self)
                var filterY = firstY
                while filterY < endY {
                    let inY = inYOrigin + filterY * w.dilationHeight
                    let rowStart = imageBase + inY * w.inputWidth * channels + channel
                    var filterX = firstX
                    while filterX < endX {
                        let inX = inXOrigin + filterX * w.dilationWidth
                        let source = rowStart + inX * channels
                        var values: SIMD16<Int8>
                        if lanes == 16 {
                            values = UnsafeRawPointer(source).loadUnaligned(as: SIMD16<Int8>.self)
                        } else {
                            values = SIMD16<Int8>()
                            for lane in 0..<lanes { values[lane] = source[lane] }
                        }
                        let tap = filterY * w.filterWidth + filterX
                        let weight = packedWeights.loadUnaligned(
                            fromByteOffset: (tap * paddedChannels + channel) * 2, as: SIMD16<Int16>.self)
                        acc &+= widenedToInt32((widenedToInt16(values) &+ offset) &* weight)
                        filterX += 1
                    }
                    filterY += 1
                }
                let result = requantization.requantize(acc, channel: channel)
                if lanes == 16 {
                    UnsafeMutableRawPointer(destination + channel).storeBytes(of: result, as: SIMD16<Int8>.self)
                } else {
                    for lane in 0..<lanes { destination[channel + lane] = result[lane] }
                }
                channel += 16
            }
        }
    }
}
