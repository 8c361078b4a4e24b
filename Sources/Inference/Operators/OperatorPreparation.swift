/// Reads and checks the tensors of one operator while it is prepared, turning every
/// problem into a ``ModelError`` that names the operator (index and op name) and the
/// tensors involved.
struct OperatorPreparation {
    let op: OperatorInfo
    let model: Model

    init(_ op: OperatorInfo, in model: Model) {
        self.op = op
        self.model = model
    }

    // MARK: Errors

    /// The op exists but not with these types or options.
    func unsupported(_ reason: String) -> ModelError {
        .unsupportedConfiguration(operator: op.name, index: op.index, reason: reason)
    }

    /// The model breaks a structural rule of the op (wrong shapes, missing tensors, …).
    func invalid(_ reason: String) -> ModelError {
        .invalid("operator #\(op.index) \(op.name): \(reason)")
    }

    /// `tensor 12 'name' [1, 8, 8, 3] int8` for messages.
    func describe(_ tensor: TensorInfo) -> String {
        "tensor \(tensor.index) '\(tensor.name)' \(tensor.shape) \(tensor.type)"
    }

    // MARK: Tensors

    /// Checks the number of inputs (absent optional inputs included) and outputs.
    func requireCounts(inputs: ClosedRange<Int>, outputs: Int = 1) throws(ModelError) {
        guard inputs.contains(op.inputs.count) else {
            throw invalid("has \(op.inputs.count) inputs, expected \(inputs.lowerBound == inputs.upperBound ? "\(inputs.lowerBound)" : "\(inputs.lowerBound) to \(inputs.upperBound)")")
        }
        guard op.outputs.count == outputs else {
            throw invalid("has \(op.outputs.count) outputs, expected \(outputs)")
        }
    }

    private func tensor(_ index: Int, role: String) throws(ModelError) -> TensorInfo {
        guard model.tensors.indices.contains(index) else {
            throw invalid("\(role) refers to tensor \(index), but the model has \(model.tensors.count) tensors")
        }
        let tensor = model.tensors[index]
        guard tensor.shape.allSatisfy({ $0 >= 0 }) else {
            throw invalid("\(role) \(describe(tensor)) has a negative dimension")
        }
        guard tensor.byteCount != nil else {
            throw unsupported("\(role) \(describe(tensor)) has type \(tensor.type), which this engine does not handle")
        }
        return tensor
    }

    /// A required input.
    func input(_ position: Int, _ role: String = "input") throws(ModelError) -> TensorInfo {
        guard op.inputs.indices.contains(position), op.inputs[position] >= 0 else {
            throw invalid("\(role) (input \(position)) is missing")
        }
        return try tensor(op.inputs[position], role: role)
    }

    /// An optional input: nil when absent or marked -1.
    func optionalInput(_ position: Int, _ role: String) throws(ModelError) -> TensorInfo? {
        guard op.inputs.indices.contains(position), op.inputs[position] >= 0 else { return nil }
        return try tensor(op.inputs[position], role: role)
    }

    func output(_ position: Int = 0) throws(ModelError) -> TensorInfo {
        guard op.outputs.indices.contains(position), op.outputs[position] >= 0 else {
            throw invalid("output \(position) is missing")
        }
        let output = try tensor(op.outputs[position], role: "output")
        guard !output.isConstant else { throw invalid("output \(describe(output)) is a constant tensor") }
        return output
    }

    /// Refuses a constant where the op reads an activation through ``TensorPointers``.
    func requireActivation(_ tensor: TensorInfo, _ role: String) throws(ModelError) {
        guard !tensor.isConstant else {
            throw unsupported("\(role) \(describe(tensor)) is a constant; this engine expects an activation here")
        }
    }

    /// Refuses tensor types other than `allowed`, naming float ops in int8 graphs plainly.
    func requireType(_ tensor: TensorInfo, _ allowed: [TensorType], _ role: String) throws(ModelError) {
        guard allowed.contains(tensor.type) else {
            let list = allowed.map(\.description).joined(separator: " or ")
            throw unsupported("\(role) \(describe(tensor)) is \(tensor.type); this engine runs \(op.name) on \(list) only")
        }
    }

    /// Refuses an output whose declared shape differs from the one the op computes.
    func requireShape(_ tensor: TensorInfo, _ expected: [Int], _ role: String = "output") throws(ModelError) {
        guard tensor.shape == expected else {
            throw invalid("\(role) \(describe(tensor)) should have shape \(expected) for the inputs "
                + op.inputs.filter { $0 >= 0 && model.tensors.indices.contains($0) }
                .map { "\(model.tensors[$0].index) \(model.tensors[$0].shape)" }.joined(separator: ", "))
        }
    }

    func requireRank(_ tensor: TensorInfo, _ rank: Int, _ role: String) throws(ModelError) {
        guard tensor.shape.count == rank else {
            throw invalid("\(role) \(describe(tensor)) must have \(rank) dimensions")
        }
    }

    // MARK: Quantization

    /// The single scale and zero point of an activation tensor; the zero point must fit the
    /// tensor's integer type and the scale be positive and finite.
    func perTensorQuantization(_ tensor: TensorInfo, _ role: String) throws(ModelError) -> (scale: Float, zeroPoint: Int32) {
        guard let quantization = tensor.quantization, !quantization.scales.isEmpty else {
            throw unsupported("\(role) \(describe(tensor)) has no quantization parameters")
        }
        guard quantization.scales.count == 1 else {
            throw unsupported("\(role) \(describe(tensor)) is quantized per channel; only weights may be")
        }
        let scale = quantization.scale
        guard scale.isFinite, scale > 0 else {
            throw invalid("\(role) \(describe(tensor)) has scale \(scale); it must be positive and finite")
        }
        let zeroPoint = quantization.zeroPoints.first ?? 0
        let range: ClosedRange<Int64>
        switch tensor.type {
        case .int8: range = -128...127
        case .uint8: range = 0...255
        case .int16: range = -32768...32767
        default: range = Int64(Int32.min)...Int64(Int32.max)
        }
        guard range.contains(zeroPoint) else {
            throw invalid("\(role) \(describe(tensor)) has zero point \(zeroPoint), outside the range of \(tensor.type)")
        }
        return (scale, Int32(zeroPoint))
    }

    /// Weight scales: one per output channel along `channelDimension`, or one for the tensor
    /// (then repeated `channels` times). Zero points must be 0 (symmetric int8 weights).
    func weightScales(_ filter: TensorInfo, channels: Int, channelDimension: Int) throws(ModelError) -> [Float] {
        guard let quantization = filter.quantization, !quantization.scales.isEmpty else {
            throw unsupported("filter \(describe(filter)) has no quantization parameters (hybrid or float weights)")
        }
        let scales = quantization.scales
        guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw invalid("filter \(describe(filter)) has a scale that is not positive and finite")
        }
        guard quantization.zeroPoints.allSatisfy({ $0 == 0 }) else {
            throw unsupported("filter \(describe(filter)) has non-zero zero points; int8 weights must be symmetric")
        }
        if scales.count == 1 { return [Float](repeating: scales[0], count: channels) }
        guard scales.count == channels, quantization.quantizedDimension == channelDimension else {
            throw invalid("filter \(describe(filter)) has \(scales.count) scales along dimension "
                + "\(quantization.quantizedDimension); expected \(channels) along dimension \(channelDimension)")
        }
        return scales
    }

    /// The clamp range of a fused activation on `output`.
    func activationRange<T: FixedWidthInteger>(
        _ activation: FusedActivation, output: TensorInfo, scale: Float, zeroPoint: Int32, type: T.Type
    ) throws(ModelError) -> ActivationRange {
        guard let range = ActivationRange.quantized(activation, scale: scale, zeroPoint: zeroPoint, type: type) else {
            if activation == .tanh || activation == .signBit {
                throw unsupported("fused activation \(activation) is not supported")
            }
            throw invalid("fused activation \(activation) cannot be represented on output \(describe(output))")
        }
        return range
    }

    // MARK: Constants

    /// A constant tensor's elements, checked against its shape.
    func constant<T: FixedWidthInteger>(_ tensor: TensorInfo, as type: T.Type, _ role: String) throws(ModelError) -> [T] {
        guard tensor.isConstant else {
            throw unsupported("\(role) \(describe(tensor)) must be a constant tensor")
        }
        let values = try model.constant(tensor.index, as: type)
        guard values.count == tensor.elementCount else {
            throw invalid("\(role) \(describe(tensor)) holds \(values.count) elements, its shape says \(tensor.elementCount)")
        }
        return values
    }

    /// An integer constant used as a parameter (axes, shapes, paddings): int32 or int64.
    func integerParameters(_ tensor: TensorInfo, _ role: String) throws(ModelError) -> [Int] {
        switch tensor.type {
        case .int32: return try constant(tensor, as: Int32.self, role).map { Int($0) }
        case .int64:
            let values = try constant(tensor, as: Int64.self, role)
            guard values.allSatisfy({ abs($0) < (1 << 40) }) else { throw invalid("\(role) \(describe(tensor)) holds absurd values") }
            return values.map { Int($0) }
        default: throw unsupported("\(role) \(describe(tensor)) is \(tensor.type); expected int32 or int64")
        }
    }

    /// Where an input's values come from at run time: the tensor memory, or a copy made now
    /// when the input is a constant.
    func operand<T: FixedWidthInteger & Sendable>(_ tensor: TensorInfo, as type: T.Type, _ role: String) throws(ModelError) -> Operand<T> {
        tensor.isConstant ? .constant(try constant(tensor, as: type, role)) : .tensor(tensor.index)
    }
}

/// An input of an operator: an activation found through ``TensorPointers``, or a constant
/// copied at load time (so a run never depends on how the plan places constants).
enum Operand<Element: Sendable>: Sendable {
    case tensor(Int)
    case constant([Element])

    /// Calls `body` with the operand's `count` elements.
    @inline(__always)
    func withBuffer<R>(_ tensors: TensorPointers, count: Int, _ body: (UnsafeBufferPointer<Element>) -> R) -> R {
        switch self {
        case let .tensor(index):
            return body(UnsafeBufferPointer(tensors.buffer(index, as: Element.self, count: count)))
        case let .constant(values):
            return values.withUnsafeBufferPointer(body)
        }
    }
}
