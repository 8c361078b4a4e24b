import Inference

/// Options that only some methods read.
public struct ExplanationOptions: Sendable, Equatable {
    /// `activation`: the channel to show; nil shows the mean over channels.
    public var channel: Int?
    /// `occlusion`: patch, stride, fill.
    public var occlusion: OcclusionOptions

    public init(channel: Int? = nil, occlusion: OcclusionOptions = OcclusionOptions()) {
        self.channel = channel
        self.occlusion = occlusion
    }
}

/// Computes explanations of one int8 model, reusably.
///
/// An `Explainer` owns the interpreters it runs (one per set of tensors a method needs to
/// keep, created on first use), the prepared backward passes and all float scratch buffers,
/// so explaining frame after frame allocates little. Not thread-safe: use one per thread.
///
/// ```swift
/// let explainer = try Explainer(model: model)
/// let result = try explainer.explain(input: bytes, method: .gradcam)
/// result.inputMap    // [0, 1] map at the model input size
/// result.box()       // weak localization box
/// ```
public final class Explainer {
    public let model: Model
    /// The tensor whose elements are the class scores: the input of a final SOFTMAX (the
    /// logits, as the reference tools use), otherwise the model's first output.
    public let scoreTensor: Int
    /// The model input explained (the first one).
    public let inputTensor: Int
    /// Execution order of the operators.
    let order: [Int]
    let baseOptions: InterpreterOptions

    private var interpreters: [Set<Int>: Interpreter] = [:]
    private var backwardPasses: [Int: BackwardPass] = [:]
    /// Dequantized FULLY_CONNECTED weights of a GAP→FC head, per CAM layer: dequantizing
    /// EfficientNet's 1280×1000 matrix costs ~90 ms, so it is done once per explainer.
    private var camHeads: [Int: (weights: [Float], channels: Int)] = [:]
    let activations: FloatBuffers
    let gradients: FloatBuffers
    var occlusion: OcclusionRunner?

    /// Prepares explanations of `model`. `interpreterOptions` is the template of every
    /// interpreter created (its `keep` set is extended per method).
    public init(model: Model, interpreterOptions: InterpreterOptions = InterpreterOptions()) throws(ExplainError) {
        guard let input = model.inputs.first, let output = model.outputs.first else {
            throw ExplainError.model(.invalid("the model has no input or no output"))
        }
        do {
            order = try ExecutionPlan(model: model, maximumArenaBytes: interpreterOptions.maximumArenaBytes).order
        } catch { throw ExplainError.model(error) }
        self.model = model
        inputTensor = input
        scoreTensor = Self.logits(of: output, in: model)
        baseOptions = interpreterOptions
        activations = FloatBuffers(tensorCount: model.tensors.count)
        gradients = FloatBuffers(tensorCount: model.tensors.count)
    }

    /// Reads a `.tflite` file's bytes and prepares explanations of it.
    public convenience init(modelBytes: [UInt8], interpreterOptions: InterpreterOptions = InterpreterOptions()) throws(ExplainError) {
        let model: Model
        do { model = try Model(bytes: modelBytes) } catch { throw ExplainError.model(error) }
        try self.init(model: model, interpreterOptions: interpreterOptions)
    }

    /// Walks back from an output through QUANTIZE/DEQUANTIZE/RESHAPE; if a SOFTMAX produced it,
    /// its input is the score tensor.
    static func logits(of output: Int, in model: Model) -> Int {
        var tensor = output
        while let producer = model.operators.first(where: { $0.outputs.contains(tensor) }) {
            switch producer.code {
            case .softmax:
                return producer.inputs.first ?? output
            case .quantize, .dequantize, .reshape, .squeeze:
                guard let input = producer.inputs.first, input >= 0 else { return output }
                tensor = input
            default:
                return output
            }
        }
        return output
    }

    /// The tensor a layer selection names, checked to be an NHWC activation with batch 1.
    public func layerTensor(_ selection: LayerSelection) throws(ExplainError) -> Int {
        let tensor: Int
        switch selection {
        case .automatic:
            guard let first = model.classActivationLayers.first else { throw ExplainError.noDefaultLayer }
            tensor = first.tensor
        case let .tensor(index):
            guard model.tensors.indices.contains(index) else { throw ExplainError.model(.noSuchTensor(String(index))) }
            tensor = index
        case let .named(name):
            do { tensor = try model.tensorIndex(named: name) } catch { throw ExplainError.model(error) }
        }
        let info = model.tensors[tensor]
        guard !info.isConstant else {
            throw ExplainError.unsuitableLayer(tensor: tensor, name: info.name, reason: "it is a constant (weights)")
        }
        guard info.shape.count == 4, info.shape[0] == 1 else {
            throw ExplainError.unsuitableLayer(tensor: tensor, name: info.name,
                                               reason: "its shape \(info.shape) is not [1, H, W, C]")
        }
        guard [.int8, .uint8, .float32, .int32].contains(info.type) else {
            throw ExplainError.unsuitableLayer(tensor: tensor, name: info.name, reason: "its type is \(info.type)")
        }
        return tensor
    }

    /// Explains the model's decision on one input: runs the forward pass (keeping what the method
    /// needs), then the method.
    ///
    /// - Parameters:
    ///   - input: the raw bytes of the model input (batch 1, in the input's dtype, NHWC).
    ///   - method: what to compute.
    ///   - target: the class explained (`top1` by default).
    ///   - layer: the tensor for layer-based methods (default: the last layer with spatial extent before global pooling).
    ///   - options: method-specific options.
    public func explain(input: some Collection<UInt8>, method: ExplanationMethod, target: ExplanationTarget = .top1,
                        layer: LayerSelection = .automatic,
                        options: ExplanationOptions = ExplanationOptions()) throws(ExplainError) -> Explanation {
        if method == .occlusion { return try occlusion(input: input, target: target, options: options.occlusion) }
        let keep = try keepSet(for: method, layer: layer)
        let interpreter = try run(input, keep: keep)
        return try explainRecorded(interpreter, method: method, target: target, layer: layer, options: options)
    }

    /// The interpreter whose forward pass records what `method` needs (tensors kept: exactly the
    /// target layer, the scores and the activations the backward ops read). A pipeline that runs
    /// this interpreter for its own inference can then call
    /// ``explainRecorded(method:target:layer:options:)`` without a second forward pass; a benchmark
    /// can time the two parts apart.
    public func recordingInterpreter(for method: ExplanationMethod, layer: LayerSelection = .automatic) throws(ExplainError) -> Interpreter {
        try interpreter(keeping: keepSet(for: method, layer: layer))
    }

    /// Explains the input of the last forward pass of ``recordingInterpreter(for:layer:)`` (same
    /// method and layer), without running the model again (occlusion reruns parts of it by nature).
    public func explainRecorded(method: ExplanationMethod, target: ExplanationTarget = .top1,
                                layer: LayerSelection = .automatic,
                                options: ExplanationOptions = ExplanationOptions()) throws(ExplainError) -> Explanation {
        let interpreter = try recordingInterpreter(for: method, layer: layer)
        return try explainRecorded(interpreter, method: method, target: target, layer: layer, options: options)
    }

    /// The tensors `method` needs kept (beyond the model's inputs and outputs).
    func keepSet(for method: ExplanationMethod, layer: LayerSelection) throws(ExplainError) -> Set<Int> {
        switch method {
        case .activation, .cam, .eigencam:
            return [try layerTensor(layer), scoreTensor]
        case .gradcam, .gradcamPlusPlus:
            let tensor = try layerTensor(layer)
            return try backwardPass(from: tensor).requiredActivations.union([tensor, scoreTensor])
        case .guidedBackprop:
            return try backwardPass(from: inputTensor).requiredActivations.union([scoreTensor])
        case .guidedGradcam:
            let tensor = try layerTensor(layer)
            return try backwardPass(from: inputTensor).requiredActivations
                .union(try backwardPass(from: tensor).requiredActivations).union([tensor, scoreTensor])
        case .occlusion:
            return [scoreTensor]
        }
    }

    /// The method, on the activations `interpreter` recorded.
    private func explainRecorded(_ interpreter: Interpreter, method: ExplanationMethod, target: ExplanationTarget,
                                 layer: LayerSelection, options: ExplanationOptions) throws(ExplainError) -> Explanation {
        let inputShape = model.tensors[inputTensor].shape
        guard inputShape.count == 4, inputShape[0] == 1 else {
            throw ExplainError.unsuitableLayer(tensor: inputTensor, name: model.tensors[inputTensor].name,
                                               reason: "the model input \(inputShape) is not [1, H, W, C]")
        }
        let inputHeight = inputShape[1], inputWidth = inputShape[2]
        switch method {
        case .activation, .cam, .gradcam, .gradcamPlusPlus, .eigencam:
            let tensor = try layerTensor(layer)
            let shape = model.tensors[tensor].shape
            let positions = shape[1] * shape[2], channels = shape[3]
            let head = method == .gradcam || method == .gradcamPlusPlus ? try backwardPass(from: tensor) : nil
            let (targetClass, score) = try resolve(target, interpreter)
            let a = try load(tensor, from: interpreter)
            let values: [Float]
            switch method {
            case .activation:
                if let channel = options.channel, !(0..<channels).contains(channel) {
                    throw ExplainError.invalidOption("channel \(channel) does not exist: the layer has \(channels) channels")
                }
                values = ClassActivationMaps.activationMap(a, positions: positions, channels: channels, channel: options.channel)
            case .eigencam:
                values = ClassActivationMaps.eigenCAM(a, positions: positions, channels: channels)
            case .cam:
                let weights = try camWeights(layer: tensor, targetClass: targetClass)
                values = ClassActivationMaps.weightedSum(a, weights: weights, positions: positions, channels: channels)
            default:
                guard let head else { throw ExplainError.notOnPath(tensor: tensor, name: model.tensors[tensor].name) }
                let g = try backward(head, interpreter: interpreter, targetClass: targetClass, guided: false, source: tensor)
                let weights = method == .gradcam
                    ? ClassActivationMaps.channelMeans(g, positions: positions, channels: channels)
                    : ClassActivationMaps.gradCAMPlusPlusWeights(gradients: g, activations: a, positions: positions,
                                                                 channels: channels)
                values = ClassActivationMaps.weightedSum(a, weights: weights, positions: positions, channels: channels)
                    .map { max($0, 0) }
            }
            return Explanation(method: method, targetClass: targetClass, score: score, layer: tensor,
                               layerName: model.tensors[tensor].name,
                               map: Heatmap(width: shape[2], height: shape[1], values: values),
                               inputWidth: inputWidth, inputHeight: inputHeight)

        case .guidedBackprop, .guidedGradcam:
            let pass = try backwardPass(from: inputTensor)
            let gradCAMTensor = method == .guidedGradcam ? try layerTensor(layer) : nil
            let (targetClass, score) = try resolve(target, interpreter)
            let g = try backward(pass, interpreter: interpreter, targetClass: targetClass, guided: true, source: inputTensor)
            let channels = inputShape[3], positions = inputHeight * inputWidth
            var values = [Float](repeating: 0, count: positions)
            for p in 0..<positions {
                var best: Float = 0
                for c in 0..<channels { best = max(best, abs(g[p * channels + c])) }
                values[p] = best
            }
            if let tensor = gradCAMTensor {
                let shape = model.tensors[tensor].shape
                let a = try load(tensor, from: interpreter)
                let gl = try backward(try backwardPass(from: tensor), interpreter: interpreter, targetClass: targetClass,
                                      guided: false, source: tensor)
                let weights = ClassActivationMaps.channelMeans(gl, positions: shape[1] * shape[2], channels: shape[3])
                let cam = ClassActivationMaps.weightedSum(a, weights: weights, positions: shape[1] * shape[2],
                                                          channels: shape[3]).map { max($0, 0) }
                let upsampled = Heatmap(width: shape[2], height: shape[1], values: cam)
                    .resized(width: inputWidth, height: inputHeight)
                for p in 0..<positions { values[p] *= upsampled.values[p] }
            }
            return Explanation(method: method, targetClass: targetClass, score: score, layer: gradCAMTensor,
                               layerName: gradCAMTensor.map { model.tensors[$0].name },
                               map: Heatmap(width: inputWidth, height: inputHeight, values: values),
                               inputWidth: inputWidth, inputHeight: inputHeight)

        case .occlusion:
            let input: [UInt8]
            do { input = try interpreter.tensorBytes(inputTensor) } catch { throw ExplainError.input(error) }
            return try occlusion(input: input, target: target, options: options.occlusion)
        }
    }

    // MARK: - Forward recording

    /// An interpreter that keeps `keep` (created on first use), after running `input` through it.
    func run(_ input: some Collection<UInt8>, keep: Set<Int>) throws(ExplainError) -> Interpreter {
        let interpreter = try interpreter(keeping: keep)
        do { try interpreter.setInput(0, bytes: input) } catch { throw ExplainError.input(error) }
        interpreter.invoke()
        return interpreter
    }

    /// The interpreter that keeps exactly `keep` beyond the inputs and outputs.
    func interpreter(keeping keep: Set<Int>) throws(ExplainError) -> Interpreter {
        let activationsOnly = keep.filter { !model.tensors[$0].isConstant }
        if let existing = interpreters[activationsOnly] { return existing }
        var options = baseOptions
        options.keep = activationsOnly
        let interpreter: Interpreter
        do { interpreter = try Interpreter(model: model, options: options) } catch { throw ExplainError.model(error) }
        if interpreters.count >= 4 { interpreters.removeAll() }  // bound memory when methods alternate
        interpreters[activationsOnly] = interpreter
        return interpreter
    }

    /// Tensor `t`'s real values after an invocation, in this explainer's float buffer for it.
    func load(_ tensor: Int, from interpreter: Interpreter) throws(ExplainError) -> UnsafeBufferPointer<Float> {
        let info = model.tensors[tensor]
        let destination = activations.buffer(tensor, count: info.elementCount)
        let scale = info.quantization?.scale ?? 1
        let zero = info.quantization?.zeroPoint ?? 0
        let quantized = info.quantization != nil && !(info.quantization?.scales.isEmpty ?? true)
        do {
            try interpreter.withTensorBytes(tensor) { raw in
                switch info.type {
                case .int8, .uint8:
                    guard let q = raw.baseAddress, let y = destination.baseAddress else { return }
                    VectorLoops.dequantize(q, signed: info.type == .int8, count: min(raw.count, destination.count),
                                           scale: scale, zeroPoint: zero, into: y)
                case .float32:
                    for i in 0..<destination.count {
                        destination[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    }
                case .int32:
                    for i in 0..<destination.count {
                        let v = Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                        destination[i] = quantized ? scale * Float(v - zero) : Float(v)
                    }
                default:
                    destination.update(repeating: 0)
                }
            }
        } catch { throw ExplainError.input(error) }
        return UnsafeBufferPointer(destination)
    }

    /// The class explained and its score.
    func resolve(_ target: ExplanationTarget, _ interpreter: Interpreter) throws(ExplainError) -> (Int, Float) {
        let scores = try load(scoreTensor, from: interpreter)
        guard !scores.isEmpty else { throw ExplainError.noSuchClass(0, classes: 0) }
        switch target {
        case .top1:
            var best = 0
            for i in scores.indices where scores[i] > scores[best] { best = i }
            return (best, scores[best])
        case let .classIndex(k):
            guard scores.indices.contains(k) else { throw ExplainError.noSuchClass(k, classes: scores.count) }
            return (k, scores[k])
        }
    }

    // MARK: - Backward

    /// The (cached) backward pass from `source` to the score tensor.
    func backwardPass(from source: Int) throws(ExplainError) -> BackwardPass {
        if let existing = backwardPasses[source] { return existing }
        let pass = try BackwardPass(model: model, order: order, sources: [source], score: scoreTensor)
        guard pass.paths.tensors.contains(source) else {
            throw ExplainError.notOnPath(tensor: source, name: model.tensors[source].name)
        }
        backwardPasses[source] = pass
        return pass
    }

    /// d score[targetClass] / d source, from the activations recorded by `interpreter`.
    func backward(_ pass: BackwardPass, interpreter: Interpreter, targetClass: Int, guided: Bool,
                  source: Int) throws(ExplainError) -> UnsafeBufferPointer<Float> {
        for tensor in pass.floatActivations { _ = try load(tensor, from: interpreter) }
        let activations = self.activations
        let model = self.model
        pass.run(gradients: gradients, activation: { tensor in
            UnsafeBufferPointer(activations.buffer(tensor, count: model.tensors[tensor].elementCount))
        }, quantized: { tensor in
            // Kept by the recording interpreter (requiredActivations), so its memory holds this pass's values.
            interpreter.unsafeTensorMemory(tensor).map { UnsafeRawBufferPointer($0) }
        }, guided: guided, pool: interpreter.pool, seed: { seed in
            seed.update(repeating: 0)
            // Batch 1: class k of the score tensor; for [1, …, K] scores, the first row.
            if seed.indices.contains(targetClass) { seed[targetClass] = 1 }
        })
        return UnsafeBufferPointer(gradients.buffer(source, count: model.tensors[source].elementCount))
    }

    // MARK: - CAM

    /// `W[c, :]` of the FULLY_CONNECTED layer fed by the global average of `layer`; throws for other heads.
    func camWeights(layer: Int, targetClass: Int) throws(ExplainError) -> [Float] {
        let head: (weights: [Float], channels: Int)
        if let cached = camHeads[layer] {
            head = cached
        } else {
            head = try camHead(layer: layer)
            camHeads[layer] = head
        }
        guard targetClass >= 0, head.weights.count >= (targetClass + 1) * head.channels else {
            throw ExplainError.camNeedsGlobalPoolingHead("class \(targetClass) is not an output of the FULLY_CONNECTED layer")
        }
        return Array(head.weights[(targetClass * head.channels)..<((targetClass + 1) * head.channels)])
    }

    /// Finds and dequantizes the FULLY_CONNECTED weights fed by the global average of `layer`.
    private func camHead(layer: Int) throws(ExplainError) -> (weights: [Float], channels: Int) {
        let consumers = model.operators.filter { $0.inputs.contains(layer) }
        guard consumers.count == 1, let pool = consumers.first else {
            throw ExplainError.camNeedsGlobalPoolingHead("the layer is read by \(consumers.count) operators, not one global pool")
        }
        let shape = model.tensors[layer].shape
        var isGlobalAverage = false
        if pool.code == .mean, pool.inputs.count > 1, model.tensors[pool.inputs[1]].isConstant {
            let axes = (try? model.constant(pool.inputs[1], as: Int32.self)) ?? []
            isGlobalAverage = Set(axes.map { Int($0) < 0 ? Int($0) + 4 : Int($0) }) == [1, 2]
        } else if pool.code == .averagePool2D, let out = pool.outputs.first {
            let outShape = model.tensors[out].shape
            isGlobalAverage = outShape.count == 4 && outShape[1] == 1 && outShape[2] == 1
                && { if case let .pool(o) = pool.options { return o.filterHeight >= shape[1] && o.filterWidth >= shape[2] }; return false }()
        }
        guard isGlobalAverage, var tensor = pool.outputs.first else {
            throw ExplainError.camNeedsGlobalPoolingHead("the layer is read by \(pool.name), not a global average over height and width")
        }
        while true {
            let readers = model.operators.filter { $0.inputs.contains(tensor) }
            guard readers.count == 1, let next = readers.first, let out = next.outputs.first else {
                throw ExplainError.camNeedsGlobalPoolingHead("the pooled features are not read by exactly one operator")
            }
            switch next.code {
            case .reshape, .squeeze, .quantize, .dequantize:
                tensor = out
                continue
            case .fullyConnected:
                guard Self.logitsPath(from: out, to: scoreTensor, in: model), next.inputs.count > 1 else {
                    throw ExplainError.camNeedsGlobalPoolingHead("the FULLY_CONNECTED layer is not the last before the scores")
                }
                let weights = try dequantizedConstant(next.inputs[1], model: model, op: next)
                let inputs = model.tensors[next.inputs[1]].shape.last ?? 0
                guard inputs == shape[3], inputs > 0 else {
                    throw ExplainError.camNeedsGlobalPoolingHead("the FULLY_CONNECTED weights do not match the layer's \(shape[3]) channels")
                }
                return (weights, inputs)
            default:
                throw ExplainError.camNeedsGlobalPoolingHead("the pooled features go to \(next.name), not FULLY_CONNECTED")
            }
        }
    }

    /// Whether `tensor` is the score tensor or reaches it only through value-preserving ops.
    static func logitsPath(from tensor: Int, to score: Int, in model: Model) -> Bool {
        var current = tensor
        while current != score {
            guard let next = model.operators.first(where: { $0.inputs.first == current }),
                  [.reshape, .squeeze, .quantize, .dequantize].contains(next.code),
                  let out = next.outputs.first else { return false }
            current = out
        }
        return true
    }

    // MARK: - Occlusion

    private func occlusion(input: some Collection<UInt8>, target: ExplanationTarget,
                           options: OcclusionOptions) throws(ExplainError) -> Explanation {
        let shape = model.tensors[inputTensor].shape
        guard shape.count == 4 else { throw ExplainError.invalidOption("occlusion needs an NHWC model input") }
        let result = try occlusionRunner().map(input: input, target: target, options: options)
        return Explanation(method: .occlusion, targetClass: result.targetClass, score: result.score, layer: nil,
                           layerName: nil, map: result.map, inputWidth: shape[2], inputHeight: shape[1])
    }

    func occlusionRunner() throws(ExplainError) -> OcclusionRunner {
        if let occlusion { return occlusion }
        let runner = try OcclusionRunner(explainer: self)
        occlusion = runner
        return runner
    }
}
