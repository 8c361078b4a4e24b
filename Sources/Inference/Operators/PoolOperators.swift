/// AVERAGE_POOL_2D or MAX_POOL_2D on int8 NHWC activations.
struct PoolOperator: PreparedOperator {
    let info: OperatorInfo
    let parameters: PoolParameters
    let isAverage: Bool
    let input: Int
    let output: Int

    var multiplyAccumulates: Int { 0 }

    /// Mirrors TFLite `pooling.cc` Prepare for int8: padding from `ComputePaddingHeightWidth`
    /// with dilation 1, clamp range from the fused activation.
    init(_ op: OperatorInfo, in model: Model) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        guard case let .pool(options) = op.options else { throw prep.invalid("has no Pool2DOptions") }
        try prep.requireCounts(inputs: 1...1)
        let input = try prep.input(0), output = try prep.output()
        try prep.requireType(input, [.int8], "input")
        try prep.requireActivation(input, "input")
        try prep.requireType(output, [.int8], "output")
        try prep.requireRank(input, 4, "input")
        guard let rows = WindowGeometry(padding: options.padding, inputSize: input.shape[1], filterSize: options.filterHeight,
                                        stride: options.strideHeight, dilation: 1),
              let columns = WindowGeometry(padding: options.padding, inputSize: input.shape[2],
                                           filterSize: options.filterWidth, stride: options.strideWidth, dilation: 1)
        else { throw prep.invalid("has invalid filter \(options.filterHeight)x\(options.filterWidth) or strides") }
        try prep.requireShape(output, [input.shape[0], rows.outputSize, columns.outputSize, input.shape[3]])
        // The int8 pools copy quantized values; TFLite only DCHECKs that input and output
        // quantization agree, and the release kernels ignore any difference. So do we.
        _ = try prep.perTensorQuantization(input, "input")
        let outputQuantization = try prep.perTensorQuantization(output, "output")
        let activation = try prep.activationRange(options.activation, output: output, scale: outputQuantization.scale,
                                                  zeroPoint: outputQuantization.zeroPoint, type: Int8.self)
        self.info = op
        self.isAverage = op.code == .averagePool2D
        self.input = input.index
        self.output = output.index
        self.parameters = PoolParameters(
            batches: input.shape[0], inputHeight: input.shape[1], inputWidth: input.shape[2], depth: input.shape[3],
            filterHeight: options.filterHeight, filterWidth: options.filterWidth,
            outputHeight: rows.outputSize, outputWidth: columns.outputSize,
            strideHeight: options.strideHeight, strideWidth: options.strideWidth,
            paddingTop: rows.padding, paddingLeft: columns.padding, activation: activation)
    }

    func run(_ tensors: TensorPointers) {
        let p = parameters
        let input = UnsafeBufferPointer(tensors.buffer(
            self.input, as: Int8.self, count: p.batches * p.inputHeight * p.inputWidth * p.depth))
        let output = tensors.buffer(self.output, as: Int8.self, count: p.batches * p.outputHeight * p.outputWidth * p.depth)
        if isAverage {
            ReferenceKernels.averagePool2D(p, input: input, output: output)
        } else {
            ReferenceKernels.maxPool2D(p, input: input, output: output)
        }
    }
}
