import Testing
@testable import Inference

/// Load-time behaviour of the operator factory on small models built by hand: what it
/// refuses and how it says so, and one convolution small enough to compute by hand.
@Suite struct OperatorFactoryTests {
    /// A one-op model: `tensors` with constant contents given as bytes.
    static func model(_ op: OperatorInfo, _ tensors: [(shape: [Int], type: TensorType, scale: Float?, zeroPoint: Int64,
                                                      constant: [UInt8]?)]) -> Model {
        var bytes: [UInt8] = []
        var infos: [TensorInfo] = []
        for (index, t) in tensors.enumerated() {
            var range: Range<Int>?
            if let constant = t.constant {
                range = bytes.count..<(bytes.count + constant.count)
                bytes += constant
            }
            infos.append(TensorInfo(index: index, name: "t\(index)", type: t.type, shape: t.shape,
                                    quantization: t.scale.map { Quantization(scales: [$0], zeroPoints: [t.zeroPoint]) },
                                    constantBytes: range))
        }
        return Model(bytes: bytes, version: 3, fileDescription: "", subgraphName: "", tensors: infos, operators: [op],
                     inputs: [0], outputs: op.outputs)
    }

    static func conv(_ activation: FusedActivation = .relu6, inputType: TensorType = .int8,
                     outputShape: [Int] = [1, 1, 2, 2]) -> Model {
        let options = ConvolutionOptions(padding: .valid, strideWidth: 1, strideHeight: 1, activation: activation)
        let op = OperatorInfo(index: 0, code: .conv2D, inputs: [0, 1, 2], outputs: [3], options: .convolution(options))
        let bias: [Int32] = [0, 1]
        return model(op, [
            ([1, 1, 2, 2], inputType, inputType == .float32 ? nil : 1, 0, nil),
            ([2, 1, 1, 2], .int8, 1, 0, [1, 1, 2, 0xFF]),  // filters [1, 1] and [2, -1]
            ([2], .int32, 1, 0, bias.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }),
            (outputShape, inputType, inputType == .float32 ? nil : 1, 0, nil),
        ])
    }

    @Test("a 1x1 convolution with unit scales computes sums, bias and the RELU6 clamp")
    func handComputedConvolution() throws {
        let model = Self.conv()
        let op = try makePreparedOperator(model.operators[0], in: model)
        #expect(op.multiplyAccumulates == 2 * 2 * 2)
        let harness = OperatorHarness(model: model)
        harness.set(0, [1, 2, 3, 4])  // pixels [1, 2] and [3, 4]
        harness.run(op)
        // [1+2, 2-2+1] = [3, 1]; [3+4, 6-4+1] = [7 → 6, 3].
        #expect(harness.bytes(3) == [3, 1, 6, 3])
    }

    @Test("an op this engine does not implement fails with its name and index")
    func unsupportedOperator() {
        let op = OperatorInfo(index: 7, code: BuiltinOperator(rawValue: 28), inputs: [0], outputs: [1], options: .none)
        let model = Self.model(op, [([4], .int8, 1, 0, nil), ([4], .int8, 1, 0, nil)])
        #expect(throws: ModelError.unsupportedOperator(name: "TANH", index: 7)) {
            try makePreparedOperator(op, in: model)
        }
    }

    @Test("a float32 CONV_2D in an int8 engine is an unsupported configuration")
    func floatConvolution() {
        let model = Self.conv(inputType: .float32)
        #expect {
            try makePreparedOperator(model.operators[0], in: model)
        } throws: { error in
            guard case let ModelError.unsupportedConfiguration(name, index, reason) = error else { return false }
            return name == "CONV_2D" && index == 0 && reason.contains("float32")
        }
    }

    @Test("a fused TANH is an unsupported configuration")
    func fusedTanh() {
        let model = Self.conv(.tanh)
        #expect {
            try makePreparedOperator(model.operators[0], in: model)
        } throws: { error in
            guard case let ModelError.unsupportedConfiguration(_, _, reason) = error else { return false }
            return reason.contains("TANH")
        }
    }

    @Test("an output shape the op does not compute is a model error naming op and tensor")
    func outputShapeMismatch() {
        let model = Self.conv(outputShape: [1, 2, 2, 2])
        #expect {
            try makePreparedOperator(model.operators[0], in: model)
        } throws: { error in
            guard case let ModelError.invalid(message) = error else { return false }
            return message.contains("operator #0 CONV_2D") && message.contains("t3") && message.contains("[1, 1, 2, 2]")
        }
    }

    @Test("shuffled FULLY_CONNECTED weights are refused")
    func shuffledWeights() {
        let options = FullyConnectedOptions(activation: .none, weightsFormat: 1)
        let op = OperatorInfo(index: 2, code: .fullyConnected, inputs: [0, 1], outputs: [2], options: .fullyConnected(options))
        let model = Self.model(op, [([1, 2], .int8, 1, 0, nil), ([1, 2], .int8, 1, 0, [1, 1]), ([1, 1], .int8, 1, 0, nil)])
        #expect {
            try makePreparedOperator(op, in: model)
        } throws: { error in
            guard case ModelError.unsupportedConfiguration("FULLY_CONNECTED", 2, _) = error else { return false }
            return true
        }
    }

    @Test("int16 ADD is refused")
    func int16Add() {
        let op = OperatorInfo(index: 0, code: .add, inputs: [0, 1], outputs: [2], options: .elementwise(activation: .none))
        let model = Self.model(op, [([4], .int16, 1, 0, nil), ([4], .int16, 1, 0, nil), ([4], .int16, 1, 0, nil)])
        #expect {
            try makePreparedOperator(op, in: model)
        } throws: { error in
            guard case ModelError.unsupportedConfiguration("ADD", 0, _) = error else { return false }
            return true
        }
    }

    @Test("a tensor index outside the model is a model error, not a crash")
    func danglingTensorIndex() {
        let op = OperatorInfo(index: 0, code: .relu, inputs: [5], outputs: [1], options: .none)
        let model = Self.model(op, [([4], .int8, 1, 0, nil), ([4], .int8, 1, 0, nil)])
        #expect(throws: ModelError.self) { try makePreparedOperator(op, in: model) }
    }
}
