import Inference

/// Where a clamping activation (RELU, RELU6, RELU_N1_TO_1, fused or standalone) lets gradients through.
///
/// The int8 engine clamps the *quantized* output to `[zeroPoint + round(lo / scale), zeroPoint +
/// round(hi / scale)]` (TFLite `CalculateActivationRangeQuantized`). An output sitting on a bound
/// means the pre-activation was at or beyond it, so its gradient is zero. The gate compares the
/// dequantized output with the dequantized bounds, which is the same test as on the int8 values
/// and also works on float tensors.
struct ActivationGate: Sendable, Equatable {
    /// Real-valued bounds of the output; nil where the activation has none.
    var lower: Float?
    var upper: Float?
    /// The same bounds as quantized values (nil for a float tensor or no bound): the int8 engine
    /// clamps to exactly these, so comparing the raw outputs with them gates without dequantizing.
    var quantizedLower: Int32?
    var quantizedUpper: Int32?

    /// Whether guided backprop also drops negative gradients here (it does at every ReLU-type gate).
    var isRectifier: Bool { lower != nil || upper != nil }

    /// The gate of `activation` on an output quantized with `scale`/`zeroPoint` (nil `scale`: a float tensor).
    /// Nil for `.none` (nothing to gate); TANH and SIGN_BIT are rejected earlier by the engine.
    init?(_ activation: FusedActivation, scale: Float?, zeroPoint: Int32, quantizedMinimum: Int32 = -128,
          quantizedMaximum: Int32 = 127) {
        func bound(_ real: Float) -> (Float, Int32?) {
            guard let scale, scale > 0 else { return (real, nil) }
            let q = Int64(zeroPoint) + Int64((real / scale).rounded(.toNearestOrAwayFromZero))
            let clamped = min(max(q, Int64(quantizedMinimum)), Int64(quantizedMaximum))
            return (scale * Float(clamped - Int64(zeroPoint)), Int32(clamped))
        }
        let bounds: (lower: (Float, Int32?), upper: (Float, Int32?)?)
        switch activation {
        case .relu: bounds = (bound(0), nil)
        case .relu6: bounds = (bound(0), bound(6))
        case .reluN1To1: bounds = (bound(-1), bound(1))
        case .none, .tanh, .signBit: return nil
        }
        (lower, quantizedLower) = bounds.lower
        upper = bounds.upper?.0
        quantizedUpper = bounds.upper?.1
    }

    init(lower: Float?, upper: Float?) {
        self.lower = lower
        self.upper = upper
    }

    /// Whether ``apply(to:quantizedOutput:signed:guided:)`` can gate on the raw outputs.
    var hasQuantizedBounds: Bool { quantizedLower != nil }

    /// Zeroes `gradient` where `output` sits on a bound. With `guided` (guided backprop,
    /// Springenberg et al. 2015, as xplique implements it for every ReLU including capped ones):
    /// passes only positive gradients where the output is above the lower bound — the upper plateau
    /// of RELU6 does not block guided gradients.
    func apply(to gradient: UnsafeMutableBufferPointer<Float>, output: UnsafeBufferPointer<Float>, guided: Bool) {
        let lo = lower ?? -.infinity, hi = upper ?? .infinity
        if guided {
            for i in 0..<gradient.count {
                let y = output[i]
                gradient[i] = y <= lo ? 0 : max(gradient[i], 0)
            }
        } else {
            for i in 0..<gradient.count {
                let y = output[i]
                if y <= lo || y >= hi { gradient[i] = 0 }
            }
        }
    }
}

extension ActivationGate {
    /// ``apply(to:output:guided:)`` on the raw int8 (`signed`) or uint8 outputs, compared with
    /// ``quantizedLower``/``quantizedUpper`` — the same decisions, since `scale · (q - zeroPoint)`
    /// is monotonic in `q` and the real bounds are computed from the quantized ones. 8 lanes at a time.
    func apply(to gradient: UnsafeMutableBufferPointer<Float>, quantizedOutput output: UnsafeRawBufferPointer,
               signed: Bool, guided: Bool) {
        let count = min(gradient.count, output.count)
        guard let g = gradient.baseAddress, let q = output.baseAddress else { return }
        let lo = quantizedLower ?? Int32.min, hi = guided ? Int32.max : (quantizedUpper ?? Int32.max)
        let low = SIMD8<Int32>(repeating: lo), high = SIMD8<Int32>(repeating: hi), zero = SIMD8<Float>()
        var i = 0
        while i &+ 8 <= count {
            let v = signed
                ? SIMD8<Int32>(truncatingIfNeeded: q.loadUnaligned(fromByteOffset: i, as: SIMD8<Int8>.self))
                : SIMD8<Int32>(truncatingIfNeeded: q.loadUnaligned(fromByteOffset: i, as: SIMD8<UInt8>.self))
            let pointer = UnsafeMutableRawPointer(g + i)
            let x = pointer.loadUnaligned(as: SIMD8<Float>.self)
            var closed = (v .<= low) .| (v .>= high)
            if guided { closed = closed .| (x .< zero) }
            pointer.storeBytes(of: x.replacing(with: zero, where: closed), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            let v = signed ? Int32(q.load(fromByteOffset: i, as: Int8.self)) : Int32(q.load(fromByteOffset: i, as: UInt8.self))
            if v <= lo || v >= hi || (guided && g[i] < 0) { g[i] = 0 }
            i &+= 1
        }
    }
}

/// Input gradients of the smooth activations in float32 (accumulating into `inputGradient`).
enum ActivationGradient {
    /// HARD_SWISH `x * relu6(x + 3) / 6`: derivative 0 below -3, 1 above 3, `(2x + 3) / 6` between.
    static func hardSwishInput(outputGradient dy: UnsafeBufferPointer<Float>, input x: UnsafeBufferPointer<Float>,
                               into dx: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<dy.count {
            let v = x[i]
            let slope: Float = v <= -3 ? 0 : (v >= 3 ? 1 : (2 * v + 3) / 6)
            dx[i] += dy[i] * slope
        }
    }

    /// LOGISTIC: `dy * y * (1 - y)` from the output `y`.
    static func logisticInput(outputGradient dy: UnsafeBufferPointer<Float>, output y: UnsafeBufferPointer<Float>,
                              into dx: UnsafeMutableBufferPointer<Float>) {
        for i in 0..<dy.count { dx[i] += dy[i] * y[i] * (1 - y[i]) }
    }

    /// SOFTMAX over the last axis of `rows × depth` with `beta`: `beta * y * (dy - sum(dy * y))`.
    static func softmaxInput(outputGradient dy: UnsafeBufferPointer<Float>, output y: UnsafeBufferPointer<Float>,
                             rows: Int, depth: Int, beta: Float, into dx: UnsafeMutableBufferPointer<Float>) {
        for row in 0..<rows {
            let base = row * depth
            var dot: Float = 0
            for i in 0..<depth { dot += dy[base + i] * y[base + i] }
            for i in 0..<depth { dx[base + i] += beta * y[base + i] * (dy[base + i] - dot) }
        }
    }
}
