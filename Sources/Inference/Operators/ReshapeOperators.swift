/// RESHAPE and SQUEEZE: the same bytes under another shape, copied from input to output
/// (the execution plan may alias the two and skip the copy).
struct ReshapeOperator: PreparedOperator {
    let info: OperatorInfo
    let input: Operand<UInt8>
    let output: Int
    let byteCount: Int

    var multiplyAccumulates: Int { 0 }

    /// Mirrors TFLite `reshape.cc` / `squeeze.cc`: the element type and the element count
    /// must not change; the bytes are kept as they are (like TFLite, a differing output
    /// quantization is ignored, the converter never emits one). The target shape itself is the output tensor's declared shape, checked against the
    /// shape input, the options, or the squeezed dimensions when they are given.
    init(_ op: OperatorInfo, in model: Model) throws(ModelError) {
        let prep = OperatorPreparation(op, in: model)
        try prep.requireCounts(inputs: op.code == .reshape ? 1...2 : 1...1)
        let input = try prep.input(0), output = try prep.output()
        try prep.requireType(output, [input.type], "output")
        guard input.elementCount == output.elementCount else {
            throw prep.invalid("output \(prep.describe(output)) has \(output.elementCount) elements, input \(prep.describe(input)) \(input.elementCount)")
        }
        if op.code == .squeeze {
            guard case let .squeeze(dimensions) = op.options else { throw prep.invalid("has no SqueezeOptions") }
            let rank = input.shape.count
            var squeezed = Set<Int>()
            for d in dimensions {
                guard d >= -rank, d < rank else { throw prep.invalid("squeeze dimension \(d) is out of range") }
                squeezed.insert(d < 0 ? d + rank : d)
            }
            let expected = input.shape.enumerated()
                .filter { dimensions.isEmpty ? $0.element != 1 : !(squeezed.contains($0.offset) && $0.element == 1) }
                .map(\.element)
            try prep.requireShape(output, expected)
        } else if let shapeTensor = try prep.optionalInput(1, "shape"), shapeTensor.isConstant {
            let requested = try prep.integerParameters(shapeTensor, "shape")
            try requireMatches(requested, output, prep)
        } else if case let .reshape(newShape?) = op.options {
            try requireMatches(newShape, output, prep)
        }
        self.info = op
        self.input = try prep.operand(input, as: UInt8.self, "input")
        self.output = output.index
        self.byteCount = output.byteCount ?? 0
    }

    func run(_ tensors: TensorPointers) {
        let destination = tensors.raw(output)
        input.withBuffer(tensors, count: byteCount) { source in
            guard let base = source.baseAddress, UnsafeRawPointer(base) != UnsafeRawPointer(destination) else { return }
            destination.copyMemory(from: base, byteCount: byteCount)
        }
    }
}

/// Checks a requested RESHAPE shape (with at most one -1) against the output's shape.
private func requireMatches(_ requested: [Int], _ output: TensorInfo, _ prep: OperatorPreparation) throws(ModelError) {
    guard requested.count == output.shape.count,
          zip(requested, output.shape).allSatisfy({ $0 == $1 || $0 == -1 }),
          requested.filter({ $0 == -1 }).count <= 1
    else {
        throw prep.invalid("requested shape \(requested) does not match output \(prep.describe(output))")
    }
}
