#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CONV_2D on int8 activations with int8 weights (per-channel or per-tensor) and int32 bias.
struct Conv2DOperator: PreparedOperator {
    let info: OperatorInfo
    let parameters: Conv2DParameters
    let input: Int
    let output: Int
    let filter: [Int8]
    let bias: [Int32]?
    /// The SIMD kernel with its packed weights, or nil to run the reference kernel.
    let fast: FastConv2D?

    var multiplyAccumulates: Int { parameters.multiplyAccumulates }

    /// Mirrors TFLite `conv.cc` Prepare for int8: padding from `ComputePaddingHeightWidth`,
    /// per-channel multipliers from `PopulateConvolutionQuantizationParams`
    /// (`inputScale * filterScale / outputScale` in double), the fused activation's range.
    init(_ op: OperatorInfo, in model: Model, kernels: KernelSelection = .fast) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        guard case let .convolution(options) = op.options else { throw prep.invalid("has no Conv2DOptions") }
        try prep.requireCounts(inputs: 2...3)
        let input = try prep.input(0), filter = try prep.input(1, "filter")
        let bias = try prep.optionalInput(2, "bias"), output = try prep.output()
        try prep.requireType(input, [.int8], "input")
        try prep.requireActivation(input, "input")
        try prep.requireType(filter, [.int8], "filter")
        try prep.requireType(output, [.int8], "output")
        if let bias { try prep.requireType(bias, [.int32], "bias") }
        try prep.requireRank(input, 4, "input")
        try prep.requireRank(filter, 4, "filter")

        let (batches, inputHeight, inputWidth, inputDepth) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (outputDepth, filterHeight, filterWidth, filterInputDepth) =
            (filter.shape[0], filter.shape[1], filter.shape[2], filter.shape[3])
        guard filterInputDepth > 0, inputDepth > 0, inputDepth % filterInputDepth == 0, outputDepth > 0,
              outputDepth % (inputDepth / filterInputDepth) == 0 else {
            throw prep.invalid("filter \(prep.describe(filter)) does not fit input \(prep.describe(input))")
        }
        guard let rows = WindowGeometry(padding: options.padding, inputSize: inputHeight, filterSize: filterHeight,
                                        stride: options.strideHeight, dilation: options.dilationHeight),
              let columns = WindowGeometry(padding: options.padding, inputSize: inputWidth, filterSize: filterWidth,
                                           stride: options.strideWidth, dilation: options.dilationWidth)
        else { throw prep.invalid("has invalid strides \(options.strideHeight)x\(options.strideWidth), dilation or filter size") }
        try prep.requireShape(output, [batches, rows.outputSize, columns.outputSize, outputDepth])
        if let bias, bias.elementCount != outputDepth {
            throw prep.invalid("bias \(prep.describe(bias)) must have \(outputDepth) elements")
        }

        let inputQuantization = try prep.perTensorQuantization(input, "input")
        let outputQuantization = try prep.perTensorQuantization(output, "output")
        let filterScales = try prep.weightScales(filter, channels: outputDepth, channelDimension: 0)
        let multipliers = filterScales.map {
            QuantizedMultiplier(Double(inputQuantization.scale) * Double($0) / Double(outputQuantization.scale))
        }
        let activation = try prep.activationRange(options.activation, output: output, scale: outputQuantization.scale,
                                                  zeroPoint: outputQuantization.zeroPoint, type: Int8.self)

        self.info = op
        self.input = input.index
        self.output = output.index
        self.filter = try prep.constant(filter, as: Int8.self, "filter")
        self.bias = try bias.map { (bias) throws(ModelError) in try prep.constant(bias, as: Int32.self, "bias") }
        self.parameters = Conv2DParameters(
            batches: batches, inputHeight: inputHeight, inputWidth: inputWidth, inputDepth: inputDepth,
            filterHeight: filterHeight, filterWidth: filterWidth, filterInputDepth: filterInputDepth,
            outputHeight: rows.outputSize, outputWidth: columns.outputSize, outputDepth: outputDepth,
            strideHeight: options.strideHeight, strideWidth: options.strideWidth,
            dilationHeight: options.dilationHeight, dilationWidth: options.dilationWidth,
            paddingTop: rows.padding, paddingLeft: columns.padding,
            inputOffset: -inputQuantization.zeroPoint, outputOffset: outputQuantization.zeroPoint,
            outputMultipliers: multipliers, activation: activation)
        self.fast = kernels == .fast
            ? FastConv2D(parameters, filter: self.filter, bias: self.bias, allowsAVX512VNNI: !Self.avx512Disabled,
                         allowsDirect: !Self.directStemDisabled) : nil
    }

    /// `EDGECAM_NO_AVX512=1` in the environment keeps the AVX2 GEMM microkernel on a CPU with
    /// AVX-512 VNNI: for comparing the two (`edgecam bench`) and for ruling one out when debugging.
    static let avx512Disabled = environmentFlag("EDGECAM_NO_AVX512")

    /// `EDGECAM_NO_DIRECT_STEM=1` in the environment runs convolutions of few input channels
    /// (``DirectStemConv2D``) through the im2col GEMM instead: for timing the two (`edgecam bench`).
    static let directStemDisabled = environmentFlag("EDGECAM_NO_DIRECT_STEM")

    /// Whether the environment variable `name` is set to `1`.
    private static func environmentFlag(_ name: String) -> Bool {
        getenv(name).map { String(cString: $0) == "1" } ?? false
    }

    func run(_ tensors: TensorPointers) { run(tensors, pool: nil) }

    func run(_ tensors: TensorPointers, on pool: WorkerPool) { run(tensors, pool: pool) }

    private func run(_ tensors: TensorPointers, pool: WorkerPool?) {
        let p = parameters
        let input = UnsafeBufferPointer(tensors.buffer(
            self.input, as: Int8.self, count: p.batches * p.inputHeight * p.inputWidth * p.inputDepth))
        let output = tensors.buffer(self.output, as: Int8.self, count: p.batches * p.outputHeight * p.outputWidth * p.outputDepth)
        if let fast {
            fast.run(input: input.baseAddress.unsafelyUnwrapped, output: output.baseAddress.unsafelyUnwrapped, pool: pool)
            return
        }
        filter.withUnsafeBufferPointer { filter in
            if let bias {
                bias.withUnsafeBufferPointer { bias in
                    ReferenceKernels.conv2D(p, input: input, filter: filter, bias: bias, output: output)
                }
            } else {
                ReferenceKernels.conv2D(p, input: input, filter: filter, bias: nil, output: output)
            }
        }
    }
}
