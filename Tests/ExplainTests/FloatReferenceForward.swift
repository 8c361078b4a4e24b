import Foundation
import Inference
import Testing

/// A plain float64 forward pass of the ops the backward pass supports, written straight from
/// the TFLite op definitions, for finite-difference checks only. It shares no code with the
/// int8 engine or with the gradients under test.
struct FloatReferenceForward {
    let model: Model

    /// Real values of a float32 constant.
    func constant(_ tensor: Int) -> [Double] {
        (try? model.floatConstant(tensor).map(Double.init)) ?? []
    }

    func integers(_ tensor: Int) -> [Int] {
        ((try? model.constant(tensor, as: Int32.self)) ?? []).map(Int.init)
    }

    /// Every tensor's value after running the graph on `input`.
    func run(_ input: [Double]) -> [Int: [Double]] {
        var values: [Int: [Double]] = [model.inputs[0]: input]
        func value(_ t: Int) -> [Double] { model.tensors[t].isConstant ? constant(t) : values[t] ?? [] }
        for op in model.operators {
            let out = op.outputs[0]
            let outShape = model.tensors[out].shape
            let x = value(op.inputs[0])
            let inShape = model.tensors[op.inputs[0]].shape
            var y: [Double]
            switch op.code {
            case .conv2D, .depthwiseConv2D:
                guard case let .convolution(o) = op.options else { Issue.record("test graph: \(op.name) lacks its options"); return values }
                let w = constant(op.inputs[1]), fs = model.tensors[op.inputs[1]].shape
                let b = op.inputs.count > 2 && op.inputs[2] >= 0 ? constant(op.inputs[2]) : [Double](repeating: 0, count: outShape[3])
                y = convolve(x, inShape, w, fs, b, outShape, o, depthwise: op.code == .depthwiseConv2D)
                y = clamp(y, o.activation)
            case .fullyConnected:
                let w = constant(op.inputs[1]), fs = model.tensors[op.inputs[1]].shape
                let rows = x.count / fs[1]
                y = (0..<(rows * fs[0])).map { i in
                    let r = i / fs[0], o = i % fs[0]
                    return (0..<fs[1]).reduce(0.0) { $0 + x[r * fs[1] + $1] * w[o * fs[1] + $1] }
                }
                if case let .fullyConnected(o) = op.options { y = clamp(y, o.activation) }
            case .add, .sub, .mul:
                let x2 = value(op.inputs[1]), s2 = model.tensors[op.inputs[1]].shape
                y = broadcast(x, inShape, x2, s2, outShape) { a, b in
                    op.code == .add ? a + b : (op.code == .sub ? a - b : a * b)
                }
                if case let .elementwise(activation) = op.options { y = clamp(y, activation) }
            case .mean:
                let axes = Set(integers(op.inputs[1]).map { $0 < 0 ? $0 + inShape.count : $0 })
                var sums = [Double](repeating: 0, count: outShape.reduce(1, *))
                let reduced = axes.reduce(1) { $0 * inShape[$1] }
                forEachIndex(inShape) { flat, index in
                    var o = 0
                    for d in inShape.indices where !axes.contains(d) { o = o * inShape[d] + index[d] }
                    sums[o] += x[flat] / Double(reduced)
                }
                y = sums
            case .averagePool2D, .maxPool2D:
                guard case let .pool(o) = op.options else { Issue.record("test graph: \(op.name) lacks its options"); return values }
                y = pool(x, inShape, outShape, o, max: op.code == .maxPool2D)
            case .pad:
                let p = integers(op.inputs[1])
                y = [Double](repeating: 0, count: outShape.reduce(1, *))
                forEachIndex(inShape) { flat, index in
                    var o = 0
                    for d in inShape.indices { o = o * outShape[d] + index[d] + p[2 * d] }
                    y[o] = x[flat]
                }
            case .concatenation:
                guard case let .concatenation(a, _) = op.options else { Issue.record("test graph: \(op.name) lacks its options"); return values }
                let axis = a < 0 ? a + outShape.count : a
                let outer = outShape[..<axis].reduce(1, *), inner = outShape[(axis + 1)...].reduce(1, *)
                y = []
                for o in 0..<outer {
                    for t in op.inputs {
                        let s = model.tensors[t].shape[axis] * inner
                        y += value(t)[(o * s)..<((o + 1) * s)]
                    }
                }
            case .reshape, .squeeze, .quantize, .dequantize:
                y = x
            case .relu: y = x.map { max($0, 0) }
            case .relu6: y = x.map { min(max($0, 0), 6) }
            case .reluN1To1: y = x.map { min(max($0, -1), 1) }
            case .hardSwish: y = x.map { $0 * min(max($0 + 3, 0), 6) / 6 }
            case .logistic: y = x.map { 1 / (1 + exp(-$0)) }
            case .softmax:
                guard case let .softmax(beta) = op.options else { Issue.record("test graph: \(op.name) lacks its options"); return values }
                let depth = outShape.last ?? 1
                y = []
                for r in 0..<(x.count / depth) {
                    let row = x[(r * depth)..<((r + 1) * depth)].map { Double(beta) * $0 }
                    let m = row.max() ?? 0
                    let e = row.map { exp($0 - m) }
                    let s = e.reduce(0, +)
                    y += e.map { $0 / s }
                }
            default:
                Issue.record("no float reference for \(op.name)")
                return values
            }
            values[out] = y
        }
        return values
    }

    func clamp(_ y: [Double], _ activation: FusedActivation) -> [Double] {
        switch activation {
        case .relu: return y.map { max($0, 0) }
        case .relu6: return y.map { min(max($0, 0), 6) }
        case .reluN1To1: return y.map { min(max($0, -1), 1) }
        default: return y
        }
    }

    func padding(_ same: Bool, _ input: Int, _ output: Int, _ filter: Int, _ stride: Int, _ dilation: Int) -> Int {
        same ? max((output - 1) * stride + (filter - 1) * dilation + 1 - input, 0) / 2 : 0
    }

    func convolve(_ x: [Double], _ s: [Int], _ w: [Double], _ fs: [Int], _ b: [Double], _ os: [Int],
                  _ o: ConvolutionOptions, depthwise: Bool) -> [Double] {
        let pt = padding(o.padding == .same, s[1], os[1], fs[1], o.strideHeight, o.dilationHeight)
        let pl = padding(o.padding == .same, s[2], os[2], fs[2], o.strideWidth, o.dilationWidth)
        var y = [Double](repeating: 0, count: os.reduce(1, *))
        for oy in 0..<os[1] { for ox in 0..<os[2] { for oc in 0..<os[3] {
            var sum = b[oc]
            for ky in 0..<fs[1] { for kx in 0..<fs[2] {
                let iy = oy * o.strideHeight - pt + ky * o.dilationHeight
                let ix = ox * o.strideWidth - pl + kx * o.dilationWidth
                guard iy >= 0, iy < s[1], ix >= 0, ix < s[2] else { continue }
                if depthwise {
                    let ic = oc / (os[3] / s[3])
                    sum += x[(iy * s[2] + ix) * s[3] + ic] * w[(ky * fs[2] + kx) * fs[3] + oc]
                } else {
                    for ic in 0..<s[3] { sum += x[(iy * s[2] + ix) * s[3] + ic] * w[((oc * fs[1] + ky) * fs[2] + kx) * fs[3] + ic] }
                }
            } }
            y[(oy * os[2] + ox) * os[3] + oc] = sum
        } } }
        return y
    }

    func pool(_ x: [Double], _ s: [Int], _ os: [Int], _ o: PoolOptions, max isMax: Bool) -> [Double] {
        let pt = padding(o.padding == .same, s[1], os[1], o.filterHeight, o.strideHeight, 1)
        let pl = padding(o.padding == .same, s[2], os[2], o.filterWidth, o.strideWidth, 1)
        var y = [Double](repeating: 0, count: os.reduce(1, *))
        for oy in 0..<os[1] { for ox in 0..<os[2] { for c in 0..<os[3] {
            var values: [Double] = []
            for ky in 0..<o.filterHeight { for kx in 0..<o.filterWidth {
                let iy = oy * o.strideHeight - pt + ky, ix = ox * o.strideWidth - pl + kx
                guard iy >= 0, iy < s[1], ix >= 0, ix < s[2] else { continue }
                values.append(x[(iy * s[2] + ix) * s[3] + c])
            } }
            y[(oy * os[2] + ox) * os[3] + c] = isMax ? (values.max() ?? 0) : values.reduce(0, +) / Double(values.count)
        } } }
        return y
    }

    func broadcast(_ a: [Double], _ sa: [Int], _ b: [Double], _ sb: [Int], _ so: [Int],
                   _ f: (Double, Double) -> Double) -> [Double] {
        let rank = so.count
        let ea = [Int](repeating: 1, count: rank - sa.count) + sa, eb = [Int](repeating: 1, count: rank - sb.count) + sb
        var y = [Double](repeating: 0, count: so.reduce(1, *))
        forEachIndex(so) { flat, index in
            var ia = 0, ib = 0
            for d in 0..<rank {
                ia = ia * ea[d] + (ea[d] == 1 ? 0 : index[d])
                ib = ib * eb[d] + (eb[d] == 1 ? 0 : index[d])
            }
            y[flat] = f(a[ia], b[ib])
        }
        return y
    }

    func forEachIndex(_ shape: [Int], _ body: (Int, [Int]) -> Void) {
        let total = shape.reduce(1, *)
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<total {
            body(flat, index)
            var d = shape.count - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
    }
}
