import Testing
import Inference
@testable import Explain

/// Each fast backward kernel against its plain scalar oracle on random odd shapes
/// (the oracles themselves are checked against finite differences in ``GradientTests``).
@Suite struct FastGradientKernelTests {
    /// One random DEPTHWISE_CONV_2D: geometry with TFLite's output sizes and padding.
    struct DepthwiseCase: CustomStringConvertible {
        var geometry: WindowGeometry2D
        var channels: Int
        var multiplier: Int
        var description: String {
            let g = geometry
            return "\(g.batch)x\(g.inputHeight)x\(g.inputWidth)x\(channels)*\(multiplier) k\(g.filterHeight)x\(g.filterWidth) "
                + "s\(g.strideHeight),\(g.strideWidth) d\(g.dilationHeight),\(g.dilationWidth) pad \(g.padTop),\(g.padLeft)"
        }

        static func random(_ generator: inout SeededGenerator) -> DepthwiseCase {
            func pick(_ values: [Int]) -> Int { values[Int(generator.next() % UInt64(values.count))] }
            let same = generator.next() % 2 == 0
            let kH = pick([1, 2, 3, 5]), kW = pick([1, 3, 5])
            let sH = pick([1, 2, 3]), sW = pick([1, 2])
            let dH = pick([1, 1, 2]), dW = pick([1, 2])
            let inH = pick([1, 5, 7, 9, 13]) + (kH - 1) * dH, inW = pick([3, 6, 11, 15]) + (kW - 1) * dW
            func output(_ size: Int, _ k: Int, _ s: Int, _ d: Int) -> Int {
                same ? (size + s - 1) / s : (size - ((k - 1) * d + 1) + s) / s
            }
            let oH = output(inH, kH, sH, dH), oW = output(inW, kW, sW, dW)
            let g = WindowGeometry2D(
                batch: pick([1, 1, 2]), inputHeight: inH, inputWidth: inW, outputHeight: oH, outputWidth: oW,
                filterHeight: kH, filterWidth: kW, strideHeight: sH, strideWidth: sW, dilationHeight: dH, dilationWidth: dW,
                padTop: WindowGeometry2D.leadingPadding(same: same, inputSize: inH, outputSize: oH, filterSize: kH, stride: sH, dilation: dH),
                padLeft: WindowGeometry2D.leadingPadding(same: same, inputSize: inW, outputSize: oW, filterSize: kW, stride: sW, dilation: dW))
            // 1, 7 and 9 exercise the scalar and 8-lane tails; 33, 41 and 75 the 32-lane body plus tails.
            return DepthwiseCase(geometry: g, channels: pick([1, 7, 9, 33, 41, 75]), multiplier: pick([1, 1, 1, 2, 3]))
        }
    }

    @Test("the depthwise input gradient (per-input-pixel gather, SIMD, split over a pool; accumulating or overwriting) equals the scalar scatter on 60 random odd shapes")
    func depthwiseGatherMatchesScalar() {
        var generator = SeededGenerator(seed: 31)
        let pool = WorkerPool(threadCount: 2)
        for _ in 0..<60 {
            let c = DepthwiseCase.random(&generator)
            let g = c.geometry, outC = c.channels * c.multiplier
            let dy = (0..<(g.batch * g.outputHeight * g.outputWidth * outC)).map { _ in generator.uniform(-1, 1) }
            let w = (0..<(g.filterHeight * g.filterWidth * outC)).map { _ in generator.uniform(-1, 1) }
            // Start from non-zero values: every kernel accumulates.
            let start = (0..<(g.batch * g.inputHeight * g.inputWidth * c.channels)).map { _ in generator.uniform(-1, 1) }
            var oracle = start, serial = start, pooled = start
            var oracleFromZero = [Float](repeating: 0, count: start.count)
            var overwritten = [Float](repeating: .nan, count: start.count)  // overwriting must not read it
            dy.withUnsafeBufferPointer { dy in
                w.withUnsafeBufferPointer { w in
                    oracle.withUnsafeMutableBufferPointer {
                        ConvolutionGradient.depthwiseInput(outputGradient: dy, weights: w, geometry: g, inputChannels: c.channels,
                                                           depthMultiplier: c.multiplier, into: $0)
                    }
                    oracleFromZero.withUnsafeMutableBufferPointer {
                        ConvolutionGradient.depthwiseInput(outputGradient: dy, weights: w, geometry: g, inputChannels: c.channels,
                                                           depthMultiplier: c.multiplier, into: $0)
                    }
                }
                let fast = DepthwiseInputGradient(weights: w, geometry: g, inputChannels: c.channels, depthMultiplier: c.multiplier)
                serial.withUnsafeMutableBufferPointer { fast.accumulate(outputGradient: dy, into: $0, pool: nil) }
                pooled.withUnsafeMutableBufferPointer { fast.accumulate(outputGradient: dy, into: $0, pool: pool) }
                overwritten.withUnsafeMutableBufferPointer { fast.accumulate(outputGradient: dy, into: $0, pool: pool, overwrite: true) }
            }
            let scale = max(oracle.map(abs).max() ?? 1, 1)
            let worstSerial = zip(serial, oracle).map { abs($0 - $1) }.max() ?? 0
            let worstPooled = zip(pooled, oracle).map { abs($0 - $1) }.max() ?? 0
            let worstOverwritten = zip(overwritten, oracleFromZero).map { abs($0 - $1) }.max() ?? 0
            #expect(worstSerial <= 1e-5 * scale, "\(c)")
            #expect(worstPooled <= 1e-5 * scale, "\(c)")
            #expect(worstOverwritten <= 1e-5 * scale, "\(c)")  // NaN anywhere fails this
        }
    }

    @Test("a big depthwise layer (large enough to be split over the pool) equals the scalar scatter")
    func depthwiseGatherPooledLargeLayer() {
        var generator = SeededGenerator(seed: 32)
        let g = WindowGeometry2D(batch: 1, inputHeight: 29, inputWidth: 27, outputHeight: 15, outputWidth: 14,
                                 filterHeight: 5, filterWidth: 5, strideHeight: 2, strideWidth: 2, padTop: 2, padLeft: 2)
        let channels = 67
        let dy = (0..<(15 * 14 * channels)).map { _ in generator.uniform(-1, 1) }
        let w = (0..<(25 * channels)).map { _ in generator.uniform(-1, 1) }
        var oracle = [Float](repeating: 0, count: 29 * 27 * channels), pooled = oracle
        dy.withUnsafeBufferPointer { dy in
            w.withUnsafeBufferPointer { w in
                oracle.withUnsafeMutableBufferPointer {
                    ConvolutionGradient.depthwiseInput(outputGradient: dy, weights: w, geometry: g, inputChannels: channels,
                                                       depthMultiplier: 1, into: $0)
                }
            }
            let fast = DepthwiseInputGradient(weights: w, geometry: g, inputChannels: channels, depthMultiplier: 1)
            pooled.withUnsafeMutableBufferPointer { fast.accumulate(outputGradient: dy, into: $0, pool: WorkerPool(threadCount: 3)) }
        }
        let worst = zip(pooled, oracle).map { abs($0 - $1) }.max() ?? 1
        #expect(worst <= 1e-5 * max(oracle.map(abs).max() ?? 1, 1))
    }

    @Test("the narrow-input convolution gradient (stem conv: per-input-pixel gather, split over a pool) equals the general loop on 40 random odd shapes")
    func narrowConvolutionMatchesGeneral() {
        var generator = SeededGenerator(seed: 34)
        let pool = WorkerPool(threadCount: 2)
        for _ in 0..<40 {
            var c = DepthwiseCase.random(&generator)
            if c.geometry.filterHeight == 1 && c.geometry.filterWidth == 1 { c.geometry.filterWidth = 3 }  // not the 1x1 GEMM path
            let g = WindowGeometry2D(batch: c.geometry.batch, inputHeight: c.geometry.inputHeight, inputWidth: c.geometry.inputWidth,
                                     outputHeight: c.geometry.outputHeight, outputWidth: c.geometry.outputWidth,
                                     filterHeight: c.geometry.filterHeight, filterWidth: c.geometry.filterWidth,
                                     strideHeight: c.geometry.strideHeight, strideWidth: c.geometry.strideWidth,
                                     dilationHeight: c.geometry.dilationHeight, dilationWidth: c.geometry.dilationWidth,
                                     padTop: c.geometry.padTop, padLeft: min(c.geometry.padLeft, c.geometry.filterWidth - 1))
            let inC = 1 + Int(generator.next() % 7), outC = [5, 13, 32, 33][Int(generator.next() % 4)]
            let dy = (0..<(g.batch * g.outputHeight * g.outputWidth * outC)).map { _ in generator.uniform(-1, 1) }
            let w = (0..<(outC * g.filterHeight * g.filterWidth * inC)).map { _ in generator.uniform(-1, 1) }
            let start = (0..<(g.batch * g.inputHeight * g.inputWidth * inC)).map { _ in generator.uniform(-1, 1) }
            var oracle = start, serial = start, pooled = start
            dy.withUnsafeBufferPointer { dy in
                w.withUnsafeBufferPointer { w in
                    oracle.withUnsafeMutableBufferPointer {
                        ConvolutionGradient.input(outputGradient: dy, weights: w, geometry: g, inputChannels: inC,
                                                  outputChannels: outC, into: $0)
                    }
                }
                let fast = NarrowConvolutionInputGradient(weights: w, geometry: g, inputChannels: inC, outputChannels: outC)
                serial.withUnsafeMutableBufferPointer { fast.accumulate(outputGradient: dy, into: $0, pool: nil) }
                pooled.withUnsafeMutableBufferPointer { fast.accumulate(outputGradient: dy, into: $0, pool: pool) }
            }
            let scale = max(oracle.map(abs).max() ?? 1, 1)
            #expect((zip(serial, oracle).map { abs($0 - $1) }.max() ?? 0) <= 1e-5 * scale, "\(inC)→\(outC) \(c)")
            #expect((zip(pooled, oracle).map { abs($0 - $1) }.max() ?? 0) <= 1e-5 * scale, "\(inC)→\(outC) \(c)")
        }
    }

    @Test("the quantized activation gate (SIMD, on raw int8/uint8 outputs) makes the same decisions as the float gate",
          arguments: [FusedActivation.relu, .relu6, .reluN1To1])
    func quantizedGateMatchesFloatGate(activation: FusedActivation) throws {
        var generator = SeededGenerator(seed: 33)
        for (signed, zeroPoint, scale) in [(true, Int32(-128), Float(6) / 255), (true, 3, 0.02), (false, 0, 0.05), (false, 128, 0.01)] {
            let gate = try #require(ActivationGate(activation, scale: scale, zeroPoint: zeroPoint,
                                                   quantizedMinimum: signed ? -128 : 0, quantizedMaximum: signed ? 127 : 255))
            #expect(gate.hasQuantizedBounds)
            let count = 203  // 25 vectors of 8 and a tail of 3
            // Raw outputs clamped to the gate's range as the engine would, with many on the bounds.
            let lo = gate.quantizedLower ?? (signed ? -128 : 0), hi = gate.quantizedUpper ?? (signed ? 127 : 255)
            let q: [Int32] = (0..<count).map { i in
                i % 4 == 0 ? lo : (i % 4 == 1 ? hi : lo + Int32(generator.next() % UInt64(hi - lo + 1)))
            }
            let raw: [UInt8] = q.map { UInt8(truncatingIfNeeded: $0) }
            let real = q.map { scale * Float($0 - zeroPoint) }
            let dy = (0..<count).map { _ in generator.uniform(-1, 1) }
            for guided in [false, true] {
                var floatGated = dy, quantGated = dy
                floatGated.withUnsafeMutableBufferPointer { g in real.withUnsafeBufferPointer { gate.apply(to: g, output: $0, guided: guided) } }
                quantGated.withUnsafeMutableBufferPointer { g in
                    raw.withUnsafeBytes { gate.apply(to: g, quantizedOutput: $0, signed: signed, guided: guided) }
                }
                #expect(quantGated == floatGated, "\(activation) signed \(signed) zero point \(zeroPoint) guided \(guided)")
            }
        }
    }

    @Test("the vectorized dequantization equals scale * (q - zeroPoint) for int8 and uint8 on an odd length")
    func dequantizeMatchesScalar() {
        let raw: [UInt8] = (0..<261).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        for (signed, zeroPoint, scale) in [(true, Int32(-5), Float(0.031)), (false, 131, 0.0078)] {
            var fast = [Float](repeating: .nan, count: raw.count)
            raw.withUnsafeBytes { q in
                fast.withUnsafeMutableBufferPointer {
                    VectorLoops.dequantize(q.baseAddress!, signed: signed, count: raw.count, scale: scale, zeroPoint: zeroPoint,
                                           into: $0.baseAddress!)
                }
            }
            let expected = raw.map { scale * Float((signed ? Int32(Int8(bitPattern: $0)) : Int32($0)) - zeroPoint) }
            #expect(fast == expected)
        }
    }
}
