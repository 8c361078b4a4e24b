/// Where a 2-D sliding window (convolution, depthwise convolution, pool) reads its input,
/// over NHWC tensors.
///
/// Output pixel `(oy, ox)` reads input rows `oy * strideHeight - padTop + ky * dilationHeight`
/// for `ky` in `0..<filterHeight` (columns alike); taps outside the input read nothing, which
/// is what TFLite's int8 kernels do (they skip them, i.e. pad with the input zero point = real 0).
struct WindowGeometry2D: Sendable, Equatable {
    var batch: Int
    var inputHeight: Int, inputWidth: Int
    var outputHeight: Int, outputWidth: Int
    var filterHeight: Int, filterWidth: Int
    var strideHeight: Int, strideWidth: Int
    var dilationHeight: Int = 1, dilationWidth: Int = 1
    var padTop: Int, padLeft: Int

    /// TFLite's padding rule (`kernels/padding.h`): SAME gives `ceil(in / stride)` outputs and
    /// splits the total padding with the odd element at the end; VALID pads nothing.
    static func leadingPadding(same: Bool, inputSize: Int, outputSize: Int, filterSize: Int,
                               stride: Int, dilation: Int) -> Int {
        guard same else { return 0 }
        let effective = (filterSize - 1) * dilation + 1
        return max((outputSize - 1) * stride + effective - inputSize, 0) / 2
    }
}

/// Which output pixels read each input pixel of a ``WindowGeometry2D``, and through which tap:
/// the index a backward kernel needs to compute an input gradient per input pixel (a gather),
/// so that each input row is written by one task only. Depends only on the geometry; tabulated once.
struct WindowReaders: Sendable {
    let geometry: WindowGeometry2D
    /// Per input row `iy`: the `(ky, oy)` with `oy * strideH - padTop + ky * dilationH == iy`, at
    /// `rowTaps[iy * kH + j]` for `j < rowCounts[iy]`, encoded `ky * outH + oy`. Columns alike.
    private let rowTaps: [Int]
    private let rowCounts: [Int]
    private let columnTaps: [Int]
    private let columnCounts: [Int]

    init(_ g: WindowGeometry2D) {
        geometry = g
        (rowTaps, rowCounts) = Self.taps(inputSize: g.inputHeight, outputSize: g.outputHeight, filter: g.filterHeight,
                                         stride: g.strideHeight, dilation: g.dilationHeight, padding: g.padTop)
        (columnTaps, columnCounts) = Self.taps(inputSize: g.inputWidth, outputSize: g.outputWidth, filter: g.filterWidth,
                                               stride: g.strideWidth, dilation: g.dilationWidth, padding: g.padLeft)
    }

    /// The most taps any input pixel has (the capacity of a tap list).
    var maximumTaps: Int { max(geometry.filterHeight * geometry.filterWidth, 1) }

    /// For each input index on one axis, the `(k, o)` pairs (encoded `k * outputSize + o`) whose window reads it.
    private static func taps(inputSize: Int, outputSize: Int, filter: Int, stride: Int, dilation: Int,
                             padding: Int) -> ([Int], [Int]) {
        let inputSize = max(inputSize, 0), filter = max(filter, 0)
        var taps = [Int](repeating: 0, count: inputSize * filter)
        var counts = [Int](repeating: 0, count: inputSize)
        guard stride > 0 else { return (taps, counts) }
        for i in 0..<inputSize {
            for k in 0..<filter {
                let t = i + padding - k * dilation
                guard t >= 0, t % stride == 0, t / stride < outputSize else { continue }
                taps[i * filter + counts[i]] = k * outputSize + t / stride
                counts[i] += 1
            }
        }
        return (taps, counts)
    }

    /// Writes the taps reading input pixel `(n, iy, ix)` into `list` as pairs: the offset of the
    /// output pixel's row in the output (`× outputStride`), and the offset of the tap (`× tapStride`).
    /// Returns how many; `list` must hold `2 * maximumTaps` values.
    @inline(__always)
    func taps(n: Int, iy: Int, ix: Int, outputStride: Int, tapStride: Int, into list: UnsafeMutablePointer<Int>) -> Int {
        let g = geometry
        let kH = g.filterHeight, kW = g.filterWidth, outH = g.outputHeight, outW = g.outputWidth
        var count = 0
        for r in 0..<rowCounts[iy] {
            let code = rowTaps[iy * kH + r]
            let ky = code / outH, oy = code % outH
            for c in 0..<columnCounts[ix] {
                let columnCode = columnTaps[ix * kW + c]
                let kx = columnCode / outW, ox = columnCode % outW
                list[2 &* count] = ((n &* outH &+ oy) &* outW &+ ox) &* outputStride
                list[2 &* count &+ 1] = (ky &* kW &+ kx) &* tapStride
                count &+= 1
            }
        }
        return count
    }
}
