/// TFLite builtin operator codes (the values of the schema's `BuiltinOperator`).
///
/// Only the codes a model can name are listed by value; anything else is kept as
/// its raw number so that error messages can still say which op was found.
public struct BuiltinOperator: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let add = Self(rawValue: 0)
    public static let averagePool2D = Self(rawValue: 1)
    public static let concatenation = Self(rawValue: 2)
    public static let conv2D = Self(rawValue: 3)
    public static let depthwiseConv2D = Self(rawValue: 4)
    public static let dequantize = Self(rawValue: 6)
    public static let fullyConnected = Self(rawValue: 9)
    public static let logistic = Self(rawValue: 14)
    public static let maxPool2D = Self(rawValue: 17)
    public static let mul = Self(rawValue: 18)
    public static let relu = Self(rawValue: 19)
    public static let reluN1To1 = Self(rawValue: 20)
    public static let relu6 = Self(rawValue: 21)
    public static let reshape = Self(rawValue: 22)
    public static let softmax = Self(rawValue: 25)
    public static let custom = Self(rawValue: 32)
    public static let pad = Self(rawValue: 34)
    public static let mean = Self(rawValue: 40)
    public static let sub = Self(rawValue: 41)
    public static let squeeze = Self(rawValue: 43)
    public static let quantize = Self(rawValue: 114)
    public static let hardSwish = Self(rawValue: 117)

    /// The schema's name for the op (e.g. `CONV_2D`), or `BUILTIN_<n>` for codes this table does not know.
    public var description: String { Self.names[rawValue] ?? "BUILTIN_\(rawValue)" }

    /// Names of every builtin op of the TFLite schema (codes 0-206, checked against schema.fbs), so unsupported
    /// ops are named in errors.
    static let names: [Int32: String] = {
        let list = [
            "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
            "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION",
            "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D",
            "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX",
            "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM",
            "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
            "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
            "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE",
            "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG",
            "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
            "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT",
            "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR",
            "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY",
            "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
            "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N",
            "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE",
            "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4",
            "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
            "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D",
            "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE",
            "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
            "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
            "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
            "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR",
            "RIGHT_SHIFT",
            "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM",
            "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
            "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS",
            "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
            "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER", "STABLEHLO_REMAINDER",
            "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER",
            "STABLEHLO_COMPARE", "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
            "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
            "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR",
            "REDUCE_WINDOW", "STABLEHLO_COMPOSITE",
        ]
        var table: [Int32: String] = [:]
        for (code, name) in list.enumerated() { table[Int32(code)] = name }
        return table
    }()
}

/// Activation fused into an op's output (the schema's `ActivationFunctionType`).
public enum FusedActivation: Int8, Sendable, CustomStringConvertible {
    case none = 0
    case relu = 1
    case reluN1To1 = 2
    case relu6 = 3
    case tanh = 4
    case signBit = 5

    public var description: String {
        switch self {
        case .none: return "NONE"
        case .relu: return "RELU"
        case .reluN1To1: return "RELU_N1_TO_1"
        case .relu6: return "RELU6"
        case .tanh: return "TANH"
        case .signBit: return "SIGN_BIT"
        }
    }
}

/// Padding scheme of convolutions and pools (the schema's `Padding`).
public enum Padding: Int8, Sendable, CustomStringConvertible {
    case same = 0
    case valid = 1

    public var description: String { self == .same ? "SAME" : "VALID" }
}

/// Options of CONV_2D and DEPTHWISE_CONV_2D.
public struct ConvolutionOptions: Sendable, Equatable {
    public var padding: Padding
    public var strideWidth: Int
    public var strideHeight: Int
    public var dilationWidth: Int
    public var dilationHeight: Int
    /// DEPTHWISE_CONV_2D only; 1 for CONV_2D.
    public var depthMultiplier: Int
    public var activation: FusedActivation

    public init(padding: Padding, strideWidth: Int, strideHeight: Int, dilationWidth: Int = 1,
                dilationHeight: Int = 1, depthMultiplier: Int = 1, activation: FusedActivation) {
        self.padding = padding
        self.strideWidth = strideWidth
        self.strideHeight = strideHeight
        self.dilationWidth = dilationWidth
        self.dilationHeight = dilationHeight
        self.depthMultiplier = depthMultiplier
        self.activation = activation
    }
}

/// Options of AVERAGE_POOL_2D and MAX_POOL_2D.
public struct PoolOptions: Sendable, Equatable {
    public var padding: Padding
    public var strideWidth: Int
    public var strideHeight: Int
    public var filterWidth: Int
    public var filterHeight: Int
    public var activation: FusedActivation

    public init(padding: Padding, strideWidth: Int, strideHeight: Int, filterWidth: Int, filterHeight: Int,
                activation: FusedActivation) {
        self.padding = padding
        self.strideWidth = strideWidth
        self.strideHeight = strideHeight
        self.filterWidth = filterWidth
        self.filterHeight = filterHeight
        self.activation = activation
    }
}

/// Options of FULLY_CONNECTED.
public struct FullyConnectedOptions: Sendable, Equatable {
    public var activation: FusedActivation
    /// Weights format: 0 = DEFAULT; anything else (shuffled formats) is unsupported.
    public var weightsFormat: Int8
    /// When true the output keeps the input's leading dimensions.
    public var keepNumDims: Bool
    public var asymmetricQuantizeInputs: Bool

    public init(activation: FusedActivation, weightsFormat: Int8 = 0, keepNumDims: Bool = false,
                asymmetricQuantizeInputs: Bool = false) {
        self.activation = activation
        self.weightsFormat = weightsFormat
        self.keepNumDims = keepNumDims
        self.asymmetricQuantizeInputs = asymmetricQuantizeInputs
    }
}

/// Builtin options of one operator, as far as this engine reads them.
public enum OperatorOptions: Sendable, Equatable {
    /// The op has no options table, or has options this engine does not need.
    case none
    case convolution(ConvolutionOptions)
    case pool(PoolOptions)
    case fullyConnected(FullyConnectedOptions)
    /// ADD, SUB, MUL: only the fused activation. (`potScaleInt16` of ADD/SUB is ignored: int16 is unsupported.)
    case elementwise(activation: FusedActivation)
    case concatenation(axis: Int, activation: FusedActivation)
    case softmax(beta: Float)
    /// RESHAPE: the target shape from the options table, if present (the shape input tensor wins when both exist).
    case reshape(newShape: [Int]?)
    case squeeze(dimensions: [Int])
    /// MEAN and the other reducers.
    case reducer(keepDimensions: Bool)
}

/// One operator of the model's main subgraph, in file order.
public struct OperatorInfo: Sendable, Equatable {
    /// Position in the subgraph's operator list.
    public var index: Int
    public var code: BuiltinOperator
    /// The custom op's name when `code == .custom`.
    public var customName: String?
    /// Tensor indices; -1 marks an absent optional input.
    public var inputs: [Int]
    public var outputs: [Int]
    public var options: OperatorOptions

    public init(index: Int, code: BuiltinOperator, customName: String? = nil, inputs: [Int], outputs: [Int],
                options: OperatorOptions) {
        self.index = index
        self.code = code
        self.customName = customName
        self.inputs = inputs
        self.outputs = outputs
        self.options = options
    }

    /// The op's name for messages: the schema name, or the custom op's own name.
    public var name: String { customName.map { "CUSTOM(\($0))" } ?? code.description }
}
