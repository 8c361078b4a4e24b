import Testing
import Inference

/// Truncated, bit-flipped and hand-crafted hostile model files must end in a `ModelError`
/// or a successful load: never a crash, a hang or a runaway allocation. Run this suite
/// under `--sanitize=address` too.
@Suite struct ModelCorruptionTests {
    /// What a batch of corrupted files led to.
    struct Outcomes: CustomStringConvertible {
        var loaded = 0, malformed = 0, invalid = 0, other = 0

        var total: Int { loaded + malformed + invalid + other }
        var description: String { "\(total) cases: \(loaded) loaded, \(malformed) malformed, \(invalid) invalid, \(other) other" }

        /// Loads `bytes`; a trap here fails the whole test run, which is the point.
        mutating func load(_ bytes: [UInt8]) {
            do {
                _ = try Model(bytes: bytes)
                loaded += 1
            } catch {
                switch error {
                case .malformed: malformed += 1
                case .invalid: invalid += 1
                default: other += 1
                }
            }
        }
    }

    static func models() throws -> [(name: String, bytes: [UInt8])] {
        [("shapes-a", try Fixtures.shapesModel()),
         ("efficientnet int8", try Fixtures.imagenetModel()),
         ("efficientnet float-io", try Fixtures.data("refs/imagenet/efficientnet_lite0_int8_floatio.tflite"))]
    }

    /// Byte positions outside constant data: the flatbuffer's structure, where corruption is interesting.
    static func structurePositions(of bytes: [UInt8]) throws -> [Int] {
        let data = try Model(bytes: bytes).tensors.compactMap(\.constantBytes).sorted { $0.lowerBound < $1.lowerBound }
        var positions: [Int] = []
        var cursor = 0
        for range in data {
            if range.lowerBound > cursor { positions += cursor..<range.lowerBound }
            cursor = max(cursor, range.upperBound)
        }
        return positions + (cursor..<bytes.count)
    }

    @Test("truncated models fail with a ModelError", .timeLimit(.minutes(1)))
    func truncations() throws {
        var random = SplitMix64(seed: 0x7472_756E_6361_7465)
        for (name, bytes) in try Self.models() {
            let small = bytes.count < 1_000_000
            // Every short length (headers, root table, first vtables), then random cuts anywhere.
            let everyLengthUpTo = small ? 700 : 300
            var lengths = Array(0..<min(everyLengthUpTo, bytes.count))
            lengths += (0..<(small ? 300 : 150)).map { _ in Int.random(in: 0..<bytes.count, using: &random) }
            var outcomes = Outcomes()
            for length in lengths { outcomes.load(Array(bytes[0..<length])) }
            print("truncations of \(name) (\(bytes.count) bytes): \(outcomes)")
            // Every truncation cuts off something the model refers to: nothing may load.
            #expect(outcomes.loaded == 0, "\(name): a truncated file loaded")
            #expect(outcomes.other == 0)
        }
    }

    @Test("models with random byte flips load or fail with a ModelError", .timeLimit(.minutes(1)))
    func byteFlips() throws {
        var random = SplitMix64(seed: 0x666C_6970)
        for (name, base) in try Self.models() {
            let structure = try Self.structurePositions(of: base)
            let cases = base.count < 1_000_000 ? 2_700 : 850
            var outcomes = Outcomes()
            // One working copy, corrupted and restored in place, so no case copies the whole file.
            var work = base
            for _ in 0..<cases {
                // Mostly the structure (offsets, lengths, enums); sometimes anywhere, including weights.
                var position = Int.random(in: 0..<100, using: &random) < 85
                    ? structure[Int.random(in: 0..<structure.count, using: &random)]
                    : Int.random(in: 0..<work.count, using: &random)
                let width: Int
                switch Int.random(in: 0..<4, using: &random) {
                case 0:  // one bit
                    width = 1
                    work[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                case 1:  // one byte
                    width = 1
                    work[position] = UInt8.random(in: 0...255, using: &random)
                default:  // an aligned 32-bit word set to a value likely to break offsets and lengths
                    position = min(position & ~3, work.count - 4)
                    width = 4
                    let values: [UInt32] = [0, 1, 0xFFFF_FFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF,
                                            UInt32(work.count), UInt32.random(in: 0...UInt32.max, using: &random)]
                    let value = values[Int.random(in: 0..<values.count, using: &random)]
                    for k in 0..<4 { work[position + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
                }
                outcomes.load(work)
                for k in position..<(position + width) { work[k] = base[k] }
            }
            print("byte flips of \(name) (\(base.count) bytes): \(outcomes)")
            #expect(work == base)
            // Both paths must be exercised: flips in weights load, flips in offsets do not.
            #expect(outcomes.loaded > 0 && outcomes.malformed > 0 && outcomes.invalid > 0, "\(name): \(outcomes)")
            #expect(outcomes.other == 0)
        }
    }

    // MARK: Hand-crafted hostile files

    /// The error loading `bytes` throws; records an issue if it loads.
    static func error(loading bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> ModelError? {
        do {
            _ = try Model(bytes: bytes)
            Issue.record("the hostile file loaded", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    static func expectError(_ bytes: [UInt8], mentions parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = error(loading: bytes, sourceLocation: sourceLocation) else { return }
        let text = error.description
        for part in parts {
            #expect(text.contains(part), "'\(text)' does not mention '\(part)'", sourceLocation: sourceLocation)
        }
    }

    @Test("the hand-built model loads as built (the baseline of the hostile variants)")
    func miniModelLoads() throws {
        let mini = MiniModel()
        let model = try Model(bytes: mini.bytes)
        #expect(model.fileDescription == "hostile-test" && model.subgraphName == "main")
        #expect(model.tensors.map(\.name) == ["input", "constant", "output"])
        #expect(model.tensors.map(\.shape) == Array(repeating: [1, 2, 2, 1], count: 3))
        #expect(model.tensors[0].quantization == Quantization(scales: [0.5], zeroPoints: [-3]))
        #expect(Array(try model.constantBytes(of: 1)) == [1, 2, 3, 4])
        #expect(model.operators == [OperatorInfo(index: 0, code: .add, inputs: [0, 1], outputs: [2],
                                                 options: .elementwise(activation: .relu))])
        #expect(model.inputs == [0] && model.outputs == [2])
    }

    @Test("files that are not TFLite models are named as such")
    func notTFLite() {
        Self.expectError([], mentions: ["0 bytes long"])
        Self.expectError(Array("PK\u{3}\u{4}whatever".utf8), mentions: ["ZIP archive"])
        var mini = MiniModel()
        mini.bytes.replaceSubrange(4..<8, with: "TFL2".utf8)
        Self.expectError(mini.bytes, mentions: ["identifier is 'TFL2'", "not a TFLite model"])
        Self.expectError(MiniModel(.init(version: 2)).bytes, mentions: ["schema version 2"])
    }

    @Test("offsets pointing outside the file, backwards or at themselves are caught")
    func badOffsets() throws {
        var mini = MiniModel()
        let root = try #require(mini.at["root"])
        // Root offset far past the end.
        mini.set(UInt32(0xFFFF_FFF0), at: 0)
        Self.expectError(mini.bytes, mentions: ["Model table", "past the end"])

        // The root table's vtable offset sends the vtable far past the end, or before the file start.
        mini = MiniModel()
        mini.set(Int32(-0x7000_0000), at: root)
        Self.expectError(mini.bytes, mentions: ["Model table", "vtable at", "outside"])
        mini.set(Int32(root + 100), at: root)
        Self.expectError(mini.bytes, mentions: ["Model table", "vtable at -100 is outside"])

        // A self-referential offset: subgraph 0 "is" its own offset slot, whose vtable is itself.
        mini = MiniModel()
        mini.set(UInt32(0), at: try #require(mini.at["subgraphs[0]"]))
        Self.expectError(mini.bytes, mentions: ["subgraph 0", "vtable size 0"])

        // A vtable entry pointing past the end of its table.
        mini = MiniModel()
        mini.set(UInt16(200), at: try #require(mini.at["root.vtable"]) + 4)
        Self.expectError(mini.bytes, mentions: ["Model version", "outside its"])
    }

    @Test("hostile vector lengths and strings are caught before anything is allocated")
    func badVectorsAndStrings() throws {
        var mini = MiniModel()
        mini.set(UInt32(0x7FFF_FFFF), at: try #require(mini.at["tensor0.shape"]))
        Self.expectError(mini.bytes, mentions: ["subgraph 0 tensor 0 'input' shape vector", "2147483647 elements"])

        mini = MiniModel()
        let name = try #require(mini.at["tensor0.name"])
        mini.bytes[name + 4 + 5] = 0x41  // the NUL after "input"
        Self.expectError(mini.bytes, mentions: ["subgraph 0 tensor 0 name", "not NUL-terminated"])

        mini = MiniModel()
        mini.bytes[name + 4] = 0xFF
        Self.expectError(mini.bytes, mentions: ["subgraph 0 tensor 0 name", "not valid UTF-8"])

        // A string running to the very end of the file has no room for its terminator.
        mini = MiniModel()
        mini.set(UInt32(mini.bytes.count - name - 4), at: name)
        Self.expectError(mini.bytes, mentions: ["subgraph 0 tensor 0 name", "NUL-terminated"])
    }

    @Test("a file that shares one big table thousands of times is rejected, not expanded")
    func sharedTableAmplification() {
        // 20,000 tensors that are all the same tensor with a 2,000-dimension shape: 40 M elements from 90 KB.
        var b = FlatBufferTestBuilder()
        b.append(UInt32(0))
        b.bytes.append(contentsOf: "TFL3".utf8)
        let model = b.table([(0, .uint32(3)), (2, .offset)])
        b.link(0, to: model.position)
        let subgraphs = b.offsets(count: 1)
        b.link(model.fields[2]!, to: subgraphs.position)
        let graph = b.table([(0, .offset)])
        b.link(subgraphs.elements[0], to: graph.position)
        let tensors = b.offsets(count: 20_000)
        b.link(graph.fields[0]!, to: tensors.position)
        let tensor = b.table([(0, .offset), (1, .int8(9))])
        for element in tensors.elements { b.link(element, to: tensor.position) }
        let shape = b.vector([Int32](repeating: 1, count: 2_000))
        b.link(tensor.fields[0]!, to: shape)
        Self.expectError(b.bytes, mentions: ["far more elements", "shared"])
    }

    @Test("out-of-range indices and bad enum codes name the tensor or operator")
    func badIndicesAndCodes() throws {
        var mini = MiniModel()
        mini.bytes[try #require(mini.at["tensor0.type"])] = 99
        Self.expectError(mini.bytes, mentions: ["tensor 0 'input'", "unknown element type code 99"])

        mini = MiniModel()
        mini.set(UInt32(7), at: try #require(mini.at["tensor0.buffer"]))
        Self.expectError(mini.bytes, mentions: ["tensor 0 'input' refers to buffer 7", "2 buffers"])

        Self.expectError(MiniModel(.init(operatorInputs: [0, 99])).bytes,
                         mentions: ["operator #0 ADD input 1 refers to tensor 99", "3 tensors"])
        Self.expectError(MiniModel(.init(operatorInputs: [0, -2])).bytes, mentions: ["operator #0 ADD input 1", "-2"])
        #expect(try Model(bytes: MiniModel(.init(operatorInputs: [0, -1])).bytes).operators[0].inputs == [0, -1])

        mini = MiniModel()
        mini.set(UInt32(5), at: try #require(mini.at["operator.opcode_index"]))
        Self.expectError(mini.bytes, mentions: ["operator #0 uses operator code 5", "1 operator codes"])

        Self.expectError(MiniModel(.init(optionsType: 1)).bytes,
                         mentions: ["operator #0 ADD", "union type 1", "expected 11 (AddOptions)"])
    }

    @Test("shapes, quantization and constant sizes that do not add up name the tensor")
    func inconsistentTensors() {
        Self.expectError(MiniModel(.init(inputShape: [1, -3, 2, 1])).bytes,
                         mentions: ["tensor 0 'input'", "negative dimension -3"])
        Self.expectError(MiniModel(.init(inputShape: [1, 65536, 65536, 1])).bytes,
                         mentions: ["tensor 0 'input'", "1 GiB"])
        Self.expectError(MiniModel(.init(inputShape: [Int32.max, Int32.max, Int32.max, Int32.max])).bytes,
                         mentions: ["tensor 0 'input'", "1 GiB"])
        // An empty tensor's other dimensions must not overflow either (found by scripts/fuzz tflite).
        Self.expectError(MiniModel(.init(inputShape: [Int32.max, Int32.max, Int32.max, 0])).bytes,
                         mentions: ["tensor 0 'input'", "1 GiB"])
        Self.expectError(MiniModel(.init(scales: [0.5, 0.25], zeroPoints: [0])).bytes,
                         mentions: ["tensor 0 'input'", "2 quantization scales but 1 zero points"])
        Self.expectError(MiniModel(.init(scales: [1, 2, 3], zeroPoints: [0, 0, 0], quantizedDimension: 3)).bytes,
                         mentions: ["tensor 0 'input'", "3 quantization scales", "needs 1"])
        Self.expectError(MiniModel(.init(quantizedDimension: 4)).bytes,
                         mentions: ["tensor 0 'input'", "quantized_dimension 4"])
        Self.expectError(MiniModel(.init(constantData: [1, 2, 3])).bytes,
                         mentions: ["tensor 1 'constant'", "4 bytes", "holds 3 bytes"])
    }

    @Test("the fuzzer's crash with an empty tensor of huge other dimensions is a ModelError")
    func fuzzZeroDimensionOverflow() throws {
        // scripts/fuzz tflite: shape [..., 0, ...] with the other dimensions multiplying past Int.max
        // trapped in TensorInfo.elementCount while planning.
        Self.expectError(try Fixtures.data("fuzz/tflite-zero-dimension-overflow.tflite"), mentions: ["1 GiB"])
    }

    @Test("buffers stored after the flatbuffer (models over 2 GB) are read and bounds-checked")
    func externalBuffers() throws {
        // The data lives in 4 bytes appended to the file; the buffer locates it by offset and size.
        let size = MiniModel(.init(externalBuffer: (offset: 2, size: 4))).bytes.count
        var mini = MiniModel(.init(externalBuffer: (offset: UInt64(size), size: 4)))
        mini.bytes += [9, 8, 7, 6]
        let model = try Model(bytes: mini.bytes)
        #expect(Array(try model.constantBytes(of: 1)) == [9, 8, 7, 6])

        mini = MiniModel(.init(externalBuffer: (offset: UInt64(size), size: 0xFFFF_FFFF_FFFF)))
        mini.bytes += [9, 8, 7, 6]
        Self.expectError(mini.bytes, mentions: ["buffer 1 claims", "past the end"])
    }
}
