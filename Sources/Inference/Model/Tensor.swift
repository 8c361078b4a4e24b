/// Affine quantization of a tensor: `real = scale * (q - zeroPoint)`.
///
/// Per-tensor quantization has one scale and one zero point; per-channel quantization
/// (weights) has one per slice along `quantizedDimension`.
public struct Quantization: Sendable, Equatable {
    public var scales: [Float]
    public var zeroPoints: [Int64]
    public var quantizedDimension: Int

    public init(scales: [Float], zeroPoints: [Int64], quantizedDimension: Int = 0) {
        self.scales = scales
        self.zeroPoints = zeroPoints
        self.quantizedDimension = quantizedDimension
    }

    /// True when one scale covers the whole tensor.
    public var isPerTensor: Bool { scales.count == 1 }
    /// The per-tensor scale (the first one for per-channel tensors).
    public var scale: Float { scales.first ?? 0 }
    /// The per-tensor zero point (the first one for per-channel tensors).
    public var zeroPoint: Int32 { Int32(truncatingIfNeeded: zeroPoints.first ?? 0) }
}

/// One tensor of a model as the file declares it.
public struct TensorInfo: Sendable, Equatable {
    /// Position in the subgraph's tensor list (the number TFLite tools print as `tN`).
    public var index: Int
    public var name: String
    public var type: TensorType
    /// Dimensions, outermost first (NHWC for images).
    public var shape: [Int]
    /// nil when the tensor carries no quantization parameters.
    public var quantization: Quantization?
    /// The bytes of a constant tensor inside the model file, or nil for activations.
    public var constantBytes: Range<Int>?
    /// TFLite "variable" tensors (state that persists across invocations).
    public var isVariable: Bool

    public init(index: Int, name: String, type: TensorType, shape: [Int], quantization: Quantization?,
                constantBytes: Range<Int>?, isVariable: Bool = false) {
        self.index = index
        self.name = name
        self.type = type
        self.shape = shape
        self.quantization = quantization
        self.constantBytes = constantBytes
        self.isVariable = isVariable
    }

    public var isConstant: Bool { constantBytes != nil }
    /// Number of elements (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Size in bytes, or nil for types without a fixed element size.
    public var byteCount: Int? { type.byteSize.map { $0 * elementCount } }
}
