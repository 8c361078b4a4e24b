/// CONCATENATION of int8 or uint8 tensors along any axis.
struct ConcatenationOperator: PreparedOperator {
    let info: OperatorInfo
    let parameters: ConcatenationParameters
    let inputs: [Operand<UInt8>]
    let inputCounts: [Int]
    let output: Int
    let outputCount: Int

    var multiplyAccumulates: Int { 0 }

    /// Mirrors TFLite `concatenation.cc`: the activation must be NONE, all ranks equal and
    /// all dimensions but the axis equal. Int8 inputs must share the output's scale and zero
    /// point (TFLite's Prepare refuses otherwise); uint8 inputs are requantized when they differ.
    init(_ op: OperatorInfo, in model: Model) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        guard case let .concatenation(axisOption, activation) = op.options else {
            throw prep.invalid("has no ConcatenationOptions")
        }
        guard activation == .none else { throw prep.unsupported("fused activation \(activation) is not supported") }
        try prep.requireCounts(inputs: 1...Int.max)
        let output = try prep.output()
        try prep.requireType(output, [.int8, .uint8], "output")
        let rank = output.shape.count
        guard axisOption >= -rank, axisOption < rank else {
            throw prep.invalid("axis \(axisOption) is out of range for output \(prep.describe(output))")
        }
        let axis = axisOption < 0 ? axisOption + rank : axisOption
        let outputQuantization = try prep.perTensorQuantization(output, "output")

        var tensors: [TensorInfo] = []
        var requantization: [ConcatenationParameters.Requantization?] = []
        for position in op.inputs.indices {
            let input = try prep.input(position, "input \(position)")
            try prep.requireType(input, [output.type], "input \(position)")
            guard input.shape.count == rank,
                  input.shape.indices.allSatisfy({ $0 == axis || input.shape[$0] == output.shape[$0] }) else {
                throw prep.invalid("input \(prep.describe(input)) does not fit output \(prep.describe(output)) along axis \(axis)")
            }
            let q = try prep.perTensorQuantization(input, "input \(position)")
            let factors = ConcatenationParameters.requantization(
                inputScale: q.scale, inputZeroPoint: q.zeroPoint,
                outputScale: outputQuantization.scale, outputZeroPoint: outputQuantization.zeroPoint)
            if factors != nil && output.type == .int8 {
                throw prep.unsupported("int8 input \(prep.describe(input)) is quantized differently from the output; "
                    + "LiteRT's int8 CONCATENATION refuses to rescale")
            }
            requantization.append(factors)
            tensors.append(input)
        }
        try prep.requireShape(output, output.shape.enumerated().map {
            $0.offset == axis ? tensors.reduce(0) { $0 + $1.shape[axis] } : $0.element
        })
        let inner = output.shape[(axis + 1)...].reduce(1, *)
        self.info = op
        self.parameters = ConcatenationParameters(
            outerCount: output.shape[..<axis].reduce(1, *),
            copyCounts: tensors.map { $0.shape[axis] * inner },
            requantization: requantization, outputZeroPoint: outputQuantization.zeroPoint)
        var operands: [Operand<UInt8>] = []
        for (position, tensor) in tensors.enumerated() {
            operands.append(try prep.operand(tensor, as: UInt8.self, "input \(position)"))
        }
        self.inputs = operands
        self.inputCounts = tensors.map(\.elementCount)
        self.output = output.index
        self.outputCount = output.elementCount
    }

    func run(_ tensors: TensorPointers) {
        let output = tensors.buffer(self.output, as: UInt8.self, count: outputCount)
        for (index, input) in inputs.enumerated() {
            // Int8 inputs are never requantized (checked at load), so one byte-wise kernel
            // serves both types: the uint8 requantization only touches uint8 data.
            input.withBuffer(tensors, count: inputCounts[index]) { input in
                ReferenceKernels.concatenate(parameters, index: index, input: input, output: output)
            }
        }
    }
}
