import Foundation
import Testing
import Inference

/// The reader against what LiteRT (and the flatc-generated Python reader) say the reference models contain.
@Suite struct ModelReaderTests {
    static let types: [String: TensorType] = [
        "float32": .float32, "int32": .int32, "uint8": .uint8, "int64": .int64, "int16": .int16, "int8": .int8,
    ]
    static let activations: [String: FusedActivation] = [
        "NONE": .none, "RELU": .relu, "RELU_N1_TO_1": .reluN1To1, "RELU6": .relu6, "TANH": .tanh, "SIGN_BIT": .signBit,
    ]
    static let paddings: [String: Padding] = ["SAME": .same, "VALID": .valid]

    static func json(_ relativePath: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(Fixtures.data(relativePath)))
    }

    // MARK: EfficientNet-Lite0 against refs/imagenet/ops.json (LiteRT's tensor and op details)

    static let imagenetModels = ["efficientnet_lite0_int8.tflite", "efficientnet_lite0_int8_floatio.tflite"]

    static func imagenetBytes(_ file: String) throws -> [UInt8] {
        file == "efficientnet_lite0_int8.tflite"
            ? try Fixtures.imagenetModel() : try Fixtures.data("refs/imagenet/\(file)")
    }

    @Test("EfficientNet-Lite0 tensors, ops and options read as LiteRT reports them", arguments: imagenetModels)
    func imagenetModelMatchesLiteRT(file: String) throws {
        let model = try Model(bytes: Self.imagenetBytes(file))
        let all = try #require(Self.json("refs/imagenet/ops.json") as? [String: Any])
        let reference = try #require(all[file] as? [String: Any])

        #expect(model.version == 3)
        #expect(model.fileDescription == reference["description"] as? String)
        #expect(model.inputs == reference["inputs"] as? [Int])
        #expect(model.outputs == reference["outputs"] as? [Int])

        let tensors = try #require(reference["tensors"] as? [[String: Any]])
        try #require(model.tensors.count == tensors.count)
        for expected in tensors {
            let index = try #require(expected["index"] as? Int)
            let tensor = model.tensors[index]
            #expect(tensor.index == index)
            #expect(tensor.name == expected["name"] as? String)
            #expect(tensor.shape == expected["shape"] as? [Int], "tensor \(index)")
            #expect(tensor.type == Self.types[((expected["dtype"] as? String) ?? "").lowercased()], "tensor \(index)")
            #expect(tensor.isConstant == expected["constant"] as? Bool, "tensor \(index)")
            if let quant = expected["quant"] as? [String: Any] {
                let quantization = try #require(tensor.quantization, "tensor \(index) lost its quantization")
                #expect(quantization.scales == (quant["scale"] as? [Double])?.map { Float($0) }, "tensor \(index)")
                #expect(quantization.zeroPoints == (quant["zero_point"] as? [Int])?.map { Int64($0) }, "tensor \(index)")
                #expect(quantization.quantizedDimension == quant["quantized_dimension"] as? Int, "tensor \(index)")
            } else {
                #expect(tensor.quantization == nil, "tensor \(index)")
            }
        }

        let ops = try #require(reference["ops"] as? [[String: Any]])
        try #require(model.operators.count == ops.count)
        for expected in ops {
            let index = try #require(expected["index"] as? Int)
            let op = model.operators[index]
            let name = try #require(expected["op"] as? String)
            #expect(op.index == index)
            #expect(op.name == name, "operator \(index)")
            #expect(op.inputs == expected["inputs"] as? [Int], "operator \(index) \(name)")
            #expect(op.outputs == expected["outputs"] as? [Int], "operator \(index) \(name)")
            let options = try #require(expected["options"] as? [String: Any])
            #expect(op.options == (try Self.options(of: name, fromLiteRT: options)), "operator \(index) \(name)")
        }
    }

    /// The options LiteRT's op details give, in our terms.
    static func options(of op: String, fromLiteRT o: [String: Any]) throws -> OperatorOptions {
        func int(_ key: String) throws -> Int { try #require(o[key] as? Int, "\(op) option \(key)") }
        func activation() throws -> FusedActivation {
            try #require(activations[o["fusedActivationFunction"] as? String ?? ""], "\(op) activation")
        }
        switch op {
        case "CONV_2D", "DEPTHWISE_CONV_2D":
            return .convolution(ConvolutionOptions(
                padding: try #require(paddings[o["padding"] as? String ?? ""]),
                strideWidth: try int("strideW"), strideHeight: try int("strideH"),
                dilationWidth: try int("dilationWFactor"), dilationHeight: try int("dilationHFactor"),
                depthMultiplier: op == "CONV_2D" ? 1 : try int("depthMultiplier"), activation: try activation()))
        case "ADD", "SUB", "MUL":
            return .elementwise(activation: try activation())
        case "MEAN":
            return .reducer(keepDimensions: try #require(o["keepDims"] as? Bool))
        case "FULLY_CONNECTED":
            return .fullyConnected(FullyConnectedOptions(
                activation: try activation(), weightsFormat: Int8(try int("weightsFormat")),
                keepNumDims: try #require(o["keepNumDims"] as? Bool),
                asymmetricQuantizeInputs: try #require(o["asymmetricQuantizeInputs"] as? Bool)))
        case "SOFTMAX":
            return .softmax(beta: Float(try #require(o["beta"] as? Double)))
        case "QUANTIZE", "DEQUANTIZE":
            return .none
        default:
            Issue.record("the test does not know the options of \(op)")
            return .none
        }
    }

    @Test("EfficientNet-Lite0 constant tensors point at buffers exactly as long as their shapes")
    func imagenetConstantsHaveExactSizes() throws {
        let model = try Model(bytes: Fixtures.imagenetModel())
        let constants = model.tensors.filter(\.isConstant)
        #expect(constants.count == 163 - 62)  // 163 tensors: the input and 61 op outputs are activations
        for tensor in constants {
            #expect(tensor.constantBytes?.count == tensor.byteCount, "tensor \(tensor.index)")
            #expect(tensor.constantBytes.map { $0.upperBound <= model.bytes.count } == true)
        }
    }

    // MARK: shapes-a against refs/shapes (LiteRT) and reader/shapes-a_options.json (flatc's Python reader)

    @Test("shapes-a tensors read as LiteRT reports them, constants byte for byte")
    func shapesTensorsMatchLiteRT() throws {
        let model = try Model(bytes: Fixtures.shapesModel())
        let reference = try #require(Self.json("refs/shapes/tensors.json") as? [String: Any])
        let tensors = try #require(reference["tensors"] as? [[String: Any]])
        try #require(model.tensors.count == tensors.count)
        #expect(model.inputs == [try #require(reference["input_tensor"] as? Int)])
        #expect(model.outputs == [try #require(reference["output_tensor"] as? Int)])
        var constantsChecked = 0
        for expected in tensors {
            let index = try #require(expected["index"] as? Int)
            let tensor = model.tensors[index]
            #expect(tensor.name == expected["name"] as? String)
            #expect(tensor.shape == expected["shape"] as? [Int], "tensor \(index)")
            #expect(tensor.type == Self.types[expected["dtype"] as? String ?? ""], "tensor \(index)")
            let scales = try #require(expected["scales"] as? [Double]).map { Float($0) }
            let zeroPoints = try #require(expected["zero_points"] as? [Int]).map { Int64($0) }
            #expect((tensor.quantization?.scales ?? []) == scales, "tensor \(index)")
            #expect((tensor.quantization?.zeroPoints ?? []) == zeroPoints, "tensor \(index)")
            if !scales.isEmpty {
                #expect(tensor.quantization?.quantizedDimension == expected["quantized_dimension"] as? Int)
            }
            let isConstant = try #require(expected["constant"] as? Bool)
            #expect(tensor.isConstant == isConstant, "tensor \(index)")
            if isConstant, let file = expected["file"] as? String {
                #expect(Array(try model.constantBytes(of: index)) == (try Fixtures.data("reader/shapes-a-constants/\(file)")),
                        "constant tensor \(index) '\(tensor.name)'")
                constantsChecked += 1
            }
        }
        #expect(constantsChecked == 31)
    }

    @Test("shapes-a operators, operands and options read as LiteRT and flatc's reader report them")
    func shapesOperatorsMatchReference() throws {
        let model = try Model(bytes: Fixtures.shapesModel())
        let ops = try #require(Self.json("refs/shapes/ops.json") as? [[String: Any]])
        let options = try #require(Self.json("reader/shapes-a_options.json") as? [[String: Any]])
        try #require(model.operators.count == ops.count && ops.count == options.count)
        for (expected, o) in zip(ops, options) {
            let index = try #require(expected["index"] as? Int)
            let op = model.operators[index]
            let name = try #require(expected["op"] as? String)
            #expect(op.name == name && o["op"] as? String == name)
            #expect(op.inputs == expected["inputs"] as? [Int], "operator \(index)")
            #expect(op.outputs == expected["outputs"] as? [Int], "operator \(index)")
            func int(_ key: String) throws -> Int { try #require(o[key] as? Int, "operator \(index) \(key)") }
            func activation() throws -> FusedActivation { try #require(FusedActivation(rawValue: Int8(try int("activation")))) }
            let wanted: OperatorOptions
            switch name {
            case "CONV_2D", "DEPTHWISE_CONV_2D":
                wanted = .convolution(ConvolutionOptions(
                    padding: try #require(Padding(rawValue: Int8(try int("padding")))),
                    strideWidth: try int("stride_w"), strideHeight: try int("stride_h"),
                    dilationWidth: try int("dilation_w"), dilationHeight: try int("dilation_h"),
                    depthMultiplier: name == "CONV_2D" ? 1 : try int("depth_multiplier"), activation: try activation()))
            case "FULLY_CONNECTED":
                wanted = .fullyConnected(FullyConnectedOptions(
                    activation: try activation(), weightsFormat: Int8(try int("weights_format")),
                    keepNumDims: try #require(o["keep_num_dims"] as? Bool)))
            case "MEAN":
                wanted = .reducer(keepDimensions: try #require(o["keep_dims"] as? Bool))
            default:
                Issue.record("unexpected op \(name)")
                continue
            }
            #expect(op.options == wanted, "operator \(index) \(name)")
        }
    }

    @Test("the operator-name table agrees with the schema on the codes the reference models use")
    func operatorNamesMatchSchema() {
        // Values from TFLite's schema.fbs, independent of the table under test.
        let schema: [Int32: String] = [0: "ADD", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 6: "DEQUANTIZE", 9: "FULLY_CONNECTED",
                                       25: "SOFTMAX", 40: "MEAN", 114: "QUANTIZE", 117: "HARD_SWISH", 161: "RIGHT_SHIFT",
                                       162: "STABLEHLO_LOGISTIC", 206: "STABLEHLO_COMPOSITE"]
        for (code, name) in schema {
            #expect(BuiltinOperator(rawValue: code).description == name)
        }
        #expect(BuiltinOperator(rawValue: 9999).description == "BUILTIN_9999")
    }
}
