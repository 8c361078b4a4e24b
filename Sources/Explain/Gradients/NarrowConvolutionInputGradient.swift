import Inference

/// The input gradient of a CONV_2D with few input channels (a stem convolution on RGB), computed
/// per *input* pixel (a gather): `dX[n, iy, ix, ic] += Σ over the taps reading (iy, ix) of
/// dY[n, oy, ox, :] · W[:, ky, kx, ic]`.
///
/// With 3 input channels the general loop (an axpy of length `inC` per output channel) cannot
/// fill a vector; here the weights are transposed to `[kH, kW, inC, outC]` so each term is a dot
/// product over the output channels, summed in 8 lanes across all taps before one horizontal
/// add. Every task owns whole input rows (``WindowReaders``), so the rows split over a worker
/// pool without races. The oracle is ``ConvolutionGradient/input(outputGradient:weights:geometry:inputChannels:outputChannels:into:pool:)``;
/// only the summation order differs (float rounding).
final class NarrowConvolutionInputGradient: ParallelJob {
    let geometry: WindowGeometry2D
    let inputChannels: Int
    let outputChannels: Int
    /// `[kH, kW, inC, outC]`.
    private let transposed: [Float]
    private let readers: WindowReaders

    // Operands of the current call, set before the tasks start and only read by them.
    private var outputGradient: UnsafePointer<Float>?
    private var inputGradient: UnsafeMutablePointer<Float>?
    private var taskCount = 1

    /// `weights`: the layer's dequantized `[outC, kH, kW, inC]` values; missing ones read as zero.
    init(weights: [Float], geometry g: WindowGeometry2D, inputChannels inC: Int, outputChannels outC: Int) {
        geometry = g
        inputChannels = max(inC, 0)
        outputChannels = max(outC, 0)
        let taps = g.filterHeight * g.filterWidth
        var transposed = [Float](repeating: 0, count: taps * inputChannels * outputChannels)
        for oc in 0..<outputChannels {
            for tap in 0..<taps {
                for ic in 0..<inputChannels {
                    let source = (oc * taps + tap) * inputChannels + ic
                    if source < weights.count { transposed[(tap * inputChannels + ic) * outputChannels + oc] = weights[source] }
                }
            }
        }
        self.transposed = transposed
        readers = WindowReaders(g)
    }

    /// `dX += ∂/∂X` for the output gradient `dy`; splits the input rows over `pool` when the work pays for the hand-off.
    func accumulate(outputGradient dy: UnsafeBufferPointer<Float>, into dx: UnsafeMutableBufferPointer<Float>,
                    pool: WorkerPool?) {
        let g = geometry
        guard inputChannels > 0, outputChannels > 0, g.batch > 0, g.strideHeight > 0, g.strideWidth > 0,
              dy.count >= g.batch * g.outputHeight * g.outputWidth * outputChannels,
              dx.count >= g.batch * g.inputHeight * g.inputWidth * inputChannels,
              let y = dy.baseAddress, let d = dx.baseAddress else { return }
        let rows = g.batch * g.inputHeight
        let work = g.batch * g.outputHeight * g.outputWidth * outputChannels * inputChannels * g.filterHeight * g.filterWidth
        let threads = pool?.threadCount ?? 1
        let tasks = threads > 1 && work >= 1 << 16 ? min(rows, threads * 4) : 1
        outputGradient = y
        inputGradient = d
        taskCount = tasks
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
        let inC = inputChannels, outC = outputChannels
        let readers = self.readers
        transposed.withUnsafeBufferPointer { wb in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * readers.maximumTaps) { tapList in
                guard let w = wb.baseAddress, let list = tapList.baseAddress else { return }
                for row in first..<last {
                    let n = row / g.inputHeight, iy = row % g.inputHeight
                    for ix in 0..<g.inputWidth {
                        let count = readers.taps(n: n, iy: iy, ix: ix, outputStride: outC, tapStride: inC &* outC, into: list)
                        guard count > 0 else { continue }
                        let destination = d + ((n &* g.inputHeight &+ iy) &* g.inputWidth &+ ix) &* inC
                        for ic in 0..<inC {
                            destination[ic] += Self.dot(y, w + ic &* outC, list, taps: count, length: outC)
                        }
                    }
                }
            }
        }
    }

    /// `Σ_t Σ_k y[dyOffset_t + k] · w[wOffset_t + k]` for `k < length`, in 8 lanes.
    @inline(__always)
    private static func dot(_ y: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ list: UnsafePointer<Int>,
                            taps: Int, length: Int) -> Float {
        var sum = SIMD8<Float>()
        var tail: Float = 0
        for t in 0..<taps {
            let yp = y + list[2 &* t], wp = w + list[2 &* t &+ 1]
            var k = 0
            while k &+ 8 <= length {
                sum = sum.addingProduct(UnsafeRawPointer(yp + k).loadUnaligned(as: SIMD8<Float>.self),
                                        UnsafeRawPointer(wp + k).loadUnaligned(as: SIMD8<Float>.self))
                k &+= 8
            }
            while k < length {
                tail += yp[k] * wp[k]
                k &+= 1
            }
        }
        return sum.sum() + tail
    }
}
