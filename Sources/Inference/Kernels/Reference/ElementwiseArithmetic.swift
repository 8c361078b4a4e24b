/// Everything a quantized ADD or SUB needs besides its tensors.
struct AdditionParameters: Sendable, Equatable {
    var input1Offset: Int32
    var input2Offset: Int32
    var outputOffset: Int32
    /// 20 for int8: inputs are shifted left this much before rescaling, for precision.
    var leftShift: Int
    var input1Multiplier: QuantizedMultiplier
    var input2Multiplier: QuantizedMultiplier
    var outputMultiplier: QuantizedMultiplier
    var activation: ActivationRange
    /// Nil when both operands have the output's shape.
    var broadcast: BroadcastShape?
}

/// Everything a quantized MUL needs besides its tensors.
struct MultiplicationParameters: Sendable, Equatable {
    var input1Offset: Int32
    var input2Offset: Int32
    var outputOffset: Int32
    var outputMultiplier: QuantizedMultiplier
    var activation: ActivationRange
    var broadcast: BroadcastShape?
}

extension AdditionParameters {
    /// Both inputs brought to a common scale (twice the larger input scale, with
    /// ``leftShift`` extra bits), as int32.
    ///
    /// The input half of TFLite's `AddFunc` (`reference/integer_ops/add.h`) and
    /// `SubElementwise` (`reference/sub.h`).
    @inline(__always)
    func scaledInputs(_ x: Int8, _ y: Int8) -> (Int32, Int32) {
        let shifted1 = (input1Offset &+ Int32(x)) &* (Int32(1) << leftShift)
        let shifted2 = (input2Offset &+ Int32(y)) &* (Int32(1) << leftShift)
        return (
            multiplyByQuantizedMultiplierSmallerThanOneExp(shifted1, input1Multiplier.multiplier, input1Multiplier.shift),
            multiplyByQuantizedMultiplierSmallerThanOneExp(shifted2, input2Multiplier.multiplier, input2Multiplier.shift)
        )
    }

    /// The output half: rescale the raw sum or difference, add the zero point, clamp.
    @inline(__always)
    func output(_ raw: Int32) -> Int8 {
        let value = multiplyByQuantizedMultiplierSmallerThanOneExp(raw, outputMultiplier.multiplier, outputMultiplier.shift)
            &+ outputOffset
        return Int8(truncatingIfNeeded: min(activation.maximum, max(activation.minimum, value)))
    }
}

extension ReferenceKernels {
    /// Int8 addition. Reproduces TFLite `reference_integer_ops::Add` and
    /// `BroadcastAdd6DSlow` (int8): each input rescaled to a common scale with
    /// `MultiplyByQuantizedMultiplierSmallerThanOneExp`, summed, rescaled to the output.
    static func add(
        _ p: AdditionParameters,
        input1: UnsafeBufferPointer<Int8>,
        input2: UnsafeBufferPointer<Int8>,
        output: UnsafeMutableBufferPointer<Int8>
    ) {
        if let broadcast = p.broadcast {
            broadcast.forEachElement { o, i1, i2 in
                let (a, b) = p.scaledInputs(input1[i1], input2[i2])
                output[o] = p.output(a &+ b)
            }
        } else {
            for i in 0..<output.count {
                let (a, b) = p.scaledInputs(input1[i], input2[i])
                output[i] = p.output(a &+ b)
            }
        }
    }

    /// Int8 subtraction. Reproduces TFLite `reference_ops::Sub` / `BroadcastQuantSubSlow`
    /// (int8), the same arithmetic as ``add(_:input1:input2:output:)`` with a difference.
    static func sub(
        _ p: AdditionParameters,
        input1: UnsafeBufferPointer<Int8>,
        input2: UnsafeBufferPointer<Int8>,
        output: UnsafeMutableBufferPointer<Int8>
    ) {
        if let broadcast = p.broadcast {
            broadcast.forEachElement { o, i1, i2 in
                let (a, b) = p.scaledInputs(input1[i1], input2[i2])
                output[o] = p.output(a &- b)
            }
        } else {
            for i in 0..<output.count {
                let (a, b) = p.scaledInputs(input1[i], input2[i])
                output[i] = p.output(a &- b)
            }
        }
    }

    /// Int8 multiplication. Reproduces TFLite `reference_integer_ops::Mul` /
    /// `BroadcastMul6DSlow` (int8): `(x - zx) * (y - zy)` in int32, then
    /// ``multiplyByQuantizedMultiplier(_:_:_:)``, the output zero point and the clamp.
    static func mul(
        _ p: MultiplicationParameters,
        input1: UnsafeBufferPointer<Int8>,
        input2: UnsafeBufferPointer<Int8>,
        output: UnsafeMutableBufferPointer<Int8>
    ) {
        @inline(__always)
        func element(_ x: Int8, _ y: Int8) -> Int8 {
            let product = (p.input1Offset &+ Int32(x)) &* (p.input2Offset &+ Int32(y))
            let value = p.outputOffset
                &+ multiplyByQuantizedMultiplier(product, p.outputMultiplier.multiplier, p.outputMultiplier.shift)
            return Int8(truncatingIfNeeded: min(p.activation.maximum, max(p.activation.minimum, value)))
        }
        if let broadcast = p.broadcast {
            broadcast.forEachElement { o, i1, i2 in output[o] = element(input1[i1], input2[i2]) }
        } else {
            for i in 0..<output.count { output[i] = element(input1[i], input2[i]) }
        }
    }
}
