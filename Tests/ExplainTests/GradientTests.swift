import Testing
import Inference
@testable import Explain

/// Every backward op against central finite differences of an independent float64 forward pass,
/// on small random graphs: d(sum_j r_j * out_j)/d input for a random upstream vector r.
@Suite struct GradientTests {
    /// Runs the backward pass of `model` from its input to its output with upstream gradient `r`
    /// and compares with finite differences; returns the worst relative error.
    func worstError(_ model: Model, seed: UInt64 = 7, step: Double = 1e-4) throws -> Double {
        var generator = SeededGenerator(seed: seed)
        let input = model.inputs[0], output = model.outputs[0]
        let reference = FloatReferenceForward(model: model)
        let x = (0..<model.tensors[input].elementCount).map { _ in Double(generator.uniform(-2, 2)) }
        let r = (0..<model.tensors[output].elementCount).map { _ in Double(generator.uniform(-1, 1)) }
        let values = reference.run(x)

        let pass = try BackwardPass(model: model, order: Array(model.operators.indices), sources: [input], score: output)
        let gradients = FloatBuffers(tensorCount: model.tensors.count)
        let activations = FloatBuffers(tensorCount: model.tensors.count)
        for (t, v) in values {
            let buffer = activations.buffer(t, count: v.count)
            for i in v.indices { buffer[i] = Float(v[i]) }
        }
        pass.run(gradients: gradients, activation: { UnsafeBufferPointer(activations.buffer($0, count: values[$0]?.count ?? 0)) },
                 guided: false, seed: { seed in for i in seed.indices { seed[i] = Float(r[i]) } })
        let analytic = gradients.buffer(input, count: x.count)

        func loss(_ x: [Double]) -> Double {
            let y = reference.run(x)[output] ?? []
            return zip(y, r).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let scale = max(analytic.map { abs(Double($0)) }.max() ?? 0, 1e-3)
        var worst = 0.0
        for i in x.indices {
            var plus = x, minus = x
            plus[i] += step
            minus[i] -= step
            let numeric = (loss(plus) - loss(minus)) / (2 * step)
            worst = max(worst, abs(numeric - Double(analytic[i])) / scale)
        }
        return worst
    }

    @Test("CONV_2D gradient (SAME, stride 2, dilation 1, fused RELU6) matches finite differences")
    func convolution() throws {
        var g = GraphBuilder(seed: 1)
        let x = g.activation([1, 7, 6, 3])
        let y = g.op(.conv2D, [x, g.constant([4, 3, 3, 3]), g.constant([4])], [1, 4, 3, 4],
                     .convolution(ConvolutionOptions(padding: .same, strideWidth: 2, strideHeight: 2, activation: .relu6)))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("CONV_2D gradient (VALID, dilation 2, stride 1) matches finite differences")
    func dilatedConvolution() throws {
        var g = GraphBuilder(seed: 2)
        let x = g.activation([1, 7, 7, 2])
        let y = g.op(.conv2D, [x, g.constant([3, 3, 3, 2]), -1], [1, 3, 3, 3],
                     .convolution(ConvolutionOptions(padding: .valid, strideWidth: 1, strideHeight: 1, dilationWidth: 2,
                                                     dilationHeight: 2, activation: .none)))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("CONV_2D gradient with 9 input channels (the general K×K path: SAME, stride 1, fused RELU) matches finite differences")
    func wideConvolution() throws {
        // Fewer than 8 input channels take the transposed narrow-input path and 1×1 the pointwise
        // GEMM; this shape exercises the remaining general loop.
        var g = GraphBuilder(seed: 4)
        let x = g.activation([1, 5, 6, 9])
        let y = g.op(.conv2D, [x, g.constant([5, 3, 3, 9]), g.constant([5])], [1, 5, 6, 5],
                     .convolution(ConvolutionOptions(padding: .same, strideWidth: 1, strideHeight: 1, activation: .relu)))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("DEPTHWISE_CONV_2D gradient (multiplier 2, dilation 2, SAME, stride 2) matches finite differences")
    func depthwise() throws {
        var g = GraphBuilder(seed: 3)
        let x = g.activation([1, 8, 7, 3])
        let y = g.op(.depthwiseConv2D, [x, g.constant([1, 3, 3, 6]), g.constant([6])], [1, 4, 4, 6],
                     .convolution(ConvolutionOptions(padding: .same, strideWidth: 2, strideHeight: 2, dilationWidth: 2,
                                                     dilationHeight: 2, depthMultiplier: 2, activation: .none)))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("DEPTHWISE_CONV_2D gradient (VALID, stride 1, RELU_N1_TO_1) matches finite differences")
    func depthwiseValid() throws {
        var g = GraphBuilder(seed: 4)
        let x = g.activation([1, 5, 5, 2])
        let y = g.op(.depthwiseConv2D, [x, g.constant([1, 2, 3, 2]), g.constant([2])], [1, 4, 3, 2],
                     .convolution(ConvolutionOptions(padding: .valid, strideWidth: 1, strideHeight: 1, activation: .reluN1To1)))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("FULLY_CONNECTED gradient on a 4-D input matches finite differences")
    func fullyConnected() throws {
        var g = GraphBuilder(seed: 5)
        let x = g.activation([1, 2, 2, 3])
        let y = g.op(.fullyConnected, [x, g.constant([5, 12]), g.constant([5])], [1, 5],
                     .fullyConnected(FullyConnectedOptions(activation: .relu)))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("ADD, SUB and MUL gradients with broadcasting match finite differences", arguments: [BuiltinOperator.add, .sub, .mul])
    func elementwise(code: BuiltinOperator) throws {
        var g = GraphBuilder(seed: 6)
        let x = g.activation([1, 3, 4, 2])
        // x op (x op c): both operands depend on the input; the second is a broadcast [1, 1, 4, 1] slice.
        let c = g.constant([1, 1, 4, 1])
        let a = g.op(code, [x, c], [1, 3, 4, 2], .elementwise(activation: .none))
        let m = g.op(.mean, [x, g.integers([1, 3], shape: [2])], [1, 1, 4, 1], .reducer(keepDimensions: true))
        let b = g.op(code, [a, m], [1, 3, 4, 2], .elementwise(activation: .none))
        let y = g.op(code, [m, b], [1, 3, 4, 2], .elementwise(activation: .relu6))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("MEAN, AVERAGE_POOL_2D and MAX_POOL_2D gradients match finite differences")
    func pooling() throws {
        var g = GraphBuilder(seed: 8)
        let x = g.activation([1, 5, 6, 2])
        let a = g.op(.averagePool2D, [x], [1, 3, 3, 2],
                     .pool(PoolOptions(padding: .same, strideWidth: 2, strideHeight: 2, filterWidth: 3, filterHeight: 3, activation: .none)))
        let m = g.op(.maxPool2D, [x], [1, 2, 3, 2],
                     .pool(PoolOptions(padding: .valid, strideWidth: 2, strideHeight: 2, filterWidth: 2, filterHeight: 3, activation: .none)))
        let ma = g.op(.mean, [a, g.integers([1, 2], shape: [2])], [1, 2], .reducer(keepDimensions: false))
        let mm = g.op(.mean, [m, g.integers([-3, -2], shape: [2])], [1, 2], .reducer(keepDimensions: false))
        let y = g.op(.concatenation, [ma, mm], [1, 4], .concatenation(axis: 1, activation: .none))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("PAD, RESHAPE, SQUEEZE, CONCATENATION, QUANTIZE and DEQUANTIZE gradients match finite differences")
    func layout() throws {
        var g = GraphBuilder(seed: 9)
        let x = g.activation([1, 3, 2, 2])
        let p = g.op(.pad, [x, g.integers([0, 0, 1, 0, 0, 2, 0, 1], shape: [4, 2])], [1, 4, 4, 3])
        let q = g.op(.quantize, [p], [1, 4, 4, 3])
        let d = g.op(.dequantize, [q], [1, 4, 4, 3])
        // Concatenate along height ([1,4,4,3] + [1,4,4,3] → [1,8,4,3]) and along channels.
        let h = g.op(.concatenation, [d, p], [1, 8, 4, 3], .concatenation(axis: 1, activation: .none))
        let k = g.op(.concatenation, [h, h, h], [1, 8, 4, 9], .concatenation(axis: -1, activation: .none))
        let r = g.op(.reshape, [k, g.integers([1, 1, 288], shape: [3])], [1, 1, 288], .reshape(newShape: nil))
        let y = g.op(.squeeze, [r], [1, 288], .squeeze(dimensions: [1]))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("RELU, RELU6, RELU_N1_TO_1, HARD_SWISH, LOGISTIC and SOFTMAX gradients match finite differences")
    func activations() throws {
        var g = GraphBuilder(seed: 10)
        let x = g.activation([1, 2, 3, 4])
        let a = g.op(.relu, [x], [1, 2, 3, 4])
        let b = g.op(.relu6, [g.op(.mul, [x, g.constant([1], values: [4])], [1, 2, 3, 4], .elementwise(activation: .none))], [1, 2, 3, 4])
        let c = g.op(.reluN1To1, [x], [1, 2, 3, 4])
        let d = g.op(.hardSwish, [g.op(.mul, [x, g.constant([1], values: [2.5])], [1, 2, 3, 4], .elementwise(activation: .none))], [1, 2, 3, 4])
        let e = g.op(.logistic, [x], [1, 2, 3, 4])
        let s1 = g.op(.add, [a, b], [1, 2, 3, 4], .elementwise(activation: .none))
        let s2 = g.op(.add, [c, d], [1, 2, 3, 4], .elementwise(activation: .none))
        let s3 = g.op(.add, [s1, s2], [1, 2, 3, 4], .elementwise(activation: .none))
        let s4 = g.op(.add, [s3, e], [1, 2, 3, 4], .elementwise(activation: .none))
        let y = g.op(.softmax, [s4], [1, 2, 3, 4], .softmax(beta: 0.7))
        #expect(try worstError(g.model(input: x, output: y)) < 1e-4)
    }

    @Test("a small random network (conv → depthwise → hard-swish → residual add → pools → FC → softmax) matches finite differences",
          arguments: [UInt64(11), 12, 13])
    func network(seed: UInt64) throws {
        var g = GraphBuilder(seed: seed)
        let x = g.activation([1, 9, 8, 3])
        let c = g.op(.conv2D, [x, g.constant([4, 3, 3, 3]), g.constant([4])], [1, 5, 4, 4],
                     .convolution(ConvolutionOptions(padding: .same, strideWidth: 2, strideHeight: 2, activation: .relu6)))
        let d = g.op(.depthwiseConv2D, [c, g.constant([1, 3, 3, 8]), g.constant([8])], [1, 5, 4, 8],
                     .convolution(ConvolutionOptions(padding: .same, strideWidth: 1, strideHeight: 1, depthMultiplier: 2, activation: .none)))
        let h = g.op(.hardSwish, [d], [1, 5, 4, 8])
        let p = g.op(.conv2D, [h, g.constant([8, 1, 1, 8]), g.constant([8])], [1, 5, 4, 8],
                     .convolution(ConvolutionOptions(padding: .valid, strideWidth: 1, strideHeight: 1, activation: .none)))
        let s = g.op(.add, [p, d], [1, 5, 4, 8], .elementwise(activation: .relu))
        let m = g.op(.maxPool2D, [s], [1, 3, 2, 8],
                     .pool(PoolOptions(padding: .same, strideWidth: 2, strideHeight: 2, filterWidth: 2, filterHeight: 2, activation: .none)))
        let gap = g.op(.mean, [m, g.integers([1, 2], shape: [2])], [1, 8], .reducer(keepDimensions: false))
        let f = g.op(.fullyConnected, [gap, g.constant([5, 8]), g.constant([5])], [1, 5],
                     .fullyConnected(FullyConnectedOptions(activation: .none)))
        let y = g.op(.softmax, [f], [1, 5], .softmax(beta: 1))
        #expect(try worstError(g.model(input: x, output: y), seed: seed) < 1e-4)
    }

    @Test("the fused-activation gate uses TFLite's quantized bounds: outputs on a bound pass no gradient")
    func quantizedGate() throws {
        // RELU6 on an output with scale 6/255, zero point -128: bounds q = -128 (0.0) and q = 127 (6.0).
        let gate = try #require(ActivationGate(.relu6, scale: 6 / 255, zeroPoint: -128))
        #expect(gate.lower == 0)
        #expect(abs((gate.upper ?? 0) - 6) < 1e-5)
        let outputs: [Float] = [0, 6 / 255, 3, (6 / 255) * 254, (6 / 255) * 255]
        var gradient: [Float] = [1, 1, -1, 1, 1]
        gradient.withUnsafeMutableBufferPointer { g in
            outputs.withUnsafeBufferPointer { gate.apply(to: g, output: $0, guided: false) }
        }
        #expect(gradient == [0, 1, -1, 1, 0])
        var guided: [Float] = [1, 1, -1, 1, 1]
        guided.withUnsafeMutableBufferPointer { g in
            outputs.withUnsafeBufferPointer { gate.apply(to: g, output: $0, guided: true) }
        }
        #expect(guided == [0, 1, 0, 1, 1])  // guided: the RELU6 plateau passes (xplique's guided ReLU)
        // RELU with zero point 5 and scale 0.5: the lower bound is q = 5, real 0; no upper bound.
        let relu = try #require(ActivationGate(.relu, scale: 0.5, zeroPoint: 5))
        #expect(relu.lower == 0 && relu.upper == nil)
        #expect(ActivationGate(.none, scale: 0.5, zeroPoint: 5) == nil)
    }
}

@Suite struct PointwiseGradientTests {
    @Test("the 1x1-convolution input gradient split over a worker pool equals dY · W")
    func pooledEqualsSerial() {
        var generator = SeededGenerator(seed: 21)
        let pixels = 9 * 11, inC = 70, outC = 45
        let dy = (0..<(pixels * outC)).map { _ in generator.uniform(-1, 1) }
        let w = (0..<(outC * inC)).map { _ in generator.uniform(-1, 1) }
        var pooled = [Float](repeating: 0, count: pixels * inC), general = pooled
        let pool = WorkerPool(threadCount: 2)
        dy.withUnsafeBufferPointer { dy in
            w.withUnsafeBufferPointer { w in
                pooled.withUnsafeMutableBufferPointer {
                    ConvolutionGradient.pointwiseInput(outputGradient: dy, weights: w, pixels: pixels, inputChannels: inC,
                                                       outputChannels: outC, into: $0, pool: pool)
                }
            }
        }
        // dX = dY · W, written out.
        for p in 0..<pixels {
            for ic in 0..<inC {
                var sum: Float = 0
                for oc in 0..<outC { sum += dy[p * outC + oc] * w[oc * inC + ic] }
                general[p * inC + ic] = sum
            }
        }
        let worst = zip(pooled, general).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-4)
        // Overwriting (the backward pass's mode for a tensor with one reader) ignores what was there.
        var overwritten = [Float](repeating: .nan, count: pixels * inC)
        let gemm = w.withUnsafeBufferPointer { PointwiseInputGradient(weights: $0, inputChannels: inC, outputChannels: outC) }
        dy.withUnsafeBufferPointer { dy in
            overwritten.withUnsafeMutableBufferPointer { gemm.accumulate(outputGradient: dy, pixels: pixels, into: $0, pool: pool, overwrite: true) }
        }
        let worstOverwritten = zip(overwritten, general).map { abs($0 - $1) }.max() ?? 1
        #expect(worstOverwritten < 1e-4)  // NaN anywhere fails this
    }
}
