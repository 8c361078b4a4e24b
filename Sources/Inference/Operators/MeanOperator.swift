/// MEAN of int8 or uint8 activations over constant axes, with or without `keep_dims`.
struct MeanOperator: PreparedOperator {
    let info: OperatorInfo
    let parameters: MeanParameters
    let isUnsigned: Bool
    let input: Int
    let inputCount: Int
    let output: Int
    let outputCount: Int

    var multiplyAccumulates: Int { 0 }

    /// Mirrors TFLite `reduce.cc` PrepareMeanOrSum and `ResolveAxis`: negative axes count
    /// from the end, duplicates are dropped; the multiplier is
    /// `QuantizeMultiplier(inputScale / outputScale)` in double, and the kernel folds in the
    /// element count.
    init(_ op: OperatorInfo, in model: Model) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        try prep.requireCounts(inputs: 2...2)
        let input = try prep.input(0), axesTensor = try prep.input(1, "axes"), output = try prep.output()
        try prep.requireType(input, [.int8, .uint8], "input")
        try prep.requireActivation(input, "input")
        try prep.requireType(output, [input.type], "output")
        let keepDimensions: Bool
        switch op.options {
        case let .reducer(keep): keepDimensions = keep
        case .none: keepDimensions = false
        default: throw prep.invalid("has options of another op")
        }

        let rank = input.shape.count
        var axes: [Int] = []
        for axis in try prep.integerParameters(axesTensor, "axes") {
            guard axis >= -rank, axis < rank else {
                throw prep.invalid("axis \(axis) is out of range for input \(prep.describe(input))")
            }
            let resolved = axis < 0 ? axis + rank : axis
            if !axes.contains(resolved) { axes.append(resolved) }
        }
        let expectedShape = keepDimensions
            ? input.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
            : input.shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        try prep.requireShape(output, expectedShape)
        guard input.elementCount > 0 else { throw prep.unsupported("empty input \(prep.describe(input))") }

        let inputQuantization = try prep.perTensorQuantization(input, "input")
        let outputQuantization = try prep.perTensorQuantization(output, "output")
        let multiplier = QuantizedMultiplier(Double(inputQuantization.scale) / Double(outputQuantization.scale))
        guard let parameters = MeanParameters(
            inputShape: input.shape, axes: axes, inputZeroPoint: inputQuantization.zeroPoint,
            outputZeroPoint: outputQuantization.zeroPoint, scaleMultiplier: multiplier)
        else { throw prep.unsupported("the scale ratio \(inputQuantization.scale / outputQuantization.scale) is too small") }

        self.info = op
        self.parameters = parameters
        self.isUnsigned = input.type == .uint8
        self.input = input.index
        self.inputCount = input.elementCount
        self.output = output.index
        self.outputCount = output.elementCount
    }

    func run(_ tensors: TensorPointers) {
        if isUnsigned {
            ReferenceKernels.mean(parameters,
                                  input: UnsafeBufferPointer(tensors.buffer(input, as: UInt8.self, count: inputCount)),
                                  output: tensors.buffer(output, as: UInt8.self, count: outputCount))
        } else {
            ReferenceKernels.mean(parameters,
                                  input: UnsafeBufferPointer(tensors.buffer(input, as: Int8.self, count: inputCount)),
                                  output: tensors.buffer(output, as: Int8.self, count: outputCount))
        }
    }
}
