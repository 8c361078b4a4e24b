/// Copies `count` int8 values to int16 (sign-extended), 16 at a time.
@inline(__always)
func widenRow(_ source: UnsafePointer<Int8>, count: Int, into destination: UnsafeMutablePointer<Int16>) {
    var i = 0
    while i + 16 <= count {
        let v = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD16<Int8>.self)
        UnsafeMutableRawPointer(destination + i).storeBytes(of: widenedToInt16(v), as: SIMD16<Int16>.self)
        i += 16
    }
    if i + 8 <= count {
        let v = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Int8>.self)
        UnsafeMutableRawPointer(destination + i).storeBytes(of: widenedToInt16(v), as: SIMD8<Int16>.self)
        i += 8
    }
    while i < count {
        destination[i] = Int16(source[i])
        i += 1
    }
}

/// Where the GEMM's left-hand rows come from.
enum GemmRows {
    /// Row `m` is `depth` contiguous int8 values at `start + m * stride` (1x1 stride-1
    /// convolutions, fully connected layers).
    case contiguous(UnsafePointer<Int8>, stride: Int)
    /// Row `m` is output pixel `m`'s window of a convolution (im2col), padded positions
    /// holding the input zero point so that they contribute nothing after folding.
    case window(UnsafePointer<Int8>, ConvolutionWindow)

    /// Writes row `m` (of `depth` values) as int16 into `destination`, with a zero after an odd depth.
    @inline(__always)
    func pack(_ m: Int, depth: Int, into destination: UnsafeMutablePointer<Int16>) {
        switch self {
        case let .contiguous(start, stride):
            widenRow(start + m * stride, count: depth, into: destination)
        case let .window(input, p):
            let x = m % p.outputWidth, yb = m / p.outputWidth
            let y = yb % p.outputHeight, batch = yb / p.outputHeight
            let zeroPoint = Int16(truncatingIfNeeded: -p.inputOffset)
            var d = destination
            let inXOrigin = x * p.strideWidth - p.paddingLeft
            // With dilation 1 and the window's columns inside the image, a window row is one
            // contiguous run of filterWidth * inputDepth values (OHWI order matches NHWC).
            let rowIsContiguous = p.dilationWidth == 1 && inXOrigin >= 0 && inXOrigin + p.filterWidth <= p.inputWidth
            for filterY in 0..<p.filterHeight {
                let inY = y * p.strideHeight - p.paddingTop + filterY * p.dilationHeight
                if rowIsContiguous {
                    let count = p.filterWidth * p.inputDepth
                    if inY >= 0, inY < p.inputHeight {
                        widenRow(input + ((batch * p.inputHeight + inY) * p.inputWidth + inXOrigin) * p.inputDepth,
                                 count: count, into: d)
                    } else {
                        d.update(repeating: zeroPoint, count: count)
                    }
                    d += count
                    continue
                }
                for filterX in 0..<p.filterWidth {
                    let inX = x * p.strideWidth - p.paddingLeft + filterX * p.dilationWidth
                    if inY >= 0, inY < p.inputHeight, inX >= 0, inX < p.inputWidth {
                        widenRow(input + ((batch * p.inputHeight + inY) * p.inputWidth + inX) * p.inputDepth,
                                 count: p.inputDepth, into: d)
                    } else {
                        d.update(repeating: zeroPoint, count: p.inputDepth)
                    }
                    d += p.inputDepth
                }
            }
        }
        if depth % 2 == 1 { destination[depth] = 0 }
    }
}

/// The geometry of a convolution's input windows, without the arrays of
/// ``Conv2DParameters`` (so passing it around costs no reference counting).
struct ConvolutionWindow: Sendable {
    var inputHeight, inputWidth, inputDepth: Int
    var filterHeight, filterWidth: Int
    var outputHeight, outputWidth: Int
    var strideHeight, strideWidth: Int
    var dilationHeight, dilationWidth: Int
    var paddingTop, paddingLeft: Int
    var inputOffset: Int32

    init(_ p: Conv2DParameters) {
        (inputHeight, inputWidth, inputDepth) = (p.inputHeight, p.inputWidth, p.inputDepth)
        (filterHeight, filterWidth) = (p.filterHeight, p.filterWidth)
        (outputHeight, outputWidth) = (p.outputHeight, p.outputWidth)
        (strideHeight, strideWidth) = (p.strideHeight, p.strideWidth)
        (dilationHeight, dilationWidth) = (p.dilationHeight, p.dilationWidth)
        (paddingTop, paddingLeft) = (p.paddingTop, p.paddingLeft)
        inputOffset = p.inputOffset
    }
}
