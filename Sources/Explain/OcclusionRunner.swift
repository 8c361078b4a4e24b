import Inference

/// Occlusion sensitivity: the drop of the target score when a square patch of the input is
/// covered with a fill value, for a grid of patches.
///
/// **Incremental recomputation.** A patch changes only the part of each layer inside its
/// receptive field. The runner keeps every activation of the unoccluded input (one interpreter
/// that preserves all of them), then per patch walks the operators in order, tracking the
/// changed rectangle of each NHWC tensor: CONV_2D and DEPTHWISE_CONV_2D recompute only the
/// output rows/columns whose window meets a changed input pixel (by running the engine's own
/// kernel on a cropped copy — a one-operator model with VALID padding whose border taps hold
/// the input zero point, which is exactly what the int8 kernels do at SAME borders), cheap
/// operators and operators without spatial locality (MEAN, FULLY_CONNECTED…) run whole. Values
/// are bit-identical to a full rerun; afterwards the changed rectangles are restored from a copy
/// of the unoccluded activations.
final class OcclusionRunner {
    let model: Model
    let scoreTensor: Int
    let inputTensor: Int
    let interpreter: Interpreter
    /// Plan positions of the operators on the input → score path, in order.
    private let steps: [Int]
    private let regions: [Int: RegionalConvolution]
    /// The unoccluded bytes of every tensor on the path.
    private var baseline: [Int: [UInt8]] = [:]
    private var subInterpreters: [SubKey: Interpreter] = [:]
    private let floatHead: FloatHead?
    /// Options of the one-operator crop interpreters: the template's kernels, one thread (a crop
    /// is too small to split, and each interpreter would otherwise own a worker pool).
    private let cropOptions: InterpreterOptions

    struct Result {
        var map: Heatmap
        var targetClass: Int
        var score: Float
    }

    private struct SubKey: Hashable {
        var step: Int, inputHeight: Int, inputWidth: Int
    }

    /// A changed rectangle of an NHWC tensor: rows `y0..<y1`, columns `x0..<x1`; nil elsewhere means "all of it".
    struct Rect: Equatable {
        var y0: Int, y1: Int, x0: Int, x1: Int
        var area: Int { (y1 - y0) * (x1 - x0) }
        func union(_ other: Rect) -> Rect {
            Rect(y0: min(y0, other.y0), y1: max(y1, other.y1), x0: min(x0, other.x0), x1: max(x1, other.x1))
        }
    }

    /// What a convolution needs to be recomputed on a crop.
    private struct RegionalConvolution {
        var op: OperatorInfo
        var geometry: WindowGeometry2D
        var inputChannels: Int
        var outputChannels: Int
    }

    init(explainer: Explainer) throws(ExplainError) {
        model = explainer.model
        scoreTensor = explainer.scoreTensor
        inputTensor = explainer.inputTensor
        let paths = GraphPaths(model: model, order: explainer.order, from: [inputTensor], to: scoreTensor)
        guard paths.tensors.contains(scoreTensor) else {
            throw ExplainError.notOnPath(tensor: inputTensor, name: model.tensors[inputTensor].name)
        }
        var options = explainer.baseOptions
        let model = explainer.model
        options.keep = paths.tensors.union([explainer.scoreTensor]).filter { !model.tensors[$0].isConstant }
        do { interpreter = try Interpreter(model: model, options: options) } catch { throw ExplainError.model(error) }
        var cropOptions = explainer.baseOptions
        cropOptions.keep = []
        cropOptions.threads = 1
        self.cropOptions = cropOptions
        let position = Dictionary(uniqueKeysWithValues: interpreter.plan.order.enumerated().map { ($1, $0) })
        steps = paths.operators.compactMap { position[$0] }.sorted()
        var regions: [Int: RegionalConvolution] = [:]
        for step in steps {
            let op = model.operators[interpreter.plan.order[step]]
            guard op.code == .conv2D || op.code == .depthwiseConv2D, case let .convolution(o) = op.options,
                  op.inputs.count >= 2, op.outputs.count == 1,
                  model.tensors[op.inputs[0]].type == .int8 else { continue }
            let input = model.tensors[op.inputs[0]].shape, filter = model.tensors[op.inputs[1]].shape
            let output = model.tensors[op.outputs[0]].shape
            guard input.count == 4, filter.count == 4, output.count == 4, input[0] == 1 else { continue }
            let geometry = WindowGeometry2D(
                batch: 1, inputHeight: input[1], inputWidth: input[2], outputHeight: output[1], outputWidth: output[2],
                filterHeight: filter[1], filterWidth: filter[2], strideHeight: o.strideHeight, strideWidth: o.strideWidth,
                dilationHeight: o.dilationHeight, dilationWidth: o.dilationWidth,
                padTop: WindowGeometry2D.leadingPadding(same: o.padding == .same, inputSize: input[1], outputSize: output[1],
                                                        filterSize: filter[1], stride: o.strideHeight, dilation: o.dilationHeight),
                padLeft: WindowGeometry2D.leadingPadding(same: o.padding == .same, inputSize: input[2], outputSize: output[2],
                                                         filterSize: filter[2], stride: o.strideWidth, dilation: o.dilationWidth))
            regions[step] = RegionalConvolution(op: op, geometry: geometry, inputChannels: input[3], outputChannels: output[3])
        }
        self.regions = regions
        floatHead = Self.floatHead(model: model, score: scoreTensor)
    }

    /// Patch origins along one axis: every `stride` while the patch fits, plus one flush with the end if needed.
    static func origins(size: Int, patch: Int, stride: Int) -> [Int] {
        guard patch <= size else { return [0] }
        var result = Array(Swift.stride(from: 0, through: size - patch, by: stride))
        if let last = result.last, last + patch < size { result.append(size - patch) }
        return result
    }

    func map(input: some Collection<UInt8>, target: ExplanationTarget, options: OcclusionOptions) throws(ExplainError) -> Result {
        let shape = model.tensors[inputTensor].shape
        guard shape.count == 4, shape[0] == 1, model.tensors[inputTensor].type == .int8 else {
            throw ExplainError.invalidOption("occlusion needs an int8 NHWC input with batch 1; the model input is \(model.tensors[inputTensor].type) \(shape)")
        }
        let height = shape[1], width = shape[2], channels = shape[3]
        let patch = options.patch ?? max(1, Int((Double(min(height, width)) / 6).rounded()))
        let stride = options.stride ?? max(1, patch / 2)
        guard patch >= 1, patch <= min(height, width), stride >= 1 else {
            throw ExplainError.invalidOption("occlusion patch \(patch) and stride \(stride) must be ≥ 1 and the patch ≤ \(min(height, width))")
        }
        // Unoccluded run; keep a copy of every activation.
        do { try interpreter.setInput(0, bytes: input) } catch { throw ExplainError.input(error) }
        interpreter.invoke()
        baseline.removeAll(keepingCapacity: true)
        for tensor in interpreter.plan.preserved {
            if let memory = interpreter.unsafeTensorMemory(tensor) { baseline[tensor] = Array(memory) }
        }
        let scores = scoreValues()
        guard !scores.isEmpty else {
            throw ExplainError.invalidOption("occlusion reads int8, uint8 or float32 scores; tensor \(scoreTensor) is \(model.tensors[scoreTensor].type)")
        }
        let targetClass: Int
        switch target {
        case .top1:
            var best = 0
            for i in scores.indices where scores[i] > scores[best] { best = i }
            targetClass = best
        case let .classIndex(k):
            guard scores.indices.contains(k) else { throw ExplainError.noSuchClass(k, classes: scores.count) }
            targetClass = k
        }
        let reference = score(targetClass)

        var sum = [Float](repeating: 0, count: height * width)
        var count = [Float](repeating: 0, count: height * width)
        for y in Self.origins(size: height, patch: patch, stride: stride) {
            for x in Self.origins(size: width, patch: patch, stride: stride) {
                let rect = Rect(y0: y, y1: y + patch, x0: x, x1: x + patch)
                let occluded = options.incremental
                    ? incrementalScore(rect: rect, fill: options.fill, width: width, channels: channels, target: targetClass)
                    : fullScore(input: input, rect: rect, fill: options.fill, width: width, channels: channels,
                                target: targetClass)
                let drop = reference - occluded
                for py in rect.y0..<rect.y1 {
                    for px in rect.x0..<rect.x1 {
                        sum[py * width + px] += drop
                        count[py * width + px] += 1
                    }
                }
            }
        }
        if !options.incremental { restoreAll() }
        let values = options.aggregation == .sum ? sum : zip(sum, count).map { $1 > 0 ? $0 / $1 : 0 }
        return Result(map: Heatmap(width: width, height: height, values: values), targetClass: targetClass, score: scores[targetClass])
    }

    /// The dequantized score tensor.
    private func scoreValues() -> [Float] {
        let info = model.tensors[scoreTensor]
        guard let memory = interpreter.unsafeTensorMemory(scoreTensor) else { return [] }
        let scale = info.quantization?.scale ?? 1, zero = info.quantization?.zeroPoint ?? 0
        switch info.type {
        case .int8: return memory.map { scale * Float(Int32(Int8(bitPattern: $0)) - zero) }
        case .uint8: return memory.map { scale * Float(Int32($0) - zero) }
        case .float32:
            return (0..<info.elementCount).map { Float(bitPattern: memory.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        default: return []
        }
    }

    /// The target's score on the current activations. When a FULLY_CONNECTED layer produces the
    /// scores, its output is recomputed in float from its dequantized int8 input (bias included,
    /// fused activation applied): the int8 logits move in steps of their scale (0.095 on shapes-a),
    /// too coarse to rank a hundred patches — most drops would tie. Otherwise the int8 score.
    private func score(_ target: Int) -> Float {
        if let head = floatHead, let memory = interpreter.unsafeTensorMemory(head.input),
           head.weights.count >= (target + 1) * head.inputs {
            let info = model.tensors[head.input]
            let scale = info.quantization?.scale ?? 1, zero = info.quantization?.zeroPoint ?? 0
            var sum: Float = head.bias.indices.contains(target) ? head.bias[target] : 0
            let row = target * head.inputs
            for i in 0..<head.inputs {
                sum += head.weights[row + i] * scale * Float(Int32(Int8(bitPattern: memory[i])) - zero)
            }
            let lo = head.gate?.lower ?? -.infinity, hi = head.gate?.upper ?? .infinity
            return min(max(sum, lo), hi)
        }
        let scores = scoreValues()
        return scores.indices.contains(target) ? scores[target] : 0
    }

    /// The final FULLY_CONNECTED layer in float (see ``score(_:)``).
    private struct FloatHead {
        var input: Int
        var inputs: Int
        var weights: [Float]
        var bias: [Float]
        var gate: ActivationGate?
    }

    private static func floatHead(model: Model, score: Int) -> FloatHead? {
        guard let op = model.operators.first(where: { $0.outputs == [score] }), op.code == .fullyConnected,
              op.inputs.count >= 2, case let .fullyConnected(options) = op.options,
              model.tensors[op.inputs[0]].type == .int8, model.tensors[op.inputs[0]].shape.first == 1,
              let weights = try? dequantizedConstant(op.inputs[1], model: model, op: op),
              let inputs = model.tensors[op.inputs[1]].shape.last, inputs == model.tensors[op.inputs[0]].elementCount
        else { return nil }
        var bias: [Float] = []
        if op.inputs.count > 2, op.inputs[2] >= 0 {
            guard let b = try? dequantizedConstant(op.inputs[2], model: model, op: op) else { return nil }
            bias = b
        }
        let q = model.tensors[score].quantization
        return FloatHead(input: op.inputs[0], inputs: inputs, weights: weights, bias: bias,
                         gate: ActivationGate(options.activation, scale: nil, zeroPoint: q?.zeroPoint ?? 0))
    }

    /// Naive: the whole model on the occluded input.
    private func fullScore(input: some Collection<UInt8>, rect: Rect, fill: Int8, width: Int, channels: Int,
                           target: Int) -> Float {
        guard let memory = interpreter.unsafeTensorMemory(inputTensor), let original = baseline[inputTensor] else { return 0 }
        memory.copyBytes(from: original)
        fillRect(memory, rect: rect, fill: fill, width: width, channels: channels)
        interpreter.invoke()
        return score(target)
    }

    private func fillRect(_ memory: UnsafeMutableRawBufferPointer, rect: Rect, fill: Int8, width: Int, channels: Int) {
        let byte = UInt8(bitPattern: fill)
        for y in rect.y0..<rect.y1 {
            let start = (y * width + rect.x0) * channels
            for i in start..<(start + rect.x1 * channels - rect.x0 * channels) { memory[i] = byte }
        }
    }

    private func restoreAll() {
        for (tensor, bytes) in baseline {
            interpreter.unsafeTensorMemory(tensor)?.copyBytes(from: bytes)
        }
    }

    /// Incremental: recompute only what the patch reaches, then restore it.
    private func incrementalScore(rect: Rect, fill: Int8, width: Int, channels: Int, target: Int) -> Float {
        guard let inputMemory = interpreter.unsafeTensorMemory(inputTensor) else { return 0 }
        var dirty: [Int: Rect?] = [inputTensor: rect]  // tensor → changed rect (nil: all of it)
        fillRect(inputMemory, rect: rect, fill: fill, width: width, channels: channels)
        for step in steps {
            let op = model.operators[interpreter.plan.order[step]]
            let changed = op.inputs.compactMap { $0 >= 0 ? dirty[$0] : nil }
            guard !changed.isEmpty, let output = op.outputs.first else { continue }
            let outputRect = Self.outputRect(op: op, changed: changed, inputsChanged: op.inputs.map { dirty[$0] != nil },
                                             model: model, region: regions[step]?.geometry)
            // A change no output window reads (e.g. a skipped column under stride 2) changes nothing.
            if let r = outputRect, r.area == 0 { continue }
            if let region = regions[step], changed.count == 1, let outRect = outputRect,
               outRect.area * 10 < 6 * region.geometry.outputHeight * region.geometry.outputWidth {
                recompute(step: step, region: region, rect: outRect)
            } else {
                interpreter.invoke(steps: step..<(step + 1))
            }
            dirty[output] = .some(outputRect)
        }
        let result = score(target)
        // Restore what changed.
        for (tensor, rect) in dirty {
            guard let memory = interpreter.unsafeTensorMemory(tensor), let original = baseline[tensor] else { continue }
            let shape = model.tensors[tensor].shape
            if let rect, shape.count == 4 {
                let c = shape[3], w = shape[2]
                original.withUnsafeBytes { source in
                    guard let from = source.baseAddress, let to = memory.baseAddress else { return }
                    for y in rect.y0..<rect.y1 {
                        let start = (y * w + rect.x0) * c, length = (rect.x1 - rect.x0) * c
                        (to + start).copyMemory(from: from + start, byteCount: length)
                    }
                }
            } else {
                memory.copyBytes(from: original)
            }
        }
        return result
    }

    /// The rectangle of an operator's output that can differ, given its inputs' changed rectangles
    /// (nil = the whole tensor).
    static func outputRect(op: OperatorInfo, changed: [Rect?], inputsChanged: [Bool], model: Model,
                           region: WindowGeometry2D?) -> Rect? {
        guard let output = op.outputs.first else { return nil }
        let outShape = model.tensors[output].shape
        guard outShape.count == 4, !changed.contains(where: { $0 == nil }),
              let first = changed.first, let union = changed.reduce(first, { a, b in a.flatMap { x in b.map { x.union($0) } } })
        else { return nil }
        func clamp(_ r: Rect) -> Rect? {
            let c = Rect(y0: max(r.y0, 0), y1: min(r.y1, outShape[1]), x0: max(r.x0, 0), x1: min(r.x1, outShape[2]))
            return c.y0 < c.y1 && c.x0 < c.x1 ? c : Rect(y0: 0, y1: 0, x0: 0, x1: 0)
        }
        func window(_ g: WindowGeometry2D) -> Rect? {
            func range(_ lo: Int, _ hi: Int, stride: Int, pad: Int, extent: Int) -> (Int, Int) {
                // Outputs o whose taps [o*s - p, o*s - p + extent - 1] meet [lo, hi).
                let first = Int((Double(lo + pad - extent + 1) / Double(stride)).rounded(.up))
                let last = Int((Double(hi - 1 + pad) / Double(stride)).rounded(.down))
                return (first, last + 1)
            }
            let (y0, y1) = range(union.y0, union.y1, stride: g.strideHeight, pad: g.padTop,
                                 extent: (g.filterHeight - 1) * g.dilationHeight + 1)
            let (x0, x1) = range(union.x0, union.x1, stride: g.strideWidth, pad: g.padLeft,
                                 extent: (g.filterWidth - 1) * g.dilationWidth + 1)
            return clamp(Rect(y0: y0, y1: y1, x0: x0, x1: x1))
        }
        switch op.code {
        case .conv2D, .depthwiseConv2D:
            guard let region, inputsChanged.first == true, inputsChanged.dropFirst().allSatisfy({ !$0 }) else { return nil }
            return window(region)
        case .averagePool2D, .maxPool2D:
            guard case let .pool(o) = op.options, let input = op.inputs.first else { return nil }
            let inShape = model.tensors[input].shape
            guard inShape.count == 4 else { return nil }
            let same = o.padding == .same
            let g = WindowGeometry2D(
                batch: 1, inputHeight: inShape[1], inputWidth: inShape[2], outputHeight: outShape[1], outputWidth: outShape[2],
                filterHeight: o.filterHeight, filterWidth: o.filterWidth, strideHeight: o.strideHeight, strideWidth: o.strideWidth,
                padTop: WindowGeometry2D.leadingPadding(same: same, inputSize: inShape[1], outputSize: outShape[1],
                                                        filterSize: o.filterHeight, stride: o.strideHeight, dilation: 1),
                padLeft: WindowGeometry2D.leadingPadding(same: same, inputSize: inShape[2], outputSize: outShape[2],
                                                         filterSize: o.filterWidth, stride: o.strideWidth, dilation: 1))
            return window(g)
        case .add, .sub, .mul, .relu, .relu6, .reluN1To1, .logistic, .hardSwish, .quantize, .dequantize, .concatenation:
            // Elementwise (or channel concatenation): the union, unless a changed input is broadcast over space.
            for (position, input) in op.inputs.enumerated() where input >= 0 && inputsChanged[position] {
                let s = model.tensors[input].shape
                guard s.count == 4, s[1] == outShape[1], s[2] == outShape[2] else { return nil }
            }
            if op.code == .concatenation, case let .concatenation(axis, _) = op.options, axis != 3, axis != -1 { return nil }
            return clamp(union)
        default:
            return nil
        }
    }

    /// Recomputes `rect` of a convolution's output with the engine's kernel on a cropped input.
    private func recompute(step: Int, region: RegionalConvolution, rect: Rect) {
        let g = region.geometry
        let op = region.op
        let inHeight = (rect.y1 - rect.y0 - 1) * g.strideHeight + (g.filterHeight - 1) * g.dilationHeight + 1
        let inWidth = (rect.x1 - rect.x0 - 1) * g.strideWidth + (g.filterWidth - 1) * g.dilationWidth + 1
        let key = SubKey(step: step, inputHeight: inHeight, inputWidth: inWidth)
        let sub: Interpreter
        if let existing = subInterpreters[key] {
            sub = existing
        } else {
            guard let made = makeCroppedInterpreter(region: region, inHeight: inHeight, inWidth: inWidth,
                                                    outHeight: rect.y1 - rect.y0, outWidth: rect.x1 - rect.x0) else {
                interpreter.invoke(steps: step..<(step + 1))
                return
            }
            // Bounded: grids with many distinct border crops would otherwise grow without limit.
            if subInterpreters.count >= 512 { subInterpreters.removeAll() }
            subInterpreters[key] = made
            sub = made
        }
        guard let source = interpreter.unsafeTensorMemory(op.inputs[0]),
              let destination = interpreter.unsafeTensorMemory(op.outputs[0]),
              let subInput = sub.unsafeTensorMemory(sub.model.inputs[0]),
              let subOutput = sub.unsafeTensorMemory(sub.model.outputs[0]) else {
            interpreter.invoke(steps: step..<(step + 1))
            return
        }
        let c = region.inputChannels
        let zero = UInt8(bitPattern: Int8(truncatingIfNeeded: model.tensors[op.inputs[0]].quantization?.zeroPoint ?? 0))
        let top = rect.y0 * g.strideHeight - g.padTop, left = rect.x0 * g.strideWidth - g.padLeft
        for row in 0..<inHeight {
            let iy = top + row
            let rowStart = row * inWidth * c
            guard iy >= 0, iy < g.inputHeight else {
                for i in rowStart..<(rowStart + inWidth * c) { subInput[i] = zero }
                continue
            }
            let xStart = max(left, 0), xEnd = min(left + inWidth, g.inputWidth)
            for i in rowStart..<(rowStart + max(xStart - left, 0) * c) { subInput[i] = zero }
            if xEnd > xStart {
                let src = (iy * g.inputWidth + xStart) * c, dst = rowStart + (xStart - left) * c
                for i in 0..<((xEnd - xStart) * c) { subInput[dst + i] = source[src + i] }
            }
            let tail = rowStart + max(xEnd - left, 0) * c
            for i in tail..<(rowStart + inWidth * c) { subInput[i] = zero }
        }
        sub.invoke()
        let oc = region.outputChannels, outWidth = rect.x1 - rect.x0
        for row in 0..<(rect.y1 - rect.y0) {
            let dst = ((rect.y0 + row) * g.outputWidth + rect.x0) * oc, src = row * outWidth * oc
            for i in 0..<(outWidth * oc) { destination[dst + i] = subOutput[src + i] }
        }
    }

    /// A one-operator model: the convolution with VALID padding on an `inHeight × inWidth` crop.
    private func makeCroppedInterpreter(region: RegionalConvolution, inHeight: Int, inWidth: Int,
                                        outHeight: Int, outWidth: Int) -> Interpreter? {
        var op = region.op
        guard case var .convolution(options) = op.options else { return nil }
        options.padding = .valid
        var tensors: [TensorInfo] = []
        var inputs: [Int] = []
        for (position, index) in op.inputs.enumerated() {
            guard index >= 0 else { inputs.append(-1); continue }
            var info = model.tensors[index]
            if position == 0 { info.shape = [1, inHeight, inWidth, region.inputChannels] }
            info.index = tensors.count
            inputs.append(tensors.count)
            tensors.append(info)
        }
        var output = model.tensors[op.outputs[0]]
        output.shape = [1, outHeight, outWidth, region.outputChannels]
        output.index = tensors.count
        tensors.append(output)
        op.index = 0
        op.inputs = inputs
        op.outputs = [output.index]
        op.options = .convolution(options)
        let cropped = Model(bytes: model.bytes, version: model.version, fileDescription: model.fileDescription,
                            subgraphName: model.subgraphName, tensors: tensors, operators: [op],
                            inputs: [inputs[0]], outputs: [output.index])
        return try? Interpreter(model: cropped, options: cropOptions)
    }
}
