/// Everything PAD / PADV2 needs besides its tensors, with shapes extended to six dimensions.
struct PadParameters: Sendable, Equatable {
    static let maximumRank = 6

    var extendedInputShape: [Int]
    var extendedOutputShape: [Int]
    /// Elements added before the input along each extended dimension.
    var leadingPadding: [Int]

    /// Nil when the rank exceeds six or a padding is negative.
    init?(inputShape: [Int], paddings: [(before: Int, after: Int)]) {
        guard inputShape.count == paddings.count, inputShape.count <= Self.maximumRank,
              paddings.allSatisfy({ $0.before >= 0 && $0.after >= 0 }) else { return nil }
        let missing = Self.maximumRank - inputShape.count
        extendedInputShape = [Int](repeating: 1, count: missing) + inputShape
        leadingPadding = [Int](repeating: 0, count: missing) + paddings.map(\.before)
        extendedOutputShape = [Int](repeating: 1, count: missing)
            + zip(inputShape, paddings).map { $0 + $1.before + $1.after }
    }

    /// The output shape at the input's rank.
    func outputShape(rank: Int) -> [Int] { Array(extendedOutputShape.suffix(rank)) }
}

extension ReferenceKernels {
    /// Constant padding. Reproduces TFLite `reference_ops::Pad` (`PadImpl`): every output
    /// element outside the copied input block gets `padValue` (the output zero point for
    /// PAD, the constant operand for PADV2).
    static func pad<T>(
        _ p: PadParameters, input: UnsafeBufferPointer<T>, padValue: T, output: UnsafeMutableBufferPointer<T>
    ) {
        let n = p.extendedOutputShape, s = p.extendedInputShape, l = p.leadingPadding
        @inline(__always)
        func inside(_ index: Int, _ d: Int) -> Bool { index >= l[d] && index < l[d] + s[d] }
        var outputIndex = 0
        var inputIndex = 0
        for i0 in 0..<n[0] {
            for i1 in 0..<n[1] {
                for i2 in 0..<n[2] {
                    for i3 in 0..<n[3] {
                        for i4 in 0..<n[4] {
                            let rowInside = inside(i0, 0) && inside(i1, 1) && inside(i2, 2) && inside(i3, 3) && inside(i4, 4)
                            for i5 in 0..<n[5] {
                                if rowInside && inside(i5, 5) {
                                    output[outputIndex] = input[inputIndex]
                                    inputIndex += 1
                                } else {
                                    output[outputIndex] = padValue
                                }
                                outputIndex += 1
                            }
                        }
                    }
                }
            }
        }
    }
}
