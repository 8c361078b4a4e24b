// Kernel conformance vectors for scripts/test-arm64: a fixed list of seeded random cases,
// each run through a fast (SIMD) kernel and its scalar reference on identical inputs.
// Compiled twice from the same source, as Embedded Swift for aarch64 (run under qemu) and
// as ordinary Swift for the host; Tests/ARM/harness.c prints one line per case from both,
// and the script requires the two listings to be identical.
//
// No Foundation, no Strings: names are written as ASCII into the caller's buffer, and the
// randomness is a SplitMix64 seeded per case, so both builds see the same inputs.

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, deterministic, same bits on every platform.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `range` (modulo bias is irrelevant here: only determinism matters).
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    mutating func int8() -> Int8 { Int8(truncatingIfNeeded: next()) }
    mutating func int32() -> Int32 { Int32(truncatingIfNeeded: next()) }

    /// One of `values`, chosen uniformly.
    mutating func pick<T>(_ values: [T]) -> T { values[int(0...values.count - 1)] }

    /// `count` int8 values; `extremes` mixes in runs of -128 and 127 (a quarter of the values).
    mutating func int8s(_ count: Int, extremes: Bool) -> [Int8] {
        var values = [Int8](repeating: 0, count: count)
        for i in 0..<count {
            values[i] = extremes && next() % 4 == 0 ? (next() % 2 == 0 ? -128 : 127) : int8()
        }
        return values
    }
}

/// FNV-1a, 64 bit, over bytes.
func fnv1a(_ bytes: [Int8]) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(UInt8(bitPattern: byte))) &* 0x0000_0100_0000_01B3 }
    return hash
}

/// The shapes the vectors cover; each case is one kind with its own seed.
enum ConformanceKind: CaseIterable {
    case conv1x1, conv1x1Stride2, conv3x3Stride2Same, conv3x3Stride1Same, conv5x5Dilated, depthwise3x3Stride1,
         depthwise3x3Stride2, depthwise5x5, depthwiseAligned, fullyConnected, requantizeExtremes, convExtremes,
         depthwise5x5Stride2, depthwiseDeadChannels, convStem

    var name: StaticString {
        switch self {
        case .conv1x1: "conv1x1"
        case .conv1x1Stride2: "conv1x1_s2"
        case .conv3x3Stride2Same: "conv3x3_s2_same"
        case .conv3x3Stride1Same: "conv3x3_s1_same"
        case .conv5x5Dilated: "conv5x5_d2_valid"
        case .depthwise3x3Stride1: "dw3x3_s1_same"
        case .depthwise3x3Stride2: "dw3x3_s2_same"
        case .depthwise5x5: "dw5x5_s1_same"
        case .depthwiseAligned: "dw3x3_s1_c16k"
        case .depthwise5x5Stride2: "dw5x5_s2_same"
        case .depthwiseDeadChannels: "dw3x3_dead_channels"
        case .fullyConnected: "fully_connected"
        case .requantizeExtremes: "requant_extremes"
        case .convExtremes: "conv1x1_extremes"
        case .convStem: "conv3x3_s2_stem"
        }
    }
}

/// Cases per kind.
let casesPerKind = 6

/// A conformance case's result: fast output checksum and whether it equals the reference.
struct ConformanceResult {
    var checksum: UInt64
    var matches: Bool
    /// False when the fast kernel declined the configuration (its init returned nil).
    var covered: Bool
    /// How many different byte values the output holds: shows a case is not trivially
    /// saturated (a constant output would pass whatever the arithmetic).
    var distinctValues: Int

    init(output: [Int8], matches: Bool, covered: Bool) {
        checksum = fnv1a(output)
        self.matches = matches
        self.covered = covered
        var seen = [Bool](repeating: false, count: 256)
        for byte in output { seen[Int(UInt8(bitPattern: byte))] = true }
        distinctValues = seen.reduce(0) { $0 + ($1 ? 1 : 0) }
    }
}

/// Output size and leading padding of TFLite SAME padding along one axis.
func samePadding(input: Int, filter: Int, stride: Int, dilation: Int) -> (output: Int, before: Int) {
    let output = (input + stride - 1) / stride
    let effectiveFilter = (filter - 1) * dilation + 1
    let total = max((output - 1) * stride + effectiveFilter - input, 0)
    return (output, total / 2)
}

/// A realistic per-channel multiplier for sums of `depth` products (significand in
/// [2^30, 2^31), shift scaled so that typical outputs land inside int8 rather than
/// saturating) or, with `extremes`, one from the corners the vector code must reproduce.
func multiplier(_ random: inout SplitMix64, depth: Int, extremes: Bool) -> QuantizedMultiplier {
    if !extremes {
        return QuantizedMultiplier(multiplier: Int32(1 << 30) + Int32(random.next() % (1 << 30)),
                                   shift: typicalShift(depth: depth) + random.int(-1...1))
    }
    let significand: Int32 = random.pick([Int32.max, Int32.min, 1 << 30, 0, 1, -1, -(1 << 30), random.int32()])
    return QuantizedMultiplier(multiplier: significand, shift: random.int(-31...31))
}

/// A sum of `depth` products of random int8 values has a spread of about 2^12.5 * sqrt(depth);
/// scaling it by 2^shift with this shift keeps it around ±64.
func typicalShift(depth: Int) -> Int {
    let log2Depth = Int.bitWidth - max(depth, 1).leadingZeroBitCount - 1
    return -(7 + log2Depth / 2)
}

/// A bias worth up to about ±32 output steps after ``typicalShift(depth:)``.
func typicalBias(_ random: inout SplitMix64, depth: Int) -> Int32 {
    let bound = 1 << (5 - typicalShift(depth: depth))
    return Int32(random.int(-bound...bound))
}

/// Mostly the full range, else a ReLU-like or ReLU6-like clamp.
func activation(_ random: inout SplitMix64) -> ActivationRange {
    switch random.int(0...3) {
    case 0, 1: ActivationRange(minimum: -128, maximum: 127)
    case 2: ActivationRange(minimum: Int32(random.int(-128...0)), maximum: 127)
    default: ActivationRange(minimum: Int32(random.int(-128 ... -60)), maximum: Int32(random.int(0...127)))
    }
}

func convolutionCase(_ kind: ConformanceKind, _ random: inout SplitMix64) -> ConformanceResult {
    let extremes = kind == .convExtremes
    var filterSize = 1, stride = 1, dilation = 1, same = true
    switch kind {
    case .conv1x1Stride2: stride = 2; same = false
    case .conv3x3Stride2Same: filterSize = 3; stride = 2
    case .conv3x3Stride1Same: filterSize = 3
    case .conv5x5Dilated: filterSize = 5; dilation = 2; same = false
    case .convStem: filterSize = 3; stride = 2
    default: break
    }
    let minimumInput = (filterSize - 1) * dilation + 1
    let inputHeight = random.int(minimumInput...minimumInput + 9), inputWidth = random.int(minimumInput...minimumInput + 9)
    // A stem's 1-4 input channels take DirectStemConv2D instead of the GEMM.
    let inputDepth = kind == .convStem ? random.int(1...4) : random.int(1...40)
    let outputDepth = random.int(1...40), batches = random.int(1...2)
    let (outputHeight, outputWidth, paddingTop, paddingLeft): (Int, Int, Int, Int)
    if same {
        let vertical = samePadding(input: inputHeight, filter: filterSize, stride: stride, dilation: dilation)
        let horizontal = samePadding(input: inputWidth, filter: filterSize, stride: stride, dilation: dilation)
        (outputHeight, outputWidth, paddingTop, paddingLeft) = (vertical.output, horizontal.output, vertical.before, horizontal.before)
    } else {
        let effective = (filterSize - 1) * dilation + 1
        (outputHeight, outputWidth) = ((inputHeight - effective) / stride + 1, (inputWidth - effective) / stride + 1)
        (paddingTop, paddingLeft) = (0, 0)
    }
    var multipliers = [QuantizedMultiplier]()
    for _ in 0..<outputDepth {
        multipliers.append(multiplier(&random, depth: filterSize * filterSize * inputDepth, extremes: extremes))
    }
    let inputOffset: Int32 = extremes ? random.pick([128, -127, 0, 1]) : Int32(random.int(-127...128))
    let p = Conv2DParameters(
        batches: batches, inputHeight: inputHeight, inputWidth: inputWidth, inputDepth: inputDepth,
        filterHeight: filterSize, filterWidth: filterSize, filterInputDepth: inputDepth,
        outputHeight: outputHeight, outputWidth: outputWidth, outputDepth: outputDepth,
        strideHeight: stride, strideWidth: stride, dilationHeight: dilation, dilationWidth: dilation,
        paddingTop: paddingTop, paddingLeft: paddingLeft, inputOffset: inputOffset,
        outputOffset: extremes ? random.pick([-128, 127, 0]) : Int32(random.int(-128...127)),
        outputMultipliers: multipliers, activation: activation(&random))
    let input = random.int8s(batches * inputHeight * inputWidth * inputDepth, extremes: true)
    let filter = random.int8s(outputDepth * filterSize * filterSize * inputDepth, extremes: true)
    var bias: [Int32]? = nil
    if random.next() % 4 != 0 {
        var values = [Int32]()
        for _ in 0..<outputDepth {
            values.append(extremes ? random.pick([Int32.min, Int32.max, 0, -1, random.int32()])
                : typicalBias(&random, depth: filterSize * filterSize * inputDepth))
        }
        bias = values
    }
    let outputCount = batches * outputHeight * outputWidth * outputDepth
    var reference = [Int8](repeating: 0, count: outputCount)
    input.withUnsafeBufferPointer { input in
        filter.withUnsafeBufferPointer { filter in
            bias.withUnsafeBufferPointerIfPresent { bias in
                reference.withUnsafeMutableBufferPointer { output in
                    ReferenceKernels.conv2D(p, input: input, filter: filter, bias: bias, output: output)
                }
            }
        }
    }
    guard let kernel = FastConv2D(p, filter: filter, bias: bias) else {
        return ConformanceResult(output: reference, matches: true, covered: false)
    }
    var fast = [Int8](repeating: 0, count: outputCount)
    input.withUnsafeBufferPointer { input in
        fast.withUnsafeMutableBufferPointer { output in
            if let inputStart = input.baseAddress, let outputStart = output.baseAddress {
                kernel.run(input: inputStart, output: outputStart, pool: nil)
            }
        }
    }
    return ConformanceResult(output: fast, matches: fast == reference, covered: true)
}

func depthwiseCase(_ kind: ConformanceKind, _ random: inout SplitMix64) -> ConformanceResult {
    let filterSize = kind == .depthwise5x5 || kind == .depthwise5x5Stride2 ? 5 : 3
    let stride = kind == .depthwise3x3Stride2 || kind == .depthwise5x5Stride2 ? 2 : 1
    let inputHeight = random.int(1...12), inputWidth = random.int(1...12), batches = random.int(1...2)
    let channels = kind == .depthwiseAligned ? 16 * random.int(1...3) : random.int(1...40)
    let vertical = samePadding(input: inputHeight, filter: filterSize, stride: stride, dilation: 1)
    let horizontal = samePadding(input: inputWidth, filter: filterSize, stride: stride, dilation: 1)
    var multipliers = [QuantizedMultiplier]()
    for _ in 0..<channels {
        multipliers.append(multiplier(&random, depth: filterSize * filterSize, extremes: random.next() % 8 == 0))
    }
    // Dead channels as EfficientNet-Lite0 has them: bias ±2^30 with a right shift of 25–27,
    // whose outputs are the same for every input (constant lanes of the x86 requantization).
    var deadChannels = [Bool](repeating: false, count: channels)
    if kind == .depthwiseDeadChannels {
        for channel in 0..<channels where random.next() % 3 == 0 {
            deadChannels[channel] = true
            multipliers[channel] = QuantizedMultiplier(multiplier: Int32(1 << 30) + Int32(random.next() % (1 << 30)), shift: -random.int(25...27))
        }
    }
    let p = DepthwiseConv2DParameters(
        batches: batches, inputHeight: inputHeight, inputWidth: inputWidth, inputDepth: channels, depthMultiplier: 1,
        filterHeight: filterSize, filterWidth: filterSize, outputHeight: vertical.output, outputWidth: horizontal.output,
        strideHeight: stride, strideWidth: stride, dilationHeight: 1, dilationWidth: 1,
        paddingTop: vertical.before, paddingLeft: horizontal.before, inputOffset: Int32(random.int(-127...128)),
        outputOffset: Int32(random.int(-128...127)), outputMultipliers: multipliers, activation: activation(&random))
    let input = random.int8s(batches * inputHeight * inputWidth * channels, extremes: true)
    let filter = random.int8s(filterSize * filterSize * channels, extremes: true)
    var bias: [Int32]? = nil
    if random.next() % 4 != 0 {
        var values = [Int32]()
        for channel in 0..<channels {
            values.append(deadChannels[channel] ? random.pick([Int32(1 << 30), -(1 << 30)]) : typicalBias(&random, depth: filterSize * filterSize))
        }
        bias = values
    }
    let outputCount = batches * vertical.output * horizontal.output * channels
    var reference = [Int8](repeating: 0, count: outputCount)
    input.withUnsafeBufferPointer { input in
        filter.withUnsafeBufferPointer { filter in
            bias.withUnsafeBufferPointerIfPresent { bias in
                reference.withUnsafeMutableBufferPointer { output in
                    ReferenceKernels.depthwiseConv2D(p, input: input, filter: filter, bias: bias, output: output)
                }
            }
        }
    }
    guard let kernel = FastDepthwiseConv2D(p, filter: filter, bias: bias) else {
        return ConformanceResult(output: reference, matches: true, covered: false)
    }
    var fast = [Int8](repeating: 0, count: outputCount)
    input.withUnsafeBufferPointer { input in
        fast.withUnsafeMutableBufferPointer { output in
            if let inputStart = input.baseAddress, let outputStart = output.baseAddress {
                kernel.run(input: inputStart, output: outputStart, pool: nil)
            }
        }
    }
    return ConformanceResult(output: fast, matches: fast == reference, covered: true)
}

func fullyConnectedCase(_ random: inout SplitMix64) -> ConformanceResult {
    let batches = random.int(1...6), depth = random.int(1...300), outputs = random.int(1...40)
    var scales = [Double]()
    for _ in 0..<outputs {
        // Realistic scales (outputs around ±64), plus the odd zero/huge one.
        let significand = 0.5 + Double(random.next() % (1 << 20)) / Double(1 << 21)
        let exponent = typicalShift(depth: depth) + random.int(-1...1)
        var scale = significand
        for _ in 0..<(-exponent) { scale /= 2 }
        scales.append(random.next() % 16 == 0 ? random.pick([0.0, 1.0, 1e6]) : scale)
    }
    let p = FullyConnectedParameters(
        batches: batches, accumulationDepth: depth, outputDepth: outputs, inputOffset: Int32(random.int(-127...128)),
        filterOffset: 0, outputOffset: Int32(random.int(-128...127)), effectiveScales: scales, activation: activation(&random))
    let input = random.int8s(batches * depth, extremes: true)
    let filter = random.int8s(outputs * depth, extremes: true)
    var bias: [Int32]? = nil
    if random.next() % 4 != 0 {
        var values = [Int32]()
        for _ in 0..<outputs { values.append(typicalBias(&random, depth: depth)) }
        bias = values
    }
    var reference = [Int8](repeating: 0, count: batches * outputs)
    input.withUnsafeBufferPointer { input in
        filter.withUnsafeBufferPointer { filter in
            bias.withUnsafeBufferPointerIfPresent { bias in
                reference.withUnsafeMutableBufferPointer { output in
                    ReferenceKernels.fullyConnected(p, input: input, filter: filter, bias: bias, output: output)
                }
            }
        }
    }
    guard let kernel = FastFullyConnected(p, filter: filter, bias: bias) else {
        return ConformanceResult(output: reference, matches: true, covered: false)
    }
    var fast = [Int8](repeating: 0, count: batches * outputs)
    input.withUnsafeBufferPointer { input in
        fast.withUnsafeMutableBufferPointer { output in
            if let inputStart = input.baseAddress, let outputStart = output.baseAddress {
                kernel.run(input: inputStart, output: outputStart, pool: nil)
            }
        }
    }
    return ConformanceResult(output: fast, matches: fast == reference, covered: true)
}

/// ``ChannelRequantization`` on its own against `multiplyByQuantizedMultiplier` + offset +
/// clamp: 64 channels of extreme multipliers and shifts (-31...31), each fed 16 accumulators
/// from the corners (Int32.min/max, ±1, 0, powers of two) and random values.
func requantizationCase(_ random: inout SplitMix64) -> ConformanceResult {
    let channels = 64
    var multipliers = [QuantizedMultiplier]()
    for _ in 0..<channels { multipliers.append(multiplier(&random, depth: 1, extremes: true)) }
    let outputOffset: Int32 = random.pick([-128, 0, 127, Int32(random.int(-128...127))])
    let range = activation(&random)
    let requantization = ChannelRequantization(multipliers, outputOffset: outputOffset, activation: range)
    let corners: [Int32] = [.min, .max, 0, 1, -1, .min + 1, .max - 1, 1 << 30, -(1 << 30), 1 << 15, -(1 << 15)]
    var fast = [Int8](), reference = [Int8]()
    for round in 0..<16 {
        for block in 0..<(channels / 16) {
            var acc = SIMD16<Int32>()
            for lane in 0..<16 { acc[lane] = round < 4 || random.next() % 2 == 0 ? random.pick(corners) : random.int32() }
            let values = requantization.requantize(acc, channel: block * 16)
            for lane in 0..<16 {
                fast.append(values[lane])
                let q = multipliers[block * 16 + lane]
                var expected = multiplyByQuantizedMultiplier(acc[lane], q.multiplier, q.shift) &+ outputOffset
                expected = min(max(expected, range.minimum), range.maximum)
                reference.append(Int8(truncatingIfNeeded: expected))
            }
        }
    }
    return ConformanceResult(output: fast, matches: fast == reference, covered: true)
}

/// Runs case `index`, writes its NUL-terminated ASCII name into `name` (capacity bytes),
/// stores the checksum of the fast kernel's output bytes and their number of distinct
/// values, and returns 1 when the fast
/// output equals the reference output, 0 when it differs, 2 when the fast kernel declined
/// the configuration (the reference alone ran; checksum of its output), -1 for a bad index.
@_cdecl("conformance_run_case")
public func conformanceRunCase(
    _ index: Int32, _ name: UnsafeMutablePointer<UInt8>, _ capacity: Int32, _ checksum: UnsafeMutablePointer<UInt64>,
    _ distinctValues: UnsafeMutablePointer<Int32>
) -> Int32 {
    let kinds = ConformanceKind.allCases
    guard index >= 0, Int(index) < kinds.count * casesPerKind, capacity >= 32 else { return -1 }
    let kind = kinds[Int(index) / casesPerKind]
    let seed = UInt64(Int(index) % casesPerKind)
    var writer = ASCIIWriter(start: name, capacity: Int(capacity))
    writer.write(kind.name)
    writer.write("#")
    writer.write(Int(seed))
    writer.finish()
    // Each case's stream depends only on its kind and seed, not on the cases run before it.
    var random = SplitMix64(state: 0x4544_4745_4341_4D00 &+ UInt64(Int(index) / casesPerKind) << 16 &+ seed)
    let result: ConformanceResult
    switch kind {
    case .conv1x1, .conv1x1Stride2, .conv3x3Stride2Same, .conv3x3Stride1Same, .conv5x5Dilated, .convExtremes, .convStem:
        result = convolutionCase(kind, &random)
    case .depthwise3x3Stride1, .depthwise3x3Stride2, .depthwise5x5, .depthwiseAligned, .depthwise5x5Stride2, .depthwiseDeadChannels:
        result = depthwiseCase(kind, &random)
    case .fullyConnected:
        result = fullyConnectedCase(&random)
    case .requantizeExtremes:
        result = requantizationCase(&random)
    }
    checksum.pointee = result.checksum
    distinctValues.pointee = Int32(result.distinctValues)
    return result.covered ? (result.matches ? 1 : 0) : 2
}

/// Number of cases `conformance_run_case` accepts.
@_cdecl("conformance_case_count")
public func conformanceCaseCount() -> Int32 {
    Int32(ConformanceKind.allCases.count * casesPerKind)
}

/// Writes ASCII into a C buffer, truncating at capacity - 1 and NUL-terminating.
struct ASCIIWriter {
    let start: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0

    mutating func write(_ text: StaticString) {
        text.withUTF8Buffer { bytes in for byte in bytes { put(byte) } }
    }

    mutating func write(_ value: Int) {
        var digits = [UInt8]()
        var rest = value
        repeat {
            digits.append(UInt8(48 + rest % 10))
            rest /= 10
        } while rest > 0
        for digit in digits.reversed() { put(digit) }
    }

    mutating func put(_ byte: UInt8) {
        if count < capacity - 1 {
            start[count] = byte
            count += 1
        }
    }

    func finish() { start[count] = 0 }
}
