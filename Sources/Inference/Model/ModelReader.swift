extension Model {
    /// The largest tensor a model may declare. Edge models have tensors of a few MB; a
    /// claim beyond this is a corrupt shape, and would make the planner reserve absurd memory.
    public static let maximumTensorBytes = 1 << 30

    /// Reads a TFLite flatbuffer (schema version 3, file identifier `TFL3`).
    ///
    /// Reads the operator codes, the buffers and the *first* subgraph (the main model;
    /// further subgraphs, signatures and metadata are ignored) and checks everything the
    /// engine relies on: tensor, buffer and operator-code indices in range, shapes that
    /// are non-negative and at most ``maximumTensorBytes``, quantization parameters that
    /// agree with the shape, constant data exactly as long as the shape says, and builtin
    /// options whose union type matches the op. Nothing is copied out of `bytes` except
    /// small metadata: constant tensors keep a byte range into it.
    ///
    /// Like LiteRT's own verifier, a file without the `TFL3` identifier is rejected.
    /// Whatever the bytes, this either returns or throws a ``ModelError`` saying what is
    /// wrong and where; it never traps, loops without bound or allocates more than a
    /// small multiple of the file size.
    public init(bytes: [UInt8]) throws(ModelError) {
        var reader = ModelFileReader(bytes: bytes)
        self = try reader.read()
    }
}

/// Reads a ``Model`` out of the flatbuffer, one schema table at a time.
///
/// Field numbers are those of `tensorflow/compiler/mlir/lite/schema/schema.fbs` (a union
/// field takes two numbers: its type tag, then its value).
private struct ModelFileReader {
    var file: FlatBufferReader
    var bytes: [UInt8] { file.bytes }

    init(bytes: [UInt8]) {
        file = FlatBufferReader(bytes: bytes)
    }

    mutating func read() throws(ModelError) -> Model {
        try checkHeader()
        let root = try file.rootTable("Model table")
        let version = try file.scalar(root, 0, default: UInt32(0), "Model version")
        guard version == 3 else {
            throw .invalid("the file declares TFLite schema version \(version); only version 3 is supported")
        }
        let description = try file.string(root, 3, "Model description") ?? ""
        let buffers = try readBuffers(root)
        let operatorCodes = try readOperatorCodes(root)

        let subgraphs = try file.tables(root, 2, "Model subgraphs vector")
        guard subgraphs.count > 0 else { throw .invalid("the model has no subgraphs") }
        let subgraph = try file.table(in: subgraphs, at: 0, "subgraph 0")
        let name = try file.string(subgraph, 4, "subgraph 0 name") ?? ""
        let tensors = try readTensors(subgraph, buffers: buffers)
        let inputs = try readIndices(subgraph, 1, role: "input", tensorCount: tensors.count)
        let outputs = try readIndices(subgraph, 2, role: "output", tensorCount: tensors.count)
        let operators = try readOperators(subgraph, codes: operatorCodes, tensors: tensors)
        return Model(bytes: bytes, version: Int(version), fileDescription: description, subgraphName: name,
                     tensors: tensors, operators: operators, inputs: inputs, outputs: outputs)
    }

    // MARK: Header

    private func checkHeader() throws(ModelError) {
        guard bytes.count >= 8 else {
            throw .malformed(what: "the file is \(bytes.count) bytes long, too short for a TFLite model", offset: 0)
        }
        if bytes[0..<4].elementsEqual([0x50, 0x4B, 0x03, 0x04]) {
            throw .malformed(what: "this is a ZIP archive (e.g. a MediaPipe .task bundle), not a .tflite file; "
                             + "extract the .tflite model inside it", offset: 0)
        }
        let identifier = Array(bytes[4..<8])
        guard identifier.elementsEqual("TFL3".utf8) else {
            let shown = identifier.allSatisfy({ $0 >= 0x20 && $0 < 0x7F })
                ? "'\(String(decoding: identifier, as: UTF8.self))'"
                : identifier.map { hex($0) }.joined(separator: " ")
            throw .malformed(what: "file identifier is \(shown), not 'TFL3': this is not a TFLite model", offset: 4)
        }
    }

    // MARK: Buffers and operator codes

    /// The byte range of every buffer's data in the file (empty for buffers without data).
    private mutating func readBuffers(_ root: FlatBufferReader.Table) throws(ModelError) -> [Range<Int>] {
        let vector = try file.tables(root, 4, "Model buffers vector")
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(vector.count)
        for index in 0..<vector.count {
            let buffer = try file.table(in: vector, at: index, "buffer \(index)")
            let data = try file.vector(buffer, 0, elementSize: 1, "buffer \(index) data")
            // Models over 2 GB keep data after the flatbuffer, located by offset and size (valid when offset > 1).
            let offset = try file.scalar(buffer, 1, default: UInt64(0), "buffer \(index) offset")
            let size = try file.scalar(buffer, 2, default: UInt64(0), "buffer \(index) size")
            if let data, data.count > 0 {
                guard offset <= 1 else {
                    throw .malformed(what: "buffer \(index) has both inline data and an external offset", offset: data.start - 4)
                }
                ranges.append(data.byteRange)
            } else if offset > 1 {
                guard offset <= UInt64(bytes.count), size <= UInt64(bytes.count) - offset else {
                    throw .malformed(what: "buffer \(index) claims \(size) bytes at file offset \(offset), "
                                     + "past the end of the \(bytes.count)-byte file", offset: file.position(of: buffer, 1))
                }
                ranges.append(Int(offset)..<Int(offset + size))
            } else {
                ranges.append(0..<0)
            }
        }
        return ranges
    }

    private struct OperatorCode {
        var code: BuiltinOperator
        var customName: String?
    }

    private mutating func readOperatorCodes(_ root: FlatBufferReader.Table) throws(ModelError) -> [OperatorCode] {
        let vector = try file.tables(root, 1, "Model operator_codes vector")
        var codes: [OperatorCode] = []
        codes.reserveCapacity(vector.count)
        for index in 0..<vector.count {
            let table = try file.table(in: vector, at: index, "operator code \(index)")
            // Codes up to 127 were once stored in a byte; newer files use the int32 field. TFLite takes the larger.
            let deprecated = try file.scalar(table, 0, default: Int8(0), "operator code \(index) deprecated_builtin_code")
            let extended = try file.scalar(table, 3, default: Int32(0), "operator code \(index) builtin_code")
            let raw = max(Int32(deprecated), extended)
            guard raw >= 0 else {
                throw .malformed(what: "operator code \(index) has negative builtin code \(raw)", offset: file.position(of: table, 3))
            }
            let code = BuiltinOperator(rawValue: raw)
            var customName: String?
            if code == .custom {
                customName = try file.string(table, 1, "operator code \(index) custom_code") ?? ""
            }
            codes.append(OperatorCode(code: code, customName: customName))
        }
        return codes
    }

    // MARK: Tensors

    private mutating func readTensors(_ subgraph: FlatBufferReader.Table, buffers: [Range<Int>]) throws(ModelError) -> [TensorInfo] {
        let vector = try file.tables(subgraph, 0, "subgraph 0 tensors vector")
        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(vector.count)
        for index in 0..<vector.count {
            tensors.append(try readTensor(file.table(in: vector, at: index, "subgraph 0 tensor \(index)"), index: index,
                                          buffers: buffers))
        }
        return tensors
    }

    private mutating func readTensor(_ table: FlatBufferReader.Table, index: Int, buffers: [Range<Int>]) throws(ModelError) -> TensorInfo {
        let name = try file.string(table, 3, "subgraph 0 tensor \(index) name") ?? ""
        let label = "tensor \(index) '\(name)'"
        let what = "subgraph 0 \(label)"

        let typeCode = try file.scalar(table, 1, default: Int8(0), "\(what) type")
        guard let type = TensorType(rawValue: typeCode) else {
            let known = typeCode == 18 ? " (BFLOAT16, which this engine does not support)" : ""
            throw .malformed(what: "\(what) has unknown element type code \(typeCode)\(known)", offset: file.position(of: table, 1))
        }

        let dims = try file.scalars(table, 0, as: Int32.self, "\(what) shape vector") ?? []
        var shape: [Int] = []
        shape.reserveCapacity(dims.count)
        for (axis, dim) in dims.enumerated() {
            guard dim >= 0 else {
                throw .invalid("\(label) has shape \(dims) with negative dimension \(dim) at axis \(axis)")
            }
            shape.append(Int(dim))
        }
        // The non-zero dimensions must multiply to at most the limit even when another dimension
        // is 0 (an empty tensor): code that multiplies a shape or part of it (`elementCount`, a
        // concatenation's outer/inner sizes) must never overflow. With every factor >= 1 the running
        // product only grows, so checking each step against the limit also rules out overflow.
        var product = 1
        for dim in shape where dim != 0 {
            product *= dim
            guard product <= Model.maximumTensorBytes else { throw tooLarge(label, dims) }
        }
        let elements = shape.contains(0) ? 0 : product
        let byteCount = elements * (type.byteSize ?? 1)
        guard byteCount <= Model.maximumTensorBytes else { throw tooLarge(label, dims) }

        let bufferIndex = try file.scalar(table, 2, default: UInt32(0), "\(what) buffer")
        var constantBytes: Range<Int>?
        if bufferIndex != 0 {
            guard Int(bufferIndex) < buffers.count else {
                throw .invalid("\(label) refers to buffer \(bufferIndex), but the model has \(buffers.count) buffers")
            }
            let range = buffers[Int(bufferIndex)]
            if !range.isEmpty {
                // Types without a fixed element size (string, int4, resource, variant) cannot be checked here.
                if type.byteSize != nil, range.count != byteCount {
                    throw .invalid("\(label) is \(type) \(shape) = \(byteCount) bytes, but its buffer \(bufferIndex) "
                                   + "holds \(range.count) bytes")
                }
                constantBytes = range
            }
        }

        let quantization = try readQuantization(table, what: what, label: label, shape: shape)
        let isVariable = try file.bool(table, 5, default: false, "\(what) is_variable")
        return TensorInfo(index: index, name: name, type: type, shape: shape, quantization: quantization,
                          constantBytes: constantBytes, isVariable: isVariable)
    }

    private func tooLarge(_ label: String, _ dims: [Int32]) -> ModelError {
        .invalid("\(label) has shape \(dims), more than \(Model.maximumTensorBytes >> 30) GiB; tensors that large are rejected")
    }

    private mutating func readQuantization(_ tensor: FlatBufferReader.Table, what: String, label: String,
                                           shape: [Int]) throws(ModelError) -> Quantization? {
        guard let table = try file.table(tensor, 4, "\(what) quantization") else { return nil }
        let detailsType = try file.scalar(table, 4, default: UInt8(0), "\(what) quantization details_type")
        guard detailsType == 0 else {
            throw .invalid("\(label) uses custom quantization (details type \(detailsType)), which is not supported")
        }
        let scales = try file.floats(table, 2, "\(what) quantization scale vector")
        let zeroPoints = try file.scalars(table, 3, as: Int64.self, "\(what) quantization zero_point vector")
        // As in LiteRT: without both vectors the tensor is simply not quantized (min/max alone are converter leftovers).
        guard let scales, let zeroPoints, !(scales.isEmpty && zeroPoints.isEmpty) else { return nil }
        guard scales.count == zeroPoints.count else {
            throw .invalid("\(label) has \(scales.count) quantization scales but \(zeroPoints.count) zero points")
        }
        let dimension = try file.scalar(table, 6, default: Int32(0), "\(what) quantization quantized_dimension")
        guard dimension >= 0, shape.isEmpty || Int(dimension) < shape.count else {
            throw .invalid("\(label) has quantized_dimension \(dimension), outside its \(shape.count) dimensions")
        }
        if scales.count != 1, !shape.isEmpty, scales.count != shape[Int(dimension)] {
            throw .invalid("\(label) has \(scales.count) quantization scales; per-channel quantization along "
                           + "dimension \(dimension) of shape \(shape) needs \(shape[Int(dimension)])")
        }
        return Quantization(scales: scales, zeroPoints: zeroPoints, quantizedDimension: Int(dimension))
    }

    /// Subgraph inputs or outputs: tensor indices that must all exist.
    private mutating func readIndices(_ subgraph: FlatBufferReader.Table, _ slot: Int, role: String,
                                      tensorCount: Int) throws(ModelError) -> [Int] {
        let raw = try file.scalars(subgraph, slot, as: Int32.self, "subgraph 0 \(role)s vector") ?? []
        var indices: [Int] = []
        indices.reserveCapacity(raw.count)
        for (position, tensor) in raw.enumerated() {
            guard tensor >= 0, Int(tensor) < tensorCount else {
                throw .invalid("subgraph \(role) \(position) is tensor \(tensor), but the subgraph has \(tensorCount) tensors")
            }
            indices.append(Int(tensor))
        }
        return indices
    }

    // MARK: Operators

    private mutating func readOperators(_ subgraph: FlatBufferReader.Table, codes: [OperatorCode],
                                        tensors: [TensorInfo]) throws(ModelError) -> [OperatorInfo] {
        let vector = try file.tables(subgraph, 3, "subgraph 0 operators vector")
        var operators: [OperatorInfo] = []
        operators.reserveCapacity(vector.count)
        for index in 0..<vector.count {
            let table = try file.table(in: vector, at: index, "operator #\(index)")
            let codeIndex = try file.scalar(table, 0, default: UInt32(0), "operator #\(index) opcode_index")
            guard Int(codeIndex) < codes.count else {
                throw .invalid("operator #\(index) uses operator code \(codeIndex), but the model has \(codes.count) operator codes")
            }
            let code = codes[Int(codeIndex)]
            let name = code.customName.map { "CUSTOM(\($0))" } ?? code.code.description
            let label = "operator #\(index) \(name)"
            let inputs = try readOperands(table, 1, label: label, role: "input", tensors: tensors)
            let outputs = try readOperands(table, 2, label: label, role: "output", tensors: tensors)
            let options = try readOptions(table, code: code.code, label: label)
            operators.append(OperatorInfo(index: index, code: code.code, customName: code.customName,
                                          inputs: inputs, outputs: outputs, options: options))
        }
        return operators
    }

    private mutating func readOperands(_ table: FlatBufferReader.Table, _ slot: Int, label: String, role: String,
                                       tensors: [TensorInfo]) throws(ModelError) -> [Int] {
        let raw = try file.scalars(table, slot, as: Int32.self, "\(label) \(role)s vector") ?? []
        var operands: [Int] = []
        operands.reserveCapacity(raw.count)
        for (position, tensor) in raw.enumerated() {
            // -1 marks an optional input that is absent (e.g. a missing bias); outputs always exist.
            if tensor == -1, role == "input" {
                operands.append(-1)
                continue
            }
            guard tensor >= 0, Int(tensor) < tensors.count else {
                throw .invalid("\(label) \(role) \(position) refers to tensor \(tensor), but the subgraph has \(tensors.count) tensors")
            }
            operands.append(Int(tensor))
        }
        return operands
    }

    /// The `BuiltinOptions` union members this reader knows (the schema's union tags).
    private enum OptionsType: UInt8 {
        case none = 0
        case conv2D = 1
        case depthwiseConv2D = 2
        case pool2D = 5
        case fullyConnected = 8
        case softmax = 9
        case concatenation = 10
        case add = 11
        case reshape = 17
        case mul = 21
        case pad = 22
        case reducer = 27
        case sub = 28
        case squeeze = 30
        case dequantize = 38
        case padV2 = 43
        case quantize = 89
        case hardSwish = 91

        var name: String {
            switch self {
            case .none: return "NONE"
            case .conv2D: return "Conv2DOptions"
            case .depthwiseConv2D: return "DepthwiseConv2DOptions"
            case .pool2D: return "Pool2DOptions"
            case .fullyConnected: return "FullyConnectedOptions"
            case .softmax: return "SoftmaxOptions"
            case .concatenation: return "ConcatenationOptions"
            case .add: return "AddOptions"
            case .reshape: return "ReshapeOptions"
            case .mul: return "MulOptions"
            case .pad: return "PadOptions"
            case .reducer: return "ReducerOptions"
            case .sub: return "SubOptions"
            case .squeeze: return "SqueezeOptions"
            case .dequantize: return "DequantizeOptions"
            case .padV2: return "PadV2Options"
            case .quantize: return "QuantizeOptions"
            case .hardSwish: return "HardSwishOptions"
            }
        }

        /// The options type each op of interest must carry (or NONE). Ops not listed are not checked.
        static func expected(for code: BuiltinOperator) -> OptionsType? {
            switch code {
            case .conv2D: return .conv2D
            case .depthwiseConv2D: return .depthwiseConv2D
            case .averagePool2D, .maxPool2D, BuiltinOperator(rawValue: 12): return .pool2D  // 12 = L2_POOL_2D
            case .fullyConnected: return .fullyConnected
            case .softmax: return .softmax
            case .concatenation: return .concatenation
            case .add: return .add
            case .sub: return .sub
            case .mul: return .mul
            case .reshape: return .reshape
            case .squeeze: return .squeeze
            case .pad: return .pad
            case BuiltinOperator(rawValue: 60): return .padV2  // PADV2
            case .quantize: return .quantize
            case .dequantize: return .dequantize
            case .hardSwish: return .hardSwish
            case .logistic, .relu, .relu6, .reluN1To1: return OptionsType.none
            default:
                return reducers.contains(code.rawValue) ? .reducer : nil
            }
        }

        /// MEAN, SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN, REDUCE_ANY, REDUCE_ALL.
        static let reducers: Set<Int32> = [40, 74, 81, 82, 89, 91, 140]
    }

    private mutating func readOptions(_ op: FlatBufferReader.Table, code: BuiltinOperator,
                                      label: String) throws(ModelError) -> OperatorOptions {
        guard let expected = OptionsType.expected(for: code) else { return .none }
        let tag = try file.scalar(op, 3, default: UInt8(0), "\(label) builtin_options_type")
        guard tag == 0 || tag == expected.rawValue else {
            throw .malformed(what: "\(label) has builtin options of union type \(tag), expected \(expected.rawValue) "
                             + "(\(expected.name)) or none", offset: file.position(of: op, 3))
        }
        var table: FlatBufferReader.Table?
        if tag != 0 { table = try file.table(op, 4, "\(label) \(expected.name)") }
        let what = "\(label) \(expected.name)"

        switch expected {
        case .conv2D, .depthwiseConv2D:
            guard let table else { throw .invalid("\(label) has no \(expected.name), so its strides are unknown") }
            let depthwise = expected == .depthwiseConv2D
            // Depthwise options have depth_multiplier at field 3, shifting the fields after it by one.
            let shift = depthwise ? 1 : 0
            let options = ConvolutionOptions(
                padding: try padding(table, 0, what),
                strideWidth: try positive(table, 1, default: 0, what, "stride_w", label),
                strideHeight: try positive(table, 2, default: 0, what, "stride_h", label),
                dilationWidth: try positive(table, 4 + shift, default: 1, what, "dilation_w_factor", label),
                dilationHeight: try positive(table, 5 + shift, default: 1, what, "dilation_h_factor", label),
                // Kept as written: LiteRT ignores it in favour of the filter shape; the op checks it.
                depthMultiplier: depthwise ? Int(try file.scalar(table, 3, default: Int32(0), "\(what) depth_multiplier")) : 1,
                activation: try activation(table, 3 + shift, what))
            return .convolution(options)
        case .pool2D:
            guard let table else { throw .invalid("\(label) has no Pool2DOptions, so its window is unknown") }
            return .pool(PoolOptions(
                padding: try padding(table, 0, what),
                strideWidth: try positive(table, 1, default: 0, what, "stride_w", label),
                strideHeight: try positive(table, 2, default: 0, what, "stride_h", label),
                filterWidth: try positive(table, 3, default: 0, what, "filter_width", label),
                filterHeight: try positive(table, 4, default: 0, what, "filter_height", label),
                activation: try activation(table, 5, what)))
        case .fullyConnected:
            guard let table else { return .fullyConnected(FullyConnectedOptions(activation: .none)) }
            return .fullyConnected(FullyConnectedOptions(
                activation: try activation(table, 0, what),
                weightsFormat: try file.scalar(table, 1, default: Int8(0), "\(what) weights_format"),
                keepNumDims: try file.bool(table, 2, default: false, "\(what) keep_num_dims"),
                asymmetricQuantizeInputs: try file.bool(table, 3, default: false, "\(what) asymmetric_quantize_inputs")))
        case .softmax:
            // LiteRT leaves beta at the schema default 0 when the options are missing; so do we.
            guard let table else { return .softmax(beta: 0) }
            return .softmax(beta: try file.float(table, 0, default: 0, "\(what) beta"))
        case .concatenation:
            guard let table else { return .concatenation(axis: 0, activation: .none) }
            return .concatenation(axis: Int(try file.scalar(table, 0, default: Int32(0), "\(what) axis")),
                                  activation: try activation(table, 1, what))
        case .add, .sub, .mul:
            guard let table else { return .elementwise(activation: .none) }
            return .elementwise(activation: try activation(table, 0, what))
        case .reshape:
            guard let table else { return .reshape(newShape: nil) }
            return .reshape(newShape: try file.scalars(table, 0, as: Int32.self, "\(what) new_shape vector")?.map { Int($0) })
        case .squeeze:
            guard let table else { return .squeeze(dimensions: []) }
            return .squeeze(dimensions: (try file.scalars(table, 0, as: Int32.self, "\(what) squeeze_dims vector") ?? []).map { Int($0) })
        case .reducer:
            guard let table else { return .reducer(keepDimensions: false) }
            return .reducer(keepDimensions: try file.bool(table, 0, default: false, "\(what) keep_dims"))
        case .none, .pad, .padV2, .quantize, .dequantize, .hardSwish:
            return .none
        }
    }

    private func padding(_ table: FlatBufferReader.Table, _ slot: Int, _ what: String) throws(ModelError) -> Padding {
        let raw = try file.scalar(table, slot, default: Int8(0), "\(what) padding")
        guard let padding = Padding(rawValue: raw) else {
            throw .malformed(what: "\(what) has unknown padding code \(raw)", offset: file.position(of: table, slot))
        }
        return padding
    }

    private func activation(_ table: FlatBufferReader.Table, _ slot: Int, _ what: String) throws(ModelError) -> FusedActivation {
        let raw = try file.scalar(table, slot, default: Int8(0), "\(what) fused_activation_function")
        guard let activation = FusedActivation(rawValue: raw) else {
            throw .malformed(what: "\(what) has unknown fused activation code \(raw)", offset: file.position(of: table, slot))
        }
        return activation
    }

    /// A stride, dilation or window size: must be at least 1.
    private func positive(_ table: FlatBufferReader.Table, _ slot: Int, default value: Int32, _ what: String,
                          _ field: String, _ label: String) throws(ModelError) -> Int {
        let raw = try file.scalar(table, slot, default: value, "\(what) \(field)")
        guard raw >= 1 else { throw .invalid("\(label) has \(field) \(raw); it must be at least 1") }
        return Int(raw)
    }
}

private func hex(_ byte: UInt8) -> String {
    byte < 16 ? "0x0" + String(byte, radix: 16) : "0x" + String(byte, radix: 16)
}
