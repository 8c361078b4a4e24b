/// Writes small flatbuffers front to back, for hostile-file tests.
///
/// Real builders write back to front; writing forwards keeps every position known when it
/// is written, so a test can record where a field lives and corrupt exactly that field.
/// Each table is preceded by its vtable (a positive vtable offset), and anything a table
/// refers to is written after it and linked with ``link(_:to:)``.
struct FlatBufferTestBuilder {
    enum Value {
        case int8(Int8), uint8(UInt8), int32(Int32), uint32(UInt32), float(Float), int64(Int64), uint64(UInt64)
        /// A 4-byte reference, linked later with ``link(_:to:)``.
        case offset

        var size: Int {
            switch self {
            case .int8, .uint8: return 1
            case .int32, .uint32, .float, .offset: return 4
            case .int64, .uint64: return 8
            }
        }
    }

    var bytes: [UInt8] = []

    mutating func align(_ alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func set<T: FixedWidthInteger>(_ value: T, at position: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[position + index] = byte }
        }
    }

    /// Makes the 4-byte reference at `field` point to `target` (which must come after it).
    mutating func link(_ field: Int, to target: Int) {
        precondition(target >= field, "front-to-back builder: references point forwards")
        set(UInt32(target - field), at: field)
    }

    /// Writes a vtable and its table; returns the positions of both and of each field by slot.
    mutating func table(_ fields: [(slot: Int, value: Value)]) -> (position: Int, vtable: Int, fields: [Int: Int]) {
        align(4)
        let slotCount = (fields.map(\.slot).max() ?? -1) + 1
        let vtable = bytes.count
        append(UInt16(4 + 2 * slotCount))
        append(UInt16(0))  // table size, patched below
        for _ in 0..<slotCount { append(UInt16(0)) }
        align(8)
        let table = bytes.count
        append(Int32(table - vtable))
        var positions: [Int: Int] = [:]
        for (slot, value) in fields {
            align(value.size)
            positions[slot] = bytes.count
            set(UInt16(bytes.count - table), at: vtable + 4 + 2 * slot)
            switch value {
            case let .int8(v): append(v)
            case let .uint8(v): append(v)
            case let .int32(v): append(v)
            case let .uint32(v): append(v)
            case let .float(v): append(v.bitPattern)
            case let .int64(v): append(v)
            case let .uint64(v): append(v)
            case .offset: append(UInt32(0))
            }
        }
        set(UInt16(bytes.count - table), at: vtable + 2)
        return (table, vtable, positions)
    }

    /// Writes a vector of scalars; returns the position of its length field.
    mutating func vector<T: FixedWidthInteger>(_ values: [T]) -> Int {
        let size = MemoryLayout<T>.size
        align(4)
        while (bytes.count + 4) % max(size, 1) != 0 { append(UInt32(0)) }
        let position = bytes.count
        append(UInt32(values.count))
        for value in values { append(value) }
        return position
    }

    /// Writes a vector of references (zero until linked); returns its position and each element's position.
    mutating func offsets(count: Int) -> (position: Int, elements: [Int]) {
        align(4)
        let position = bytes.count
        append(UInt32(count))
        let elements = (0..<count).map { position + 4 + 4 * $0 }
        for _ in 0..<count { append(UInt32(0)) }
        return (position, elements)
    }

    /// Writes a NUL-terminated string; returns the position of its length field.
    mutating func string(_ text: String) -> Int {
        align(4)
        let position = bytes.count
        append(UInt32(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
        bytes.append(0)
        return position
    }
}

/// A tiny valid TFLite model built by ``FlatBufferTestBuilder``: `output = ADD(input, constant)`
/// with a fused RELU, three int8 [1,2,2,1] tensors, one constant buffer. `at` records where
/// the fields that hostile-file tests corrupt live.
struct MiniModel {
    struct Knobs {
        var version: UInt32 = 3
        var inputShape: [Int32] = [1, 2, 2, 1]
        var scales: [Float] = [0.5]
        var zeroPoints: [Int64] = [-3]
        var quantizedDimension: Int32 = 0
        var constantData: [UInt8] = [1, 2, 3, 4]
        /// When set, buffer 1 has no inline data and points at these (offset, size) instead.
        var externalBuffer: (offset: UInt64, size: UInt64)?
        var optionsType: UInt8 = 11
        var operatorInputs: [Int32] = [0, 1]
    }

    var bytes: [UInt8]
    /// Named positions: `root`, `root.vtable`, `subgraphs[0]`, `tensor0.shape`, `tensor0.name`,
    /// `tensor0.type`, `tensor0.buffer`, `operator.inputs`, `operator.opcode_index`, `buffer1.data`.
    var at: [String: Int]

    init(_ knobs: Knobs = Knobs()) {
        var b = FlatBufferTestBuilder()
        var at: [String: Int] = [:]
        b.append(UInt32(0))  // root offset, linked below
        b.bytes.append(contentsOf: "TFL3".utf8)

        let model = b.table([(0, .uint32(knobs.version)), (1, .offset), (2, .offset), (3, .offset), (4, .offset)])
        at["root"] = model.position
        at["root.vtable"] = model.vtable
        b.link(0, to: model.position)

        // operator_codes: [ADD]
        let codes = b.offsets(count: 1)
        b.link(model.fields[1]!, to: codes.position)
        let add = b.table([(0, .int8(0)), (2, .int32(1)), (3, .int32(0))])
        b.link(codes.elements[0], to: add.position)

        // subgraphs: [main]
        let subgraphs = b.offsets(count: 1)
        b.link(model.fields[2]!, to: subgraphs.position)
        at["subgraphs[0]"] = subgraphs.elements[0]
        let graph = b.table([(0, .offset), (1, .offset), (2, .offset), (3, .offset), (4, .offset)])
        b.link(subgraphs.elements[0], to: graph.position)

        let tensors = b.offsets(count: 3)
        b.link(graph.fields[0]!, to: tensors.position)
        for (index, (name, buffer)) in [("input", 0), ("constant", 1), ("output", 0)].enumerated() {
            let tensor = b.table([(0, .offset), (1, .int8(9)), (2, .uint32(UInt32(buffer))), (3, .offset), (4, .offset)])
            b.link(tensors.elements[index], to: tensor.position)
            let shape = b.vector(index == 0 ? knobs.inputShape : [1, 2, 2, 1] as [Int32])
            b.link(tensor.fields[0]!, to: shape)
            let text = b.string(name)
            b.link(tensor.fields[3]!, to: text)
            let quantization = b.table([(2, .offset), (3, .offset), (6, .int32(knobs.quantizedDimension))])
            b.link(tensor.fields[4]!, to: quantization.position)
            let scales = b.vector(knobs.scales.map(\.bitPattern))
            b.link(quantization.fields[2]!, to: scales)
            let zeroPoints = b.vector(knobs.zeroPoints)
            b.link(quantization.fields[3]!, to: zeroPoints)
            at["tensor\(index).shape"] = shape
            at["tensor\(index).name"] = text
            at["tensor\(index).type"] = tensor.fields[1]!
            at["tensor\(index).buffer"] = tensor.fields[2]!
        }
        let inputs = b.vector([0] as [Int32])
        b.link(graph.fields[1]!, to: inputs)
        let outputs = b.vector([2] as [Int32])
        b.link(graph.fields[2]!, to: outputs)

        let operators = b.offsets(count: 1)
        b.link(graph.fields[3]!, to: operators.position)
        let op = b.table([(0, .uint32(0)), (1, .offset), (2, .offset), (3, .uint8(knobs.optionsType)), (4, .offset)])
        b.link(operators.elements[0], to: op.position)
        at["operator.opcode_index"] = op.fields[0]!
        at["operator.options_type"] = op.fields[3]!
        let opInputs = b.vector(knobs.operatorInputs)
        b.link(op.fields[1]!, to: opInputs)
        at["operator.inputs"] = opInputs
        let opOutputs = b.vector([2] as [Int32])
        b.link(op.fields[2]!, to: opOutputs)
        let options = b.table([(0, .int8(1))])  // AddOptions: fused RELU
        b.link(op.fields[4]!, to: options.position)
        let graphName = b.string("main")
        b.link(graph.fields[4]!, to: graphName)

        let description = b.string("hostile-test")
        b.link(model.fields[3]!, to: description)

        let buffers = b.offsets(count: 2)
        b.link(model.fields[4]!, to: buffers.position)
        let empty = b.table([])
        b.link(buffers.elements[0], to: empty.position)
        if let external = knobs.externalBuffer {
            let buffer = b.table([(1, .uint64(external.offset)), (2, .uint64(external.size))])
            b.link(buffers.elements[1], to: buffer.position)
        } else {
            let buffer = b.table([(0, .offset)])
            b.link(buffers.elements[1], to: buffer.position)
            let data = b.vector(knobs.constantData)
            b.link(buffer.fields[0]!, to: data)
            at["buffer1.data"] = data
        }
        bytes = b.bytes
        self.at = at
    }

    mutating func set<T: FixedWidthInteger>(_ value: T, at position: Int) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[position + index] = byte }
        }
    }
}
