import Inference

/// Builds small float32 `Model`s in memory (constants stored in the model's byte buffer), so
/// the backward pass can be checked on random graphs without a TFLite file.
struct GraphBuilder {
    var bytes: [UInt8] = []
    var tensors: [TensorInfo] = []
    var operators: [OperatorInfo] = []
    var generator = SeededGenerator(seed: 1)

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func activation(_ shape: [Int]) -> Int {
        tensors.append(TensorInfo(index: tensors.count, name: "t\(tensors.count)", type: .float32, shape: shape,
                                  quantization: nil, constantBytes: nil))
        return tensors.count - 1
    }

    mutating func constant(_ shape: [Int], values: [Float]? = nil) -> Int {
        let count = shape.reduce(1, *)
        let data = values ?? (0..<count).map { _ in generator.uniform(-1, 1) }
        let start = bytes.count
        for v in data { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        tensors.append(TensorInfo(index: tensors.count, name: "c\(tensors.count)", type: .float32, shape: shape,
                                  quantization: nil, constantBytes: start..<bytes.count))
        return tensors.count - 1
    }

    mutating func integers(_ values: [Int32], shape: [Int]) -> Int {
        let start = bytes.count
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        tensors.append(TensorInfo(index: tensors.count, name: "i\(tensors.count)", type: .int32, shape: shape,
                                  quantization: nil, constantBytes: start..<bytes.count))
        return tensors.count - 1
    }

    @discardableResult
    mutating func op(_ code: BuiltinOperator, _ inputs: [Int], _ outputShape: [Int], _ options: OperatorOptions = .none) -> Int {
        let out = activation(outputShape)
        operators.append(OperatorInfo(index: operators.count, code: code, inputs: inputs, outputs: [out], options: options))
        return out
    }

    func model(input: Int, output: Int) -> Model {
        Model(bytes: bytes, version: 3, fileDescription: "test", subgraphName: "", tensors: tensors,
              operators: operators, inputs: [input], outputs: [output])
    }
}

/// SplitMix64: deterministic random numbers for tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
}
