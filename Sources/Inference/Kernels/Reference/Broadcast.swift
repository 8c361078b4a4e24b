/// How two operands of a binary elementwise op map onto its output under NumPy-style
/// broadcasting, with every shape right-aligned and extended to six dimensions.
///
/// Mirrors TFLite's `NdArrayDescsForElementwiseBroadcast` (strides of broadcast
/// dimensions are 0) as used by the `BroadcastAdd6DSlow`/`BroadcastMul6DSlow` kernels.
struct BroadcastShape: Sendable, Equatable {
    static let maximumRank = 6

    /// The broadcast result shape, at the rank of the larger operand.
    var outputShape: [Int]
    /// `outputShape` extended with leading 1s to ``maximumRank`` dimensions.
    var extendedOutputShape: [Int]
    /// Element strides of each operand per extended output dimension (0 where broadcast).
    var input1Strides: [Int]
    var input2Strides: [Int]

    /// Nil when the shapes are not broadcast-compatible or have more than six dimensions.
    init?(_ shape1: [Int], _ shape2: [Int]) {
        let rank = max(shape1.count, shape2.count)
        guard rank <= Self.maximumRank else { return nil }
        let extended1 = [Int](repeating: 1, count: Self.maximumRank - shape1.count) + shape1
        let extended2 = [Int](repeating: 1, count: Self.maximumRank - shape2.count) + shape2
        var output = [Int](repeating: 1, count: Self.maximumRank)
        for d in 0..<Self.maximumRank {
            let a = extended1[d], b = extended2[d]
            guard a == b || a == 1 || b == 1 else { return nil }
            output[d] = a == 1 ? b : a
        }
        func strides(_ extended: [Int]) -> [Int] {
            var result = [Int](repeating: 0, count: Self.maximumRank)
            var elements = 1
            for d in stride(from: Self.maximumRank - 1, through: 0, by: -1) {
                result[d] = extended[d] == 1 ? 0 : elements
                elements *= extended[d]
            }
            return result
        }
        extendedOutputShape = output
        outputShape = Array(output.suffix(rank))
        input1Strides = strides(extended1)
        input2Strides = strides(extended2)
    }

    /// Calls `body(outputIndex, input1Index, input2Index)` for every output element in
    /// row-major order.
    @inline(__always)
    func forEachElement(_ body: (Int, Int, Int) -> Void) {
        let n = extendedOutputShape, s1 = input1Strides, s2 = input2Strides
        var outputIndex = 0
        for i0 in 0..<n[0] {
            for i1 in 0..<n[1] {
                for i2 in 0..<n[2] {
                    for i3 in 0..<n[3] {
                        for i4 in 0..<n[4] {
                            let base1 = i0 * s1[0] + i1 * s1[1] + i2 * s1[2] + i3 * s1[3] + i4 * s1[4]
                            let base2 = i0 * s2[0] + i1 * s2[1] + i2 * s2[2] + i3 * s2[3] + i4 * s2[4]
                            for i5 in 0..<n[5] {
                                body(outputIndex, base1 + i5 * s1[5], base2 + i5 * s2[5])
                                outputIndex += 1
                            }
                        }
                    }
                }
            }
        }
    }
}
