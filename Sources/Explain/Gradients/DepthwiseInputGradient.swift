import Inference

/// The input gradient of a DEPTHWISE_CONV_2D, computed per *input* pixel (a gather):
/// `dX[n, iy, ix, c] += Σ over the taps (ky, kx) that read (iy, ix) of dY[n, oy, ox, c] · W[ky, kx, c]`
/// (depth multiplier 1; with multiplier M the sum also runs over output channels `c·M ..< c·M + M`).
///
/// The scatter form (``ConvolutionGradient/depthwiseInput(outputGradient:weights:geometry:inputChannels:depthMultiplier:into:)``,
/// kept as the oracle) reads and writes a `dX` row once per tap; here each `dX` row is read and
/// written once, the tap sums stay in registers (4 × 8 channels at a time), and since every task
/// owns whole input rows, the rows split over a worker pool without races. Which output pixels
/// read an input pixel depends only on the geometry, so it is tabulated once (``WindowReaders``).
/// Only the summation order differs from the scalar oracle (float rounding).
///
/// It is its own ``ParallelJob``: ``accumulate(outputGradient:into:pool:)`` sets the operands and
/// runs without allocating (the per-task tap list lives on the stack).
final class DepthwiseInputGradient: ParallelJob {
    let geometry: WindowGeometry2D
    let inputChannels: Int
    let depthMultiplier: Int
    /// `[kH, kW, inC * multiplier]`, as in the model.
    private let weights: [Float]
    private let readers: WindowReaders

    // Operands of the current call, set before the tasks start and only read by them.
    private var outputGradient: UnsafePointer<Float>?
    private var inputGradient: UnsafeMutablePointer<Float>?
    private var taskCount = 1
    private var overwrite = false

    /// `weights` are the layer's dequantized `[1, kH, kW, inC * depthMultiplier]` values; missing ones read as zero.
    init(weights: [Float], geometry g: WindowGeometry2D, inputChannels: Int, depthMultiplier: Int) {
        geometry = g
        self.inputChannels = max(inputChannels, 0)
        self.depthMultiplier = max(depthMultiplier, 1)
        let count = g.filterHeight * g.filterWidth * self.inputChannels * self.depthMultiplier
        self.weights = weights.count >= count ? weights : weights + [Float](repeating: 0, count: count - weights.count)
        readers = WindowReaders(g)
    }

    /// `dX += ∂/∂X` (or, with `overwrite`, `dX = ∂/∂X`: the caller then need not zero `dX` first)
    /// for the output gradient `dy`; splits the input rows over `pool` when the work pays for the hand-off.
    func accumulate(outputGradient dy: UnsafeBufferPointer<Float>, into dx: UnsafeMutableBufferPointer<Float>,
                    pool: WorkerPool?, overwrite: Bool = false) {
        let g = geometry
        let outC = inputChannels * depthMultiplier
        guard inputChannels > 0, g.batch > 0, g.strideHeight > 0, g.strideWidth > 0,
              dy.count >= g.batch * g.outputHeight * g.outputWidth * outC,
              dx.count >= g.batch * g.inputHeight * g.inputWidth * inputChannels,
              let y = dy.baseAddress, let d = dx.baseAddress else {
            if overwrite { dx.update(repeating: 0) }
            return
        }
        let rows = g.batch * g.inputHeight
        let work = g.batch * g.outputHeight * g.outputWidth * outC * g.filterHeight * g.filterWidth
        let threads = pool?.threadCount ?? 1
        let tasks = threads > 1 && work >= 1 << 16 ? min(rows, threads * 4) : 1
        outputGradient = y
        inputGradient = d
        taskCount = tasks
        self.overwrite = overwrite
        if let pool, tasks > 1 { pool.parallelFor(tasks, job: self) } else { run(task: 0) }
        outputGradient = nil
        inputGradient = nil
    }

    func run(task: Int) {
        guard let y = outputGradient, let d = inputGradient else { return }
        let g = geometry
        let rows = g.batch * g.inputHeight
        let first = rows * task / taskCount, last = rows * (task + 1) / taskCount
        guard first < last else { return }
        let inC = inputChannels, outC = inC * depthMultiplier
        let readers = self.readers, overwrite = self.overwrite
        weights.withUnsafeBufferPointer { wb in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * readers.maximumTaps) { tapList in
                guard let w = wb.baseAddress, let list = tapList.baseAddress else { return }
                for row in first..<last {
                    let n = row / g.inputHeight, iy = row % g.inputHeight
                    for ix in 0..<g.inputWidth {
                        let count = readers.taps(n: n, iy: iy, ix: ix, outputStride: outC, tapStride: outC, into: list)
                        let destination = d + ((n &* g.inputHeight &+ iy) &* g.inputWidth &+ ix) &* inC
                        if count == 0 {
                            // Read by no window (e.g. a stride skips it): its gradient is 0.
                            if overwrite { destination.update(repeating: 0, count: inC) }
                        } else if depthMultiplier == 1 {
                            Self.gather(y, w, list, taps: count, channels: inC, into: destination, overwrite: overwrite)
                        } else {
                            Self.gatherMultiplied(y, w, list, taps: count, channels: inC, multiplier: depthMultiplier,
                                                  into: destination, overwrite: overwrite)
                        }
                    }
                }
            }
        }
    }

    /// `d[c] += Σ_t y[dyOffset_t + c] · w[wOffset_t + c]` for `c < channels` (multiplier 1).
    @inline(__always)
    private static func gather(_ y: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ list: UnsafePointer<Int>,
                               taps: Int, channels: Int, into d: UnsafeMutablePointer<Float>, overwrite: Bool) {
        var c = 0
        while c &+ 32 <= channels {
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            for t in 0..<taps {
                let yp = UnsafeRawPointer(y + (list[2 &* t] &+ c)), wp = UnsafeRawPointer(w + (list[2 &* t &+ 1] &+ c))
                a0 = a0.addingProduct(yp.loadUnaligned(as: SIMD8<Float>.self), wp.loadUnaligned(as: SIMD8<Float>.self))
                a1 = a1.addingProduct(yp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self),
                                      wp.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(yp.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self),
                                      wp.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(yp.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self),
                                      wp.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
            }
            let out = UnsafeMutableRawPointer(d + c)
            if !overwrite {
                a0 += out.loadUnaligned(as: SIMD8<Float>.self)
                a1 += out.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                a2 += out.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                a3 += out.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
            }
            out.storeBytes(of: a0, as: SIMD8<Float>.self)
            out.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
            out.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
            out.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
            c &+= 32
        }
        while c &+ 8 <= channels {
            var a = SIMD8<Float>()
            for t in 0..<taps {
                a = a.addingProduct(UnsafeRawPointer(y + (list[2 &* t] &+ c)).loadUnaligned(as: SIMD8<Float>.self),
                                    UnsafeRawPointer(w + (list[2 &* t &+ 1] &+ c)).loadUnaligned(as: SIMD8<Float>.self))
            }
            let out = UnsafeMutableRawPointer(d + c)
            out.storeBytes(of: overwrite ? a : out.loadUnaligned(as: SIMD8<Float>.self) + a, as: SIMD8<Float>.self)
            c &+= 8
        }
        while c < channels {
            var sum: Float = 0
            for t in 0..<taps { sum += y[list[2 &* t] &+ c] * w[list[2 &* t &+ 1] &+ c] }
            d[c] = overwrite ? sum : d[c] + sum
            c &+= 1
        }
    }

    /// Multiplier `m > 1`: input channel `c` sums output channels `c·m ..< c·m + m` of every tap.
    @inline(__always)
    private static func gatherMultiplied(_ y: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ list: UnsafePointer<Int>,
                                         taps: Int, channels: Int, multiplier m: Int, into d: UnsafeMutablePointer<Float>,
                                         overwrite: Bool) {
        for c in 0..<channels {
            var sum: Float = 0
            for t in 0..<taps {
                let yBase = list[2 &* t] &+ c &* m, wBase = list[2 &* t &+ 1] &+ c &* m
                for k in 0..<m { sum += y[yBase &+ k] * w[wBase &+ k] }
            }
            d[c] = overwrite ? sum : d[c] + sum
        }
    }
}
