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

    /// Whether guided backprop also drops negative gradients here (it does at every ReLU-type gate).
    var isRectifier: Bool { lower != nil || upper != nil }

    /// The gate of `activation` on an output quantized with `scale`/`zeroPoint` (nil `scale`: a float tensor).
    /// Nil for `.none` (nothing to gate); TANH and SIGN_BIT are rejected earlier by the engine.
    init?(_ activation: FusedActivation, scale: Float?, zeroPoint: Int32, quantizedMinimum: Int32 = -128,
          quantizedMaximum: Int32 = 127) {
        func bound(_ real: Float) -> Float {
            guard let scale, scale > 0 else { return real }
            let q = Int64(zeroPoint) + Int64((real / scale).rounded(.toNearestOrAwayFromZero))
            let clamped = min(max(q, Int64(quantizedMinimum)), Int64(quantizedMaximum))
            return scale * Float(clamped - Int64(zeroPoint))
        }
        switch activation {
        case .relu: lower = bound(0); upper = nil
        case .relu6: lower = bound(0); upper = bound(6)
        case .reluN1To1: lower = bound(-1); upper = bound(1)
        case .none, .tanh, .signBit: return nil
        }
    }

    init(lower: Float?, upper: Float?) {
        self.lower = lower
        self.upper = upper
    }

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
