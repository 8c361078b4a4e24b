/// ADD, SUB or MUL on int8 operands, either of which may be a constant or broadcast.
struct ElementwiseOperator: PreparedOperator {
    enum Kernel: Sendable {
        case add(AdditionParameters)
        case sub(AdditionParameters)
        case mul(MultiplicationParameters)
    }

    let info: OperatorInfo
    let kernel: Kernel
    let input1: Operand<Int8>
    let input2: Operand<Int8>
    let input1Count: Int
    let input2Count: Int
    let output: Int
    let outputCount: Int
    /// The fast path for equal shapes: every result precomputed by the reference kernel.
    let table: ElementwiseLookupTable?

    var multiplyAccumulates: Int { 0 }

    /// Mirrors TFLite `add.cc` / `sub.cc` / `mul.cc` Prepare for int8. ADD and SUB bring
    /// both inputs to twice the larger input scale with 20 extra bits (`left_shift = 20`);
    /// MUL uses one multiplier `input1Scale * input2Scale / outputScale` computed in float.
    init(_ op: OperatorInfo, in model: Model, kernels: KernelSelection = .fast) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        try prep.requireCounts(inputs: 2...2)
        let first = try prep.input(0, "input 1"), second = try prep.input(1, "input 2"), output = try prep.output()
        for (tensor, role) in [(first, "input 1"), (second, "input 2"), (output, "output")] {
            try prep.requireType(tensor, [.int8], role)
        }
        guard let broadcast = BroadcastShape(first.shape, second.shape) else {
            throw prep.invalid("cannot broadcast \(prep.describe(first)) with \(prep.describe(second))")
        }
        try prep.requireShape(output, broadcast.outputShape)
        let activationFunction: FusedActivation
        switch op.options {
        case let .elementwise(activation): activationFunction = activation
        case .none: activationFunction = .none
        default: throw prep.invalid("has options of another op")
        }

        let q1 = try prep.perTensorQuantization(first, "input 1")
        let q2 = try prep.perTensorQuantization(second, "input 2")
        let qo = try prep.perTensorQuantization(output, "output")
        let activation = try prep.activationRange(activationFunction, output: output, scale: qo.scale,
                                                  zeroPoint: qo.zeroPoint, type: Int8.self)
        let sameShapes = first.shape == second.shape

        switch op.code {
        case .add, .sub:
            let leftShift = 20
            let twiceMaxInputScale = Double(2 * max(q1.scale, q2.scale))
            let realOutputMultiplier = twiceMaxInputScale / Double(Float(1 << leftShift) * qo.scale)
            guard let m1 = QuantizedMultiplier.smallerThanOne(Double(q1.scale) / twiceMaxInputScale),
                  let m2 = QuantizedMultiplier.smallerThanOne(Double(q2.scale) / twiceMaxInputScale),
                  let mo = QuantizedMultiplier.smallerThanOne(realOutputMultiplier)
            else {
                throw prep.unsupported("output scale \(qo.scale) is too small for input scales \(q1.scale) and \(q2.scale)")
            }
            let parameters = AdditionParameters(
                input1Offset: -q1.zeroPoint, input2Offset: -q2.zeroPoint, outputOffset: qo.zeroPoint,
                leftShift: leftShift, input1Multiplier: m1, input2Multiplier: m2, outputMultiplier: mo,
                activation: activation, broadcast: sameShapes ? nil : broadcast)
            kernel = op.code == .add ? .add(parameters) : .sub(parameters)
        case .mul:
            let real = Double(q1.scale * q2.scale / qo.scale)
            kernel = .mul(MultiplicationParameters(
                input1Offset: -q1.zeroPoint, input2Offset: -q2.zeroPoint, outputOffset: qo.zeroPoint,
                outputMultiplier: QuantizedMultiplier(real), activation: activation,
                broadcast: sameShapes ? nil : broadcast))
        default:
            throw prep.invalid("is not an elementwise arithmetic op")
        }
        self.info = op
        self.input1 = try prep.operand(first, as: Int8.self, "input 1")
        self.input2 = try prep.operand(second, as: Int8.self, "input 2")
        self.input1Count = first.elementCount
        self.input2Count = second.elementCount
        self.output = output.index
        self.outputCount = output.elementCount
        if kernels == .fast && sameShapes {
            switch kernel {
            case var .add(p):
                p.broadcast = nil
                table = ElementwiseLookupTable { ReferenceKernels.add(p, input1: $0, input2: $1, output: $2) }
            case var .sub(p):
                p.broadcast = nil
                table = ElementwiseLookupTable { ReferenceKernels.sub(p, input1: $0, input2: $1, output: $2) }
            case var .mul(p):
                p.broadcast = nil
                table = ElementwiseLookupTable { ReferenceKernels.mul(p, input1: $0, input2: $1, output: $2) }
            }
        } else {
            table = nil
        }
    }

    func run(_ tensors: TensorPointers) { run(tensors, pool: nil) }

    func run(_ tensors: TensorPointers, on pool: WorkerPool) { run(tensors, pool: pool) }

    private func run(_ tensors: TensorPointers, pool: WorkerPool?) {
        let output = tensors.buffer(self.output, as: Int8.self, count: outputCount)
        input1.withBuffer(tensors, count: input1Count) { input1 in
            input2.withBuffer(tensors, count: input2Count) { input2 in
                if let table {
                    table.run(input1.baseAddress.unsafelyUnwrapped, input2.baseAddress.unsafelyUnwrapped,
                              output: output.baseAddress.unsafelyUnwrapped, count: outputCount, pool: pool)
                    return
                }
                switch kernel {
                case let .add(p): ReferenceKernels.add(p, input1: input1, input2: input2, output: output)
                case let .sub(p): ReferenceKernels.sub(p, input1: input1, input2: input2, output: output)
                case let .mul(p): ReferenceKernels.mul(p, input1: input1, input2: input2, output: output)
                }
            }
        }
    }
}
