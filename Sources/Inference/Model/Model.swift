/// A TFLite model: the tensors and operators of its main subgraph plus the file's bytes.
///
/// A `Model` is a description only; it runs nothing. Create one with
/// ``Model/init(bytes:)`` (see `ModelReader.swift`), then prepare it with an
/// ``Interpreter``. Constant tensors are not copied: ``TensorInfo/constantBytes``
/// points into ``bytes``.
public struct Model: Sendable {
    /// The whole flatbuffer file.
    public let bytes: [UInt8]
    /// Schema version the file declares.
    public var version: Int
    /// The file's description string (the converter writes e.g. "MLIR Converted.").
    public var fileDescription: String
    /// Name of the main subgraph (often empty).
    public var subgraphName: String
    public var tensors: [TensorInfo]
    /// In file order, which for TFLite converters is a valid execution order (the plan checks it).
    public var operators: [OperatorInfo]
    /// Tensor indices of the subgraph's inputs and outputs.
    public var inputs: [Int]
    public var outputs: [Int]

    public init(bytes: [UInt8], version: Int, fileDescription: String, subgraphName: String,
                tensors: [TensorInfo], operators: [OperatorInfo], inputs: [Int], outputs: [Int]) {
        self.bytes = bytes
        self.version = version
        self.fileDescription = fileDescription
        self.subgraphName = subgraphName
        self.tensors = tensors
        self.operators = operators
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Finds a tensor by exact name or by index written as a decimal number.
    public func tensorIndex(named nameOrIndex: String) throws(ModelError) -> Int {
        if let index = tensors.firstIndex(where: { $0.name == nameOrIndex }) { return index }
        if let index = Int(nameOrIndex), tensors.indices.contains(index) { return index }
        throw ModelError.noSuchTensor(nameOrIndex)
    }

    /// The raw bytes of a constant tensor.
    public func constantBytes(of tensor: Int) throws(ModelError) -> ArraySlice<UInt8> {
        guard tensors.indices.contains(tensor), let range = tensors[tensor].constantBytes else {
            throw ModelError.invalid("tensor \(tensor) is not a constant")
        }
        return bytes[range]
    }

    /// A constant tensor's elements, decoded as little-endian `T` (copies, so the result is aligned).
    public func constant<T: FixedWidthInteger>(_ tensor: Int, as type: T.Type) throws(ModelError) -> [T] {
        let raw = try constantBytes(of: tensor)
        let size = MemoryLayout<T>.size
        guard raw.count % size == 0 else {
            throw ModelError.invalid("constant tensor \(tensor) '\(tensors[tensor].name)' has \(raw.count) bytes, not a multiple of \(size)")
        }
        var result = [T](repeating: 0, count: raw.count / size)
        result.withUnsafeMutableBytes { destination in
            raw.withUnsafeBytes { source in destination.copyMemory(from: source) }
        }
        return result.map { T(littleEndian: $0) }
    }

    /// A float32 constant tensor's elements.
    public func floatConstant(_ tensor: Int) throws(ModelError) -> [Float] {
        try constant(tensor, as: UInt32.self).map { Float(bitPattern: $0) }
    }
}
