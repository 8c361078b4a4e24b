/// QUANTIZE (float32 → int8/uint8, or int8/uint8 → int8/uint8) and DEQUANTIZE
/// (int8/uint8 → float32): the boundaries of float-I/O models.
struct QuantizeOperator: PreparedOperator {
    enum Kernel: Sendable {
        case quantize(AffineQuantizeParameters)
        case requantize(RequantizeParameters)
        case dequantize(DequantizeParameters)
    }

    let info: OperatorInfo
    let kernel: Kernel
    let inputType: TensorType
    let outputType: TensorType
    let input: Int
    let output: Int
    let count: Int

    var multiplyAccumulates: Int { 0 }

    /// Mirrors TFLite `quantize.cc` and `dequantize.cc` Prepare: per-tensor quantization
    /// only; requantization uses `QuantizeMultiplier(inputScale / outputScale)` in double.
    init(_ op: OperatorInfo, in model: Model) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        try prep.requireCounts(inputs: 1...1)
        let input = try prep.input(0), output = try prep.output()
        try prep.requireActivation(input, "input")
        try prep.requireShape(output, input.shape)
        if op.code == .dequantize {
            try prep.requireType(input, [.int8, .uint8], "input")
            try prep.requireType(output, [.float32], "output")
            let q = try prep.perTensorQuantization(input, "input")
            kernel = .dequantize(DequantizeParameters(scale: q.scale, zeroPoint: q.zeroPoint))
        } else {
            try prep.requireType(input, [.float32, .int8, .uint8], "input")
            try prep.requireType(output, [.int8, .uint8], "output")
            let qo = try prep.perTensorQuantization(output, "output")
            if input.type == .float32 {
                kernel = .quantize(AffineQuantizeParameters(scale: qo.scale, zeroPoint: qo.zeroPoint))
            } else {
                let qi = try prep.perTensorQuantization(input, "input")
                kernel = .requantize(RequantizeParameters(
                    inputZeroPoint: qi.zeroPoint, outputZeroPoint: qo.zeroPoint,
                    multiplier: QuantizedMultiplier(Double(qi.scale) / Double(qo.scale))))
            }
        }
        self.info = op
        self.inputType = input.type
        self.outputType = output.type
        self.input = input.index
        self.output = output.index
        self.count = input.elementCount
    }

    func run(_ tensors: TensorPointers) {
        switch kernel {
        case let .quantize(p):
            let input = UnsafeBufferPointer(tensors.buffer(self.input, as: Float.self, count: count))
            if outputType == .uint8 {
                ReferenceKernels.quantize(p, input: input, output: tensors.buffer(output, as: UInt8.self, count: count))
            } else {
                ReferenceKernels.quantize(p, input: input, output: tensors.buffer(output, as: Int8.self, count: count))
            }
        case let .requantize(p):
            switch (inputType, outputType) {
            case (.uint8, .uint8):
                ReferenceKernels.requantize(p, input: UnsafeBufferPointer(tensors.buffer(input, as: UInt8.self, count: count)),
                                            output: tensors.buffer(output, as: UInt8.self, count: count))
            case (.uint8, _):
                ReferenceKernels.requantize(p, input: UnsafeBufferPointer(tensors.buffer(input, as: UInt8.self, count: count)),
                                            output: tensors.buffer(output, as: Int8.self, count: count))
            case (_, .uint8):
                ReferenceKernels.requantize(p, input: UnsafeBufferPointer(tensors.buffer(input, as: Int8.self, count: count)),
                                            output: tensors.buffer(output, as: UInt8.self, count: count))
            default:
                ReferenceKernels.requantize(p, input: UnsafeBufferPointer(tensors.buffer(input, as: Int8.self, count: count)),
                                            output: tensors.buffer(output, as: Int8.self, count: count))
            }
        case let .dequantize(p):
            let output = tensors.buffer(self.output, as: Float.self, count: count)
            if inputType == .uint8 {
                ReferenceKernels.dequantize(p, input: UnsafeBufferPointer(tensors.buffer(input, as: UInt8.self, count: count)),
                                            output: output)
            } else {
                ReferenceKernels.dequantize(p, input: UnsafeBufferPointer(tensors.buffer(input, as: Int8.self, count: count)),
                                            output: output)
            }
        }
    }
}
