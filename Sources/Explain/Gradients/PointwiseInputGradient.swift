import Inference

/// The input gradient of a 1x1, stride-1 CONV_2D as a float GEMM, `dX[P × inC] += dY[P × outC] · W[outC × inC]`
/// (most of the backward work of a MobileNet/EfficientNet).
///
/// The weights are packed once, when the backward pass is built, into panels of 16 input channels,
/// `[inC/16][outC][16]` (the last one zero-padded). The micro-kernel keeps a 4-pixel × 16-channel
/// tile of `dX` in registers over the whole `outC` sum while one contiguous panel streams past, so
/// `dX` is read and written once per panel instead of once per output channel as in an axpy loop.
/// Only the summation order and fused multiply-adds differ from the plain product (float rounding).
///
/// It is its own ``ParallelJob``: ``accumulate(outputGradient:pixels:into:pool:)`` sets the operands
/// and splits the pixel rows over the pool without allocating.
final class PointwiseInputGradient: ParallelJob {
    static let panelWidth = 16
    static let rowBlock = 4
    /// Pixel rows per sweep over all panels: their `dY` rows stay in cache while the panels pass.
    static let rowChunk = 64

    let inputChannels: Int
    let outputChannels: Int
    private let panels: [Float]

    // Operands of the current call, set before the tasks start and only read by them.
    private var outputGradient: UnsafePointer<Float>?
    private var inputGradient: UnsafeMutablePointer<Float>?
    private var pixels = 0
    private var taskCount = 1
    private var overwrite = false

    /// Packs `weights` (`[outC, inC]`, i.e. `[outC, 1, 1, inC]`); missing values read as zero.
    init(weights: UnsafeBufferPointer<Float>, inputChannels inC: Int, outputChannels outC: Int) {
        let inC = max(inC, 0), outC = max(outC, 0)
        inputChannels = inC
        outputChannels = outC
        let width = Self.panelWidth
        let panelCount = (inC + width - 1) / width
        var packed = [Float](repeating: 0, count: panelCount * outC * width)
        packed.withUnsafeMutableBufferPointer { p in
            for panel in 0..<panelCount {
                for oc in 0..<outC {
                    for lane in 0..<width {
                        let ic = panel * width + lane, source = oc * inC + ic
                        guard ic < inC, source < weights.count else { continue }
                        p[(panel * outC + oc) * width + lane] = weights[source]
                    }
                }
            }
        }
        panels = packed
    }

    /// `dX += dY · W` (or, with `overwrite`, `dX = dY · W`: the caller then need not zero `dX` first)
    /// for `pixels` rows; splits the rows over `pool` when the product pays for the hand-off.
    func accumulate(outputGradient dy: UnsafeBufferPointer<Float>, pixels: Int,
                    into dx: UnsafeMutableBufferPointer<Float>, pool: WorkerPool?, overwrite: Bool = false) {
        guard pixels > 0, inputChannels > 0, outputChannels > 0,
              dy.count >= pixels * outputChannels, dx.count >= pixels * inputChannels,
              let y = dy.baseAddress, let d = dx.baseAddress else {
            if overwrite { dx.update(repeating: 0) }
            return
        }
        let blocks = (pixels + Self.rowBlock - 1) / Self.rowBlock
        let threads = pool?.threadCount ?? 1
        let tasks = threads > 1 && pixels * inputChannels * outputChannels >= 1 << 18 ? min(blocks, threads * 4) : 1
        outputGradient = y
        inputGradient = d
        self.pixels = pixels
        taskCount = tasks
        self.overwrite = overwrite
        if let pool, tasks > 1 { pool.parallelFor(tasks, job: self) } else { run(task: 0) }
        outputGradient = nil
        inputGradient = nil
    }

    func run(task: Int) {
        guard let y = outputGradient, let d = inputGradient else { return }
        let blocks = (pixels + Self.rowBlock - 1) / Self.rowBlock
        let first = blocks * task / taskCount * Self.rowBlock
        let last = min(blocks * (task + 1) / taskCount * Self.rowBlock, pixels)
        let inC = inputChannels, outC = outputChannels, width = Self.panelWidth, overwrite = self.overwrite
        let panelCount = (inC + width - 1) / width
        panels.withUnsafeBufferPointer { packed in
            guard let w = packed.baseAddress else { return }
            var chunkStart = first
            while chunkStart < last {
                let chunkEnd = min(chunkStart &+ Self.rowChunk, last)
                for panel in 0..<panelCount {
                    let c0 = panel &* width, lanes = min(width, inC &- c0)
                    let panelBase = w + panel &* outC &* width
                    var p = chunkStart
                    while p &+ 4 <= chunkEnd {
                        Self.tile4(y + p &* outC, outC, panelBase, d + (p &* inC &+ c0), rowStride: inC, lanes: lanes,
                                   overwrite: overwrite)
                        p &+= 4
                    }
                    while p < chunkEnd {
                        Self.tile1(y + p &* outC, outC, panelBase, d + (p &* inC &+ c0), lanes: lanes, overwrite: overwrite)
                        p &+= 1
                    }
                }
                chunkStart = chunkEnd
            }
        }
    }

    /// Four pixel rows × one panel.
    @inline(__always)
    private static func tile4(_ y: UnsafePointer<Float>, _ outC: Int, _ panel: UnsafePointer<Float>,
                              _ d: UnsafeMutablePointer<Float>, rowStride: Int, lanes: Int, overwrite: Bool) {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        let y1 = y + outC, y2 = y1 + outC, y3 = y2 + outC
        let raw = UnsafeRawPointer(panel)
        var oc = 0
        while oc < outC {
            let w = raw.loadUnaligned(fromByteOffset: oc &* 64, as: SIMD16<Float>.self)
            a0 = a0.addingProduct(y[oc], w)
            a1 = a1.addingProduct(y1[oc], w)
            a2 = a2.addingProduct(y2[oc], w)
            a3 = a3.addingProduct(y3[oc], w)
            oc &+= 1
        }
        store(a0, d, lanes: lanes, overwrite: overwrite)
        store(a1, d + rowStride, lanes: lanes, overwrite: overwrite)
        store(a2, d + 2 &* rowStride, lanes: lanes, overwrite: overwrite)
        store(a3, d + 3 &* rowStride, lanes: lanes, overwrite: overwrite)
    }

    /// One pixel row × one panel (the rows left over by ``tile4``).
    @inline(__always)
    private static func tile1(_ y: UnsafePointer<Float>, _ outC: Int, _ panel: UnsafePointer<Float>,
                              _ d: UnsafeMutablePointer<Float>, lanes: Int, overwrite: Bool) {
        var a = SIMD16<Float>()
        let raw = UnsafeRawPointer(panel)
        var oc = 0
        while oc < outC {
            a = a.addingProduct(y[oc], raw.loadUnaligned(fromByteOffset: oc &* 64, as: SIMD16<Float>.self))
            oc &+= 1
        }
        store(a, d, lanes: lanes, overwrite: overwrite)
    }

    /// `d[0..<lanes] += a[0..<lanes]`, or `=` with `overwrite`.
    @inline(__always)
    private static func store(_ a: SIMD16<Float>, _ d: UnsafeMutablePointer<Float>, lanes: Int, overwrite: Bool) {
        if lanes == 16 {
            let raw = UnsafeMutableRawPointer(d)
            raw.storeBytes(of: overwrite ? a : raw.loadUnaligned(as: SIMD16<Float>.self) + a, as: SIMD16<Float>.self)
        } else if overwrite {
            for lane in 0..<lanes { d[lane] = a[lane] }
        } else {
            for lane in 0..<lanes { d[lane] += a[lane] }
        }
    }
}
