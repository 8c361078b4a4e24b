/// FULLY_CONNECTED on int8 activations with int8 weights (per-tensor or per-channel),
/// optional int32 bias, and `keep_num_dims`.
struct FullyConnectedOperator: PreparedOperator {
    let info: OperatorInfo
    let parameters: FullyConnectedParameters
    let input: Int
    let output: Int
    let filter: [Int8]
    let bias: [Int32]?
    /// The SIMD kernel with its packed weights, or nil to run the reference kernel.
    let fast: FastFullyConnected?

    var multiplyAccumulates: Int { parameters.multiplyAccumulates }

    /// Mirrors TFLite `fully_connected.cc` Prepare for int8: the input is seen as
    /// `inputElements / filterColumns` rows; the output shape is `[rows, units]`, or the
    /// input's shape with the last dimension replaced when `keep_num_dims` is set. Per-tensor
    /// weights with a bias must pass `GetQuantizedConvolutionMultipler`'s bias-scale check.
    init(_ op: OperatorInfo, in model: Model, kernels: KernelSelection = .fast) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        guard case let .fullyConnected(options) = op.options else { throw prep.invalid("has no FullyConnectedOptions") }
        guard options.weightsFormat == 0 else {
            throw prep.unsupported("shuffled weights format \(options.weightsFormat) is not supported")
        }
        try prep.requireCounts(inputs: 2...3)
        let input = try prep.input(0), filter = try prep.input(1, "filter")
        let bias = try prep.optionalInput(2, "bias"), output = try prep.output()
        try prep.requireType(input, [.int8], "input")
        try prep.requireActivation(input, "input")
        try prep.requireType(filter, [.int8], "filter")
        try prep.requireType(output, [.int8], "output")
        if let bias { try prep.requireType(bias, [.int32], "bias") }
        try prep.requireRank(filter, 2, "filter")

        let units = filter.shape[0], columns = filter.shape[1]
        guard columns > 0, input.elementCount % columns == 0 else {
            throw prep.invalid("input \(prep.describe(input)) cannot be split into rows of \(columns) for filter \(prep.describe(filter))")
        }
        let batches = input.elementCount / columns
        let expectedShape: [Int]
        if options.keepNumDims {
            guard input.shape.last == columns else {
                throw prep.invalid("keep_num_dims needs the last dimension of input \(prep.describe(input)) to be \(columns)")
            }
            expectedShape = input.shape.dropLast() + [units]
        } else {
            expectedShape = [batches, units]
        }
        try prep.requireShape(output, expectedShape)
        if let bias, bias.elementCount != units {
            throw prep.invalid("bias \(prep.describe(bias)) must have \(units) elements")
        }

        let inputQuantization = try prep.perTensorQuantization(input, "input")
        let outputQuantization = try prep.perTensorQuantization(output, "output")
        let filterScales = try prep.weightScales(filter, channels: units, channelDimension: 0)
        if filter.quantization?.scales.count == 1, let bias {
            // GetQuantizedConvolutionMultipler: |inputScale * filterScale - biasScale| / outputScale <= 0.02.
            let productScale = Double(inputQuantization.scale) * Double(filterScales[0])
            let biasScale = Double(bias.quantization?.scale ?? 0)
            guard abs(productScale - biasScale) / Double(outputQuantization.scale) <= 0.02 else {
                throw prep.invalid("bias \(prep.describe(bias)) has scale \(biasScale), but input scale × filter scale is \(productScale)")
            }
        }
        let activation = try prep.activationRange(options.activation, output: output, scale: outputQuantization.scale,
                                                  zeroPoint: outputQuantization.zeroPoint, type: Int8.self)

        self.info = op
        self.input = input.index
        self.output = output.index
        self.filter = try prep.constant(filter, as: Int8.self, "filter")
        self.bias = try bias.map { (bias) throws(ModelError) in try prep.constant(bias, as: Int32.self, "bias") }
        self.parameters = FullyConnectedParameters(
            batches: batches, accumulationDepth: columns, outputDepth: units,
            inputOffset: -inputQuantization.zeroPoint, filterOffset: 0, outputOffset: outputQuantization.zeroPoint,
            effectiveScales: filterScales.map {
                Double(inputQuantization.scale) * Double($0) / Double(outputQuantization.scale)
            },
            activation: activation)
        self.fast = kernels == .fast ? FastFullyConnected(parameters, filter: self.filter, bias: self.bias) : nil
    }

    func run(_ tensors: TensorPointers) { run(tensors, pool: nil) }

    func run(_ tensors: TensorPointers, on pool: WorkerPool) { run(tensors, pool: pool) }

    private func run(_ tensors: TensorPointers, pool: WorkerPool?) {
        let p = parameters
        let input = UnsafeBufferPointer(tensors.buffer(self.input, as: Int8.self, count: p.batches * p.accumulationDepth))
        let output = tensors.buffer(self.output, as: Int8.self, count: p.batches * p.outputDepth)
        if let fast {
            fast.run(input: input.baseAddress.unsafelyUnwrapped, output: output.baseAddress.unsafelyUnwrapped, pool: pool)
            return
        }
        filter.withUnsafeBufferPointer { filter in
            if let bias {
                bias.withUnsafeBufferPointer { bias in
                    ReferenceKernels.fullyConnected(p, input: input, filter: filter, bias: bias, output: output)
                }
            } else {
                ReferenceKernels.fullyConnected(p, input: input, filter: filter, bias: nil, output: output)
            }
        }
    }
}
