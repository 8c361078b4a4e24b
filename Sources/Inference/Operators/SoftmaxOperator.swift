/// SOFTMAX of int8 (or uint8) activations over the last dimension.
struct SoftmaxOperator: PreparedOperator {
    let info: OperatorInfo
    let parameters: SoftmaxParameters
    let isUnsigned: Bool
    let input: Int
    let output: Int
    let count: Int

    var multiplyAccumulates: Int { 0 }

    /// Mirrors TFLite `SoftmaxPrepare<kReference>` (`activations.cc`): an int8 output must
    /// have zero point -128 and scale 1/256 (±0.1 %); uint8 outputs zero point 0 likewise.
    init(_ op: OperatorInfo, in model: Model) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        guard case let .softmax(beta) = op.options else { throw prep.invalid("has no SoftmaxOptions") }
        try prep.requireCounts(inputs: 1...1)
        let input = try prep.input(0), output = try prep.output()
        try prep.requireType(input, [.int8, .uint8], "input")
        try prep.requireActivation(input, "input")
        try prep.requireType(output, [input.type], "output")
        guard let depth = input.shape.last else { throw prep.invalid("input \(prep.describe(input)) is a scalar") }
        try prep.requireShape(output, input.shape)
        let inputQuantization = try prep.perTensorQuantization(input, "input")
        let outputQuantization = try prep.perTensorQuantization(output, "output")
        let expectedZeroPoint: Int32 = input.type == .int8 ? -128 : 0
        guard outputQuantization.zeroPoint == expectedZeroPoint,
              abs(outputQuantization.scale - 1 / 256) <= 0.001 / 256 else {
            throw prep.unsupported("output \(prep.describe(output)) must have scale 1/256 and zero point \(expectedZeroPoint)")
        }
        guard let parameters = SoftmaxParameters(
            outerCount: depth == 0 ? 0 : input.elementCount / depth, depth: depth,
            beta: beta, inputScale: inputQuantization.scale)
        else { throw prep.unsupported("beta \(beta) × input scale \(inputQuantization.scale) is too small") }
        self.info = op
        self.parameters = parameters
        self.isUnsigned = input.type == .uint8
        self.input = input.index
        self.output = output.index
        self.count = input.elementCount
    }

    func run(_ tensors: TensorPointers) {
        if isUnsigned {
            ReferenceKernels.softmax(parameters, input: UnsafeBufferPointer(tensors.buffer(input, as: UInt8.self, count: count)),
                                     output: tensors.buffer(output, as: UInt8.self, count: count))
        } else {
            ReferenceKernels.softmax(parameters, input: UnsafeBufferPointer(tensors.buffer(input, as: Int8.self, count: count)),
                                     output: tensors.buffer(output, as: Int8.self, count: count))
        }
    }
}
