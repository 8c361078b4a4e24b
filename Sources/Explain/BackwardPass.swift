import Inference

/// Back-propagates a score gradient through part of a model in float32, op by op, on the
/// dequantized weights and the dequantized activations the int8 forward pass recorded
/// (straight-through the quantization: rounding is treated as the identity, clamps are not).
///
/// Built once per (sources, score) pair; ``run`` allocates nothing after the first call.
final class BackwardPass {
    let model: Model
    let paths: GraphPaths
    let score: Int
    /// Activations (by tensor index) each step needs, so the forward pass can keep exactly these.
    let requiredActivations: Set<Int>
    /// The subset of ``requiredActivations`` read as dequantized floats (through `activation`);
    /// the rest are int8/uint8 outputs of clamping activations, gated on their raw values.
    let floatActivations: Set<Int>
    private let steps: [Step]
    /// Tensors whose gradient buffers are zeroed before each run: all on the path except those a
    /// step overwrites (``Step/overwritesInput``).
    private let zeroedTensors: [Int]

    /// One operator's backward step, with everything derivable from the model precomputed.
    private struct Step {
        var op: OperatorInfo
        var kind: Kind
        /// Gate of a fused activation on the op's output (applied to the output gradient first).
        var gate: ActivationGate?
        /// Whether the gate (fused, or a standalone rectifier's) reads the raw output, and its signedness.
        var gateReadsQuantized: Bool
        var gateSigned: Bool
        /// For each input position: does it carry a gradient (on the path)?
        var inputsOnPath: [Bool]
        /// Whether this step is the only one that contributes to its input 0's gradient and writes it
        /// with `=` (the depthwise and pointwise kernels can), so that buffer needs no zeroing:
        /// in a MobileNet/EfficientNet most gradient tensors have exactly one reader.
        var overwritesInput = false
    }

    private enum Kind {
        case convolution(weights: [Float], geometry: WindowGeometry2D, inC: Int, outC: Int)
        /// 1x1 stride-1 CONV_2D with its weights packed for the GEMM.
        case pointwise(PointwiseInputGradient, pixels: Int)
        /// CONV_2D with few input channels (a stem convolution).
        case narrowConvolution(NarrowConvolutionInputGradient)
        case depthwise(DepthwiseInputGradient)
        case fullyConnected(weights: [Float], rows: Int, inputs: Int, outputs: Int)
        case add(ElementwiseGradient.Broadcast, sign: Float)
        case mul(ElementwiseGradient.Broadcast, constants: [[Float]?])
        case mean(inputShape: [Int], axes: Set<Int>)
        case averagePool(WindowGeometry2D, channels: Int)
        case maxPool(WindowGeometry2D, channels: Int)
        case pad(inputShape: [Int], before: [Int], outputShape: [Int])
        case concatenation(axisSizes: [Int], outer: Int, inner: Int)
        /// RESHAPE, SQUEEZE, QUANTIZE, DEQUANTIZE: gradient passes unchanged.
        case identity
        /// Standalone RELU, RELU6, RELU_N1_TO_1.
        case rectifier(ActivationGate)
        case hardSwish
        case logistic
        case softmax(rows: Int, depth: Int, beta: Float)
    }

    /// Prepares the backward pass from `sources` to `score` along the plan's `order`.
    init(model: Model, order: [Int], sources: Set<Int>, score: Int) throws(ExplainError) {
        self.model = model
        self.score = score
        let paths = GraphPaths(model: model, order: order, from: sources, to: score)
        self.paths = paths
        var steps: [Step] = []
        var required: Set<Int> = [], floats: Set<Int> = []
        for index in paths.operators {
            let op = model.operators[index]
            let (step, needs) = try Self.prepare(op, model: model, onPath: paths.tensors)
            steps.append(step)
            required.formUnion(needs)
            // A quantized gate reads only the op's raw output; any other use of it needs floats.
            floats.formUnion(step.gateReadsQuantized ? needs.subtracting(op.outputs) : needs)
        }
        // Count the on-path reads of each tensor; a tensor read once, by a kernel that can overwrite, is not zeroed.
        var reads: [Int: Int] = [:]
        for step in steps {
            for (position, tensor) in step.op.inputs.enumerated() where step.inputsOnPath[position] { reads[tensor, default: 0] += 1 }
        }
        var overwritten: Set<Int> = []
        for index in steps.indices {
            let step = steps[index]
            guard step.inputsOnPath.first == true, let input = step.op.inputs.first, reads[input] == 1,
                  input != score, step.op.outputs.first != input else { continue }
            switch step.kind {
            case .depthwise, .pointwise:
                steps[index].overwritesInput = true
                overwritten.insert(input)
            default:
                break
            }
        }
        self.steps = steps
        zeroedTensors = paths.tensors.filter { !overwritten.contains($0) }.sorted()
        requiredActivations = required
        floatActivations = floats
    }

    /// Runs the backward pass. `seed` fills the score gradient (zeroed first); `activation(t)` gives
    /// tensor t's dequantized values (only for ``floatActivations``), `quantized(t)` the raw bytes
    /// of the other ``requiredActivations`` (a caller whose `quantized` returns nil must give their
    /// floats through `activation` instead).
    /// Returns nothing: read the gradients of the sources from `gradients`.
    func run(gradients: FloatBuffers, activation: (Int) -> UnsafeBufferPointer<Float>,
             quantized: (Int) -> UnsafeRawBufferPointer? = { _ in nil }, guided: Bool,
             pool: WorkerPool? = nil, seed: (UnsafeMutableBufferPointer<Float>) -> Void) {
        for tensor in zeroedTensors {
            _ = gradients.zeroed(tensor, count: model.tensors[tensor].elementCount)
        }
        seed(gradients.buffer(score, count: model.tensors[score].elementCount))
        for step in steps.reversed() {
            let op = step.op
            let output = op.outputs[0]
            let dyMutable = gradients.buffer(output, count: model.tensors[output].elementCount)
            if let gate = step.gate {
                if step.gateReadsQuantized, let raw = quantized(output) {
                    gate.apply(to: dyMutable, quantizedOutput: raw, signed: step.gateSigned, guided: guided)
                } else {
                    gate.apply(to: dyMutable, output: activation(output), guided: guided)
                }
            }
            let dy = UnsafeBufferPointer(dyMutable)
            func dx(_ position: Int) -> UnsafeMutableBufferPointer<Float>? {
                guard step.inputsOnPath.indices.contains(position), step.inputsOnPath[position] else { return nil }
                let tensor = op.inputs[position]
                return gradients.buffer(tensor, count: model.tensors[tensor].elementCount)
            }
            switch step.kind {
            case let .convolution(weights, geometry, inC, outC):
                guard let d = dx(0) else { continue }
                weights.withUnsafeBufferPointer {
                    ConvolutionGradient.input(outputGradient: dy, weights: $0, geometry: geometry,
                                              inputChannels: inC, outputChannels: outC, into: d, pool: pool)
                }
            case let .pointwise(gemm, pixels):
                guard let d = dx(0) else { continue }
                gemm.accumulate(outputGradient: dy, pixels: pixels, into: d, pool: pool, overwrite: step.overwritesInput)
            case let .narrowConvolution(gather):
                guard let d = dx(0) else { continue }
                gather.accumulate(outputGradient: dy, into: d, pool: pool)
            case let .depthwise(gather):
                guard let d = dx(0) else { continue }
                gather.accumulate(outputGradient: dy, into: d, pool: pool, overwrite: step.overwritesInput)
            case let .fullyConnected(weights, rows, inputs, outputs):
                guard let d = dx(0) else { continue }
                weights.withUnsafeBufferPointer {
                    ConvolutionGradient.fullyConnectedInput(outputGradient: dy, weights: $0, rows: rows,
                                                            inputs: inputs, outputs: outputs, into: d)
                }
            case let .add(broadcast, sign):
                ElementwiseGradient.addInputs(outputGradient: dy, broadcast: broadcast, sign: sign, into: dx(0), dx(1))
            case let .mul(broadcast, constants):
                func values(_ position: Int, _ body: (UnsafeBufferPointer<Float>) -> Void) {
                    if let constant = constants[position] { constant.withUnsafeBufferPointer(body) }
                    else { body(activation(op.inputs[position])) }
                }
                values(0) { x1 in
                    values(1) { x2 in
                        ElementwiseGradient.mulInputs(outputGradient: dy, broadcast: broadcast, input1: x1, input2: x2,
                                                      into: dx(0), dx(1))
                    }
                }
            case let .mean(inputShape, axes):
                guard let d = dx(0) else { continue }
                PoolingGradient.meanInput(outputGradient: dy, inputShape: inputShape, axes: axes, into: d)
            case let .averagePool(geometry, channels):
                guard let d = dx(0) else { continue }
                PoolingGradient.averagePoolInput(outputGradient: dy, geometry: geometry, channels: channels, into: d)
            case let .maxPool(geometry, channels):
                guard let d = dx(0) else { continue }
                PoolingGradient.maxPoolInput(outputGradient: dy, input: activation(op.inputs[0]), geometry: geometry,
                                             channels: channels, into: d)
            case let .pad(inputShape, before, outputShape):
                guard let d = dx(0) else { continue }
                LayoutGradient.padInput(outputGradient: dy, inputShape: inputShape, before: before,
                                        outputShape: outputShape, into: d)
            case let .concatenation(axisSizes, outer, inner):
                for position in op.inputs.indices {
                    guard let d = dx(position) else { continue }
                    LayoutGradient.concatenationInput(outputGradient: dy, axisSizes: axisSizes, input: position,
                                                      outer: outer, inner: inner, into: d)
                }
            case .identity:
                guard let d = dx(0) else { continue }
                for i in 0..<min(d.count, dy.count) { d[i] += dy[i] }
            case let .rectifier(gate):
                guard let d = dx(0) else { continue }
                if step.gateReadsQuantized, let raw = quantized(output) {
                    // Gate dy in place (nothing reads this output gradient afterwards), then pass it on.
                    gate.apply(to: dyMutable, quantizedOutput: raw, signed: step.gateSigned, guided: guided)
                    for i in 0..<min(d.count, dy.count) { d[i] += dy[i] }
                    continue
                }
                let lo = gate.lower ?? -.infinity, hi = gate.upper ?? .infinity
                let y = activation(output)
                if guided {
                    for i in 0..<d.count where y[i] > lo { d[i] += max(dy[i], 0) }
                } else {
                    for i in 0..<d.count where y[i] > lo && y[i] < hi { d[i] += dy[i] }
                }
            case .hardSwish:
                guard let d = dx(0) else { continue }
                ActivationGradient.hardSwishInput(outputGradient: dy, input: activation(op.inputs[0]), into: d)
            case .logistic:
                guard let d = dx(0) else { continue }
                ActivationGradient.logisticInput(outputGradient: dy, output: activation(output), into: d)
            case let .softmax(rows, depth, beta):
                guard let d = dx(0) else { continue }
                ActivationGradient.softmaxInput(outputGradient: dy, output: activation(output), rows: rows, depth: depth,
                                                beta: beta, into: d)
            }
        }
    }

    // MARK: - Preparation

    /// Below this many input channels a CONV_2D's input gradient is computed as dot products over
    /// the output channels (an axpy over so few input channels would not fill a vector).
    private static let narrowInputChannels = 8

    private static func prepare(_ op: OperatorInfo, model: Model, onPath: Set<Int>) throws(ExplainError) -> (Step, Set<Int>) {
        let tensors = model.tensors
        func fail(_ reason: String) -> ExplainError {
            ExplainError.unsupportedGradient(operator: op.name, index: op.index, reason: reason)
        }
        guard let output = op.outputs.first, op.outputs.count == 1 else { throw fail("it has \(op.outputs.count) outputs") }
        let inputsOnPath = op.inputs.map { $0 >= 0 && onPath.contains($0) }
        let outShape = tensors[output].shape
        func shape(_ position: Int) throws(ExplainError) -> [Int] {
            guard op.inputs.indices.contains(position), op.inputs[position] >= 0 else { throw fail("input \(position) is missing") }
            return tensors[op.inputs[position]].shape
        }
        func constant(_ position: Int) throws(ExplainError) -> [Float] {
            guard op.inputs.indices.contains(position), op.inputs[position] >= 0 else { throw fail("input \(position) is missing") }
            return try dequantizedConstant(op.inputs[position], model: model, op: op)
        }
        func integers(_ position: Int) throws(ExplainError) -> [Int] {
            guard op.inputs.indices.contains(position), op.inputs[position] >= 0 else { throw fail("input \(position) is missing") }
            let t = op.inputs[position]
            do throws(ModelError) {
                switch tensors[t].type {
                case .int32: return try model.constant(t, as: Int32.self).map(Int.init)
                case .int64: return try model.constant(t, as: Int64.self).map(Int.init)
                default: break
                }
            } catch { throw ExplainError.model(error) }
            throw fail("tensor \(t) is \(tensors[t].type), expected int32")
        }
        func gate(_ activation: FusedActivation) -> ActivationGate? {
            let q = tensors[output].quantization
            return ActivationGate(activation, scale: tensors[output].type == .float32 ? nil : q?.scale,
                                  zeroPoint: q?.zeroPoint ?? 0,
                                  quantizedMinimum: tensors[output].type == .uint8 ? 0 : -128,
                                  quantizedMaximum: tensors[output].type == .uint8 ? 255 : 127)
        }
        func window(_ input: [Int], filterHeight: Int, filterWidth: Int, strideHeight: Int, strideWidth: Int,
                    dilationHeight: Int, dilationWidth: Int, padding: Padding) throws(ExplainError) -> WindowGeometry2D {
            guard input.count == 4, outShape.count == 4 else { throw fail("expected 4-D NHWC tensors") }
            let same = padding == .same
            return WindowGeometry2D(
                batch: input[0], inputHeight: input[1], inputWidth: input[2],
                outputHeight: outShape[1], outputWidth: outShape[2],
                filterHeight: filterHeight, filterWidth: filterWidth,
                strideHeight: strideHeight, strideWidth: strideWidth,
                dilationHeight: dilationHeight, dilationWidth: dilationWidth,
                padTop: WindowGeometry2D.leadingPadding(same: same, inputSize: input[1], outputSize: outShape[1],
                                                        filterSize: filterHeight, stride: strideHeight, dilation: dilationHeight),
                padLeft: WindowGeometry2D.leadingPadding(same: same, inputSize: input[2], outputSize: outShape[2],
                                                         filterSize: filterWidth, stride: strideWidth, dilation: dilationWidth))
        }

        var needs: Set<Int> = []
        var fused: ActivationGate? = nil
        let kind: Kind
        switch op.code {
        case .conv2D, .depthwiseConv2D:
            guard case let .convolution(options) = op.options else { throw fail("missing convolution options") }
            let input = try shape(0), filter = try shape(1)
            guard filter.count == 4, input.count == 4 else { throw fail("expected 4-D input and filter") }
            let geometry = try window(input, filterHeight: filter[1], filterWidth: filter[2],
                                      strideHeight: options.strideHeight, strideWidth: options.strideWidth,
                                      dilationHeight: options.dilationHeight, dilationWidth: options.dilationWidth,
                                      padding: options.padding)
            if op.code == .conv2D {
                guard filter[3] > 0, input[3] % filter[3] == 0, input[3] == filter[3] else {
                    throw fail("grouped convolutions are not supported")
                }
                let weights = try constant(1), inC = input[3], outC = filter[0]
                if ConvolutionGradient.isPointwise(geometry) {
                    let gemm = weights.withUnsafeBufferPointer {
                        PointwiseInputGradient(weights: $0, inputChannels: inC, outputChannels: outC)
                    }
                    kind = .pointwise(gemm, pixels: geometry.batch * geometry.inputHeight * geometry.inputWidth)
                } else if inC < Self.narrowInputChannels {
                    kind = .narrowConvolution(NarrowConvolutionInputGradient(weights: weights, geometry: geometry,
                                                                             inputChannels: inC, outputChannels: outC))
                } else {
                    kind = .convolution(weights: weights, geometry: geometry, inC: inC, outC: outC)
                }
            } else {
                let multiplier = input[3] > 0 ? filter[3] / input[3] : 0
                guard multiplier >= 1, multiplier * input[3] == filter[3] else { throw fail("depth multiplier does not fit the channels") }
                kind = .depthwise(DepthwiseInputGradient(weights: try constant(1), geometry: geometry, inputChannels: input[3],
                                                         depthMultiplier: multiplier))
            }
            fused = gate(options.activation)
        case .fullyConnected:
            guard case let .fullyConnected(options) = op.options else { throw fail("missing options") }
            let filter = try shape(1)
            guard filter.count == 2, filter[1] > 0 else { throw fail("expected 2-D weights") }
            let count = try shape(0).reduce(1, *)
            kind = .fullyConnected(weights: try constant(1), rows: count / filter[1], inputs: filter[1], outputs: filter[0])
            fused = gate(options.activation)
        case .add, .sub, .mul:
            guard let broadcast = ElementwiseGradient.Broadcast(try shape(0), try shape(1)) else {
                throw fail("operand shapes do not broadcast")
            }
            if case let .elementwise(activation) = op.options { fused = gate(activation) }
            if op.code == .mul {
                var constants: [[Float]?] = [nil, nil]
                for position in 0..<2 {
                    let t = op.inputs[position]
                    if tensors[t].isConstant { constants[position] = try constant(position) } else { needs.insert(t) }
                }
                kind = .mul(broadcast, constants: constants)
            } else {
                kind = .add(broadcast, sign: op.code == .sub ? -1 : 1)
            }
        case .mean:
            let input = try shape(0)
            let axes = Set(try integers(1).map { $0 < 0 ? $0 + input.count : $0 })
            guard axes.allSatisfy({ input.indices.contains($0) }) else { throw fail("axis out of range") }
            kind = .mean(inputShape: input, axes: axes)
        case .averagePool2D, .maxPool2D:
            guard case let .pool(options) = op.options else { throw fail("missing pool options") }
            let input = try shape(0)
            let geometry = try window(input, filterHeight: options.filterHeight, filterWidth: options.filterWidth,
                                      strideHeight: options.strideHeight, strideWidth: options.strideWidth,
                                      dilationHeight: 1, dilationWidth: 1, padding: options.padding)
            if op.code == .maxPool2D {
                kind = .maxPool(geometry, channels: input[3])
                needs.insert(op.inputs[0])
            } else {
                kind = .averagePool(geometry, channels: input[3])
            }
            fused = gate(options.activation)
        case .pad:
            let input = try shape(0)
            let paddings = try integers(1)
            guard paddings.count == 2 * input.count else { throw fail("paddings do not match the input rank") }
            kind = .pad(inputShape: input, before: (0..<input.count).map { paddings[2 * $0] }, outputShape: outShape)
        case .concatenation:
            guard case let .concatenation(axisOption, activation) = op.options else { throw fail("missing options") }
            let rank = outShape.count
            let axis = axisOption < 0 ? axisOption + rank : axisOption
            guard (0..<rank).contains(axis) else { throw fail("axis \(axisOption) out of range") }
            var sizes: [Int] = []
            for position in op.inputs.indices {
                let s = try shape(position)
                guard s.count == rank else { throw fail("inputs of different rank") }
                sizes.append(s[axis])
            }
            kind = .concatenation(axisSizes: sizes, outer: outShape[..<axis].reduce(1, *),
                                  inner: outShape[(axis + 1)...].reduce(1, *))
            fused = gate(activation)
        case .reshape, .squeeze, .quantize, .dequantize:
            kind = .identity
        case .relu, .relu6, .reluN1To1:
            let activation: FusedActivation = op.code == .relu ? .relu : (op.code == .relu6 ? .relu6 : .reluN1To1)
            guard let g = gate(activation) else { throw fail("no clamp range") }
            kind = .rectifier(g)
            needs.insert(output)
        case .hardSwish:
            kind = .hardSwish
            needs.insert(op.inputs[0])
        case .logistic:
            kind = .logistic
            needs.insert(output)
        case .softmax:
            guard case let .softmax(beta) = op.options else { throw fail("missing options") }
            let depth = outShape.last ?? 1
            kind = .softmax(rows: depth > 0 ? tensors[output].elementCount / depth : 0, depth: depth, beta: beta)
            needs.insert(output)
        default:
            throw fail("no float gradient for this op")
        }
        if fused != nil { needs.insert(output) }
        var gated: ActivationGate? = fused
        if case let .rectifier(standalone) = kind { gated = standalone }
        let outputType = tensors[output].type
        let readsQuantized = (gated?.hasQuantizedBounds ?? false) && (outputType == .int8 || outputType == .uint8)
        return (Step(op: op, kind: kind, gate: fused, gateReadsQuantized: readsQuantized, gateSigned: outputType == .int8,
                     inputsOnPath: inputsOnPath), needs)
    }
}

/// A constant tensor's real values: `scale[c] * (q - zeroPoint[c])` per channel along its
/// quantized dimension, or the floats themselves.
func dequantizedConstant(_ tensor: Int, model: Model, op: OperatorInfo) throws(ExplainError) -> [Float] {
    let info = model.tensors[tensor]
    do throws(ModelError) {
        switch info.type {
        case .float32:
            return try model.floatConstant(tensor)
        case .int8:
            return dequantize(try model.constant(tensor, as: Int8.self).map(Int32.init), info)
        case .uint8:
            return dequantize(try model.constant(tensor, as: UInt8.self).map(Int32.init), info)
        case .int32:
            return dequantize(try model.constant(tensor, as: Int32.self), info)
        default:
            break
        }
    } catch { throw ExplainError.model(error) }
    throw ExplainError.unsupportedGradient(operator: op.name, index: op.index,
                                           reason: "constant tensor \(tensor) has type \(info.type)")
}

private func dequantize(_ values: [Int32], _ info: TensorInfo) -> [Float] {
    guard let q = info.quantization, !q.scales.isEmpty else { return values.map(Float.init) }
    if q.isPerTensor {
        let scale = q.scale, zero = q.zeroPoint
        return values.map { scale * Float($0 - zero) }
    }
    let dimension = q.quantizedDimension
    let inner = info.shape.indices.contains(dimension) ? info.shape[(dimension + 1)...].reduce(1, *) : 1
    let channels = q.scales.count
    return values.enumerated().map { index, value in
        let c = (index / max(inner, 1)) % channels
        let zero = q.zeroPoints.indices.contains(c) ? Int32(truncatingIfNeeded: q.zeroPoints[c]) : 0
        return q.scales[c] * Float(value - zero)
    }
}
