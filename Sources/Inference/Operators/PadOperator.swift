/// PAD and PADV2 of int8 or uint8 activations with constant paddings.
struct PadOperator: PreparedOperator {
    let info: OperatorInfo
    let parameters: PadParameters
    let padValue: UInt8
    let isUnsigned: Bool
    let input: Int
    let inputCount: Int
    let output: Int
    let outputCount: Int

    var multiplyAccumulates: Int { 0 }

    /// Mirrors TFLite `pad.cc` for quantized types: PAD fills with the output zero point;
    /// PADV2's constant must share the output's scale and zero point.
    init(_ op: OperatorInfo, in model: Model) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        try prep.requireCounts(inputs: op.code == .padV2 ? 2...3 : 2...2)
        let input = try prep.input(0), paddingsTensor = try prep.input(1, "paddings"), output = try prep.output()
        try prep.requireType(input, [.int8, .uint8], "input")
        try prep.requireActivation(input, "input")
        try prep.requireType(output, [input.type], "output")
        let flat = try prep.integerParameters(paddingsTensor, "paddings")
        let rank = input.shape.count
        guard paddingsTensor.shape == [rank, 2], flat.count == 2 * rank else {
            throw prep.invalid("paddings \(prep.describe(paddingsTensor)) must have shape [\(rank), 2]")
        }
        let paddings = (0..<rank).map { (before: flat[2 * $0], after: flat[2 * $0 + 1]) }
        guard let parameters = PadParameters(inputShape: input.shape, paddings: paddings) else {
            throw prep.unsupported("paddings \(flat) of a rank-\(rank) input are not supported (negative or rank > 6)")
        }
        try prep.requireShape(output, parameters.outputShape(rank: rank))

        let outputQuantization = try prep.perTensorQuantization(output, "output")
        var padValue = UInt8(truncatingIfNeeded: outputQuantization.zeroPoint)
        if let constant = try prep.optionalInput(2, "constant value") {
            try prep.requireType(constant, [input.type], "constant value")
            let constantQuantization = try prep.perTensorQuantization(constant, "constant value")
            guard constantQuantization == outputQuantization else {
                throw prep.unsupported("constant value \(prep.describe(constant)) is quantized differently from the output")
            }
            guard let value = try prep.constant(constant, as: UInt8.self, "constant value").first, constant.elementCount == 1 else {
                throw prep.invalid("constant value \(prep.describe(constant)) must hold one element")
            }
            padValue = value
        }
        self.info = op
        self.parameters = parameters
        self.padValue = padValue
        self.isUnsigned = input.type == .uint8
        self.input = input.index
        self.inputCount = input.elementCount
        self.output = output.index
        self.outputCount = output.elementCount
    }

    func run(_ tensors: TensorPointers) {
        if isUnsigned {
            ReferenceKernels.pad(parameters, input: UnsafeBufferPointer(tensors.buffer(input, as: UInt8.self, count: inputCount)),
                                 padValue: padValue, output: tensors.buffer(output, as: UInt8.self, count: outputCount))
        } else {
            ReferenceKernels.pad(parameters, input: UnsafeBufferPointer(tensors.buffer(input, as: Int8.self, count: inputCount)),
                                 padValue: Int8(bitPattern: padValue),
                                 output: tensors.buffer(output, as: Int8.self, count: outputCount))
        }
    }
}
