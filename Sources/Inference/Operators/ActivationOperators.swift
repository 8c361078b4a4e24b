/// LOGISTIC, HARD_SWISH, RELU, RELU6 and RELU_N1_TO_1 on int8 or uint8 activations.
struct ActivationOperator: PreparedOperator {
    enum Kernel: Sendable {
        case signedTable(LookupTable<Int8>)
        case unsignedTable(LookupTable<UInt8>)
        case hardSwish(HardSwishParameters)
        case relu(ReluParameters)
    }

    let info: OperatorInfo
    let kernel: Kernel
    let isUnsigned: Bool
    let input: Int
    let output: Int
    let count: Int

    var multiplyAccumulates: Int { 0 }

    /// Mirrors the Prepare functions of TFLite `activations.cc` for int8/uint8 in reference
    /// mode: LOGISTIC builds a 256-entry table in float (`SigmoidPrepare`, output scale
    /// 1/256 required); HARD_SWISH uses
    /// `HardSwishPrepare`; the RELUs requantize with `QuantizedReluX`.
    init(_ op: OperatorInfo, in model: Model) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        try prep.requireCounts(inputs: 1...1)
        let input = try prep.input(0), output = try prep.output()
        try prep.requireType(input, [.int8, .uint8], "input")
        try prep.requireActivation(input, "input")
        try prep.requireType(output, [input.type], "output")
        try prep.requireShape(output, input.shape)
        let qi = try prep.perTensorQuantization(input, "input")
        let qo = try prep.perTensorQuantization(output, "output")
        let isUnsigned = input.type == .uint8

        switch op.code {
        case .logistic:
            // SigmoidPrepare insists on the scale only; the table honours any zero point.
            guard qo.scale == 1 / 256 else {
                throw prep.unsupported("output \(prep.describe(output)) must have scale 1/256")
            }
            kernel = isUnsigned
                ? .unsignedTable(LookupTable<UInt8>(inputScale: qi.scale, inputZeroPoint: qi.zeroPoint, outputScale: qo.scale,
                                                    outputZeroPoint: qo.zeroPoint, transform: LookupTable<UInt8>.logistic))
                : .signedTable(LookupTable<Int8>(inputScale: qi.scale, inputZeroPoint: qi.zeroPoint, outputScale: qo.scale,
                                                 outputZeroPoint: qo.zeroPoint, transform: LookupTable<Int8>.logistic))
        case .hardSwish:
            guard let parameters = HardSwishParameters(inputScale: qi.scale, inputZeroPoint: qi.zeroPoint,
                                                       outputScale: qo.scale, outputZeroPoint: qo.zeroPoint) else {
                throw prep.unsupported("output scale \(qo.scale) is too small for input scale \(qi.scale)")
            }
            kernel = .hardSwish(parameters)
        case .relu, .relu6, .reluN1To1:
            let bounds: (Float, Float?) = op.code == .relu ? (0, nil) : op.code == .relu6 ? (0, 6) : (-1, 1)
            let parameters = isUnsigned
                ? ReluParameters.make(lower: bounds.0, upper: bounds.1, inputScale: qi.scale, inputZeroPoint: qi.zeroPoint,
                                      outputScale: qo.scale, outputZeroPoint: qo.zeroPoint, type: UInt8.self)
                : ReluParameters.make(lower: bounds.0, upper: bounds.1, inputScale: qi.scale, inputZeroPoint: qi.zeroPoint,
                                      outputScale: qo.scale, outputZeroPoint: qo.zeroPoint, type: Int8.self)
            guard let parameters else { throw prep.invalid("the activation bounds overflow on output \(prep.describe(output))") }
            kernel = .relu(parameters)
        default:
            throw prep.invalid("is not an activation op")
        }
        self.info = op
        self.isUnsigned = isUnsigned
        self.input = input.index
        self.output = output.index
        self.count = input.elementCount
    }

    func run(_ tensors: TensorPointers) {
        if isUnsigned {
            let input = UnsafeBufferPointer(tensors.buffer(self.input, as: UInt8.self, count: count))
            let output = tensors.buffer(self.output, as: UInt8.self, count: count)
            switch kernel {
            case let .unsignedTable(table): ReferenceKernels.lookup(table, input: input, output: output)
            case let .hardSwish(p): ReferenceKernels.hardSwish(p, input: input, output: output)
            case let .relu(p): ReferenceKernels.relu(p, input: input, output: output)
            case .signedTable: break  // not built for uint8
            }
        } else {
            let input = UnsafeBufferPointer(tensors.buffer(self.input, as: Int8.self, count: count))
            let output = tensors.buffer(self.output, as: Int8.self, count: count)
            switch kernel {
            case let .signedTable(table): ReferenceKernels.lookup(table, input: input, output: output)
            case let .hardSwish(p): ReferenceKernels.hardSwish(p, input: input, output: output)
            case let .relu(p): ReferenceKernels.relu(p, input: input, output: output)
            case .unsignedTable: break  // not built for int8
            }
        }
    }
}
