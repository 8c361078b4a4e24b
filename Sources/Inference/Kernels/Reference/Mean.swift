/// Everything a quantized MEAN needs besides its tensors. The reduction is described by
/// two offset tables, so any set of axes of any rank takes the same loop.
struct MeanParameters: Sendable, Equatable {
    /// For each output element, the input offset of its first reduced element.
    var outputBaseOffsets: [Int]
    /// The input offsets, relative to a base, of the elements reduced into one output.
    var reducedOffsets: [Int]
    var inputZeroPoint: Int32
    var outputZeroPoint: Int32
    /// `inputScale / outputScale` with `1 / reducedOffsets.count` folded in.
    var multiplier: QuantizedMultiplier

    /// Builds the tables for reducing `inputShape` over `axes` (already resolved: in range,
    /// no duplicates), and folds the element count into `scaleMultiplier` exactly as
    /// TFLite's `QuantizedMeanOrSum` does. Nil when the element count makes the
    /// multiplier unrepresentable.
    init?(inputShape: [Int], axes: [Int], inputZeroPoint: Int32, outputZeroPoint: Int32,
          scaleMultiplier: QuantizedMultiplier) {
        var strides = [Int](repeating: 1, count: inputShape.count)
        var elements = 1
        for d in stride(from: inputShape.count - 1, through: 0, by: -1) {
            strides[d] = elements
            elements *= inputShape[d]
        }
        func offsets(over dimensions: [Int]) -> [Int] {
            var result = [0]
            for d in dimensions {
                result = result.flatMap { base in (0..<inputShape[d]).map { base + $0 * strides[d] } }
            }
            return result
        }
        let kept = inputShape.indices.filter { !axes.contains($0) }
        outputBaseOffsets = offsets(over: kept)
        reducedOffsets = offsets(over: axes.sorted())
        self.inputZeroPoint = inputZeroPoint
        self.outputZeroPoint = outputZeroPoint

        // TFLite: shift = 63 - clz64(n), at most 32 and at most 31 + outputShift; then
        // multiplier = (multiplier << shift) / n in int64 and outputShift -= shift.
        let count = Int64(reducedOffsets.count)
        guard count > 0 else { return nil }
        var shift = 63 - UInt64(count).leadingZeroBitCount
        shift = min(shift, 32)
        shift = min(shift, 31 + scaleMultiplier.shift)
        guard shift >= 0 else { return nil }
        multiplier = QuantizedMultiplier(
            multiplier: Int32(truncatingIfNeeded: (Int64(scaleMultiplier.multiplier) << shift) / count),
            shift: scaleMultiplier.shift - shift)
    }
}

extension ReferenceKernels {
    /// Quantized mean over some axes (int8 or uint8).
    ///
    /// Reproduces TFLite `reference_ops::QuantizedMeanOrSum` with `compute_sum = false` (the
    /// path LiteRT's reference MEAN takes for int8/uint8 since 2024): an int32 sum of the raw
    /// values, minus `inputZeroPoint * count`, then ``multiplyByQuantizedMultiplier(_:_:_:)``
    /// with the count-adjusted multiplier, the output zero point and a clamp to the type.
    static func mean<T: FixedWidthInteger>(
        _ p: MeanParameters, input: UnsafeBufferPointer<T>, output: UnsafeMutableBufferPointer<T>
    ) {
        let count = Int64(p.reducedOffsets.count)
        for (o, base) in p.outputBaseOffsets.enumerated() {
            var sum: Int32 = 0
            for offset in p.reducedOffsets { sum &+= Int32(truncatingIfNeeded: input[base + offset]) }
            let shiftedSum = Int32(truncatingIfNeeded: Int64(sum) - Int64(p.inputZeroPoint) * count)
            let value = multiplyByQuantizedMultiplier(shiftedSum, p.multiplier.multiplier, p.multiplier.shift)
                &+ p.outputZeroPoint
            output[o] = T(truncatingIfNeeded: min(max(value, Int32(T.min)), Int32(T.max)))
        }
    }
}
