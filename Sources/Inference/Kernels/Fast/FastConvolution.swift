/// CONV_2D (groups = 1) as one ``QuantizedGemm``: M = output pixels, K = filter window x
/// input depth, N = output channels. 1x1 stride-1 convolutions read input pixels as GEMM
/// rows directly; other shapes gather each output pixel's window (im2col, padded with the
/// input zero point) into the task's scratch rows. Convolutions of at most
/// ``DirectStemConv2D/maximumInputDepth`` input channels (a network's stem) skip the GEMM
/// and run ``DirectStemConv2D``. Matches `ReferenceKernels.conv2D`.
struct FastConv2D: Sendable {
    /// What computes the convolution: one of the two, so that a layer the direct kernel takes
    /// packs no GEMM weights and allocates no im2col scratch.
    private enum Kernel: Sendable {
        case gemm(QuantizedGemm)
        case direct(DirectStemConv2D)
    }
    private let kernel: Kernel
    let window: ConvolutionWindow
    let pointwise: Bool
    let rowCount: Int

    /// Nil when the fast path does not cover `p` (grouped convolutions, shifts out of range).
    /// `allowsAVX512VNNI: false` keeps the AVX2 microkernel on a VNNI machine, `allowsDirect:
    /// false` the GEMM for few input channels (for tests of each).
    init?(_ p: Conv2DParameters, filter: [Int8], bias: [Int32]?, allowsAVX512VNNI: Bool = true, allowsDirect: Bool = true) {
        guard p.filterInputDepth == p.inputDepth,
              ChannelRequantization.covers(p.outputMultipliers)
        else { return nil }
        let depth = p.filterHeight * p.filterWidth * p.inputDepth
        guard filter.count == p.outputDepth * depth, bias.map({ $0.count == p.outputDepth }) ?? true else { return nil }
        window = ConvolutionWindow(p)
        pointwise = p.filterHeight == 1 && p.filterWidth == 1 && p.strideHeight == 1 && p.strideWidth == 1
            && p.paddingTop == 0 && p.paddingLeft == 0 && p.outputHeight == p.inputHeight && p.outputWidth == p.inputWidth
        rowCount = p.batches * p.outputHeight * p.outputWidth
        if allowsDirect, !pointwise, let direct = DirectStemConv2D(p, filter: filter, bias: bias) {
            kernel = .direct(direct)
            return
        }
        let requantization = ChannelRequantization(p.outputMultipliers, outputOffset: p.outputOffset, activation: p.activation)
        let weights = filter.withUnsafeBufferPointer { filter in
            bias.withUnsafeBufferPointerIfPresent { bias in
                PackedGemmWeights(filter: filter, outputs: p.outputDepth, depth: depth, bias: bias, inputOffset: p.inputOffset)
            }
        }
        kernel = .gemm(QuantizedGemm(weights: weights, requantization: .fixedPoint(requantization), allowsAVX512VNNI: allowsAVX512VNNI))
    }

    /// The GEMM, when it computes this convolution.
    var gemm: QuantizedGemm? {
        if case let .gemm(gemm) = kernel { gemm } else { nil }
    }

    /// The direct kernel, when it computes this convolution (few input channels).
    var direct: DirectStemConv2D? {
        if case let .direct(direct) = kernel { direct } else { nil }
    }

    func run(input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>, pool: WorkerPool?) {
        switch kernel {
        case let .direct(direct):
            direct.run(input: input, output: output, pool: pool)
        case let .gemm(gemm):
            let rows: GemmRows = pointwise ? .contiguous(input, stride: window.inputDepth) : .window(input, window)
            gemm.run(rows, rowCount: rowCount, output: output, pool: pool)
        }
    }
}

/// FULLY_CONNECTED as one ``QuantizedGemm`` (M = batches), with the oracle's double-precision
/// requantization. Matches `ReferenceKernels.fullyConnected` for symmetric weights (filter
/// offset 0; other layers keep the reference kernel, since `filterOffset * Σx` cannot be folded).
struct FastFullyConnected: Sendable {
    let gemm: QuantizedGemm
    let batches: Int
    let accumulationDepth: Int

    init?(_ p: FullyConnectedParameters, filter: [Int8], bias: [Int32]?) {
        guard p.filterOffset == 0, filter.count == p.outputDepth * p.accumulationDepth,
              bias.map({ $0.count == p.outputDepth }) ?? true, p.effectiveScales.count == p.outputDepth
        else { return nil }
        let weights = filter.withUnsafeBufferPointer { filter in
            bias.withUnsafeBufferPointerIfPresent { bias in
                PackedGemmWeights(filter: filter, outputs: p.outputDepth, depth: p.accumulationDepth, bias: bias,
                                  inputOffset: p.inputOffset)
            }
        }
        gemm = QuantizedGemm(weights: weights, requantization: .doubleScale(
            scales: p.effectiveScales, outputOffset: p.outputOffset, activation: p.activation))
        batches = p.batches
        accumulationDepth = p.accumulationDepth
    }

    func run(input: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>, pool: WorkerPool?) {
        gemm.run(.contiguous(input, stride: accumulationDepth), rowCount: batches, output: output, pool: pool)
    }
}

extension Optional {
    /// `withUnsafeBufferPointer` on an optional array: the body gets nil for nil.
    @inline(__always)
    func withUnsafeBufferPointerIfPresent<Element, R>(_ body: (UnsafeBufferPointer<Element>?) -> R) -> R
    where Wrapped == [Element] {
        switch self {
        case let .some(array): return array.withUnsafeBufferPointer { body($0) }
        case .none: return body(nil)
        }
    }
}
