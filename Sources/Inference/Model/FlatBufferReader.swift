/// Read-only, bounds-checked access to a FlatBuffer held in memory.
///
/// Model files come from anywhere, so nothing read from them is trusted: every offset,
/// vtable, field, vector length and string is checked against the file before use, all
/// position arithmetic is overflow-checked, and reads are unaligned-safe. A failed check
/// throws ``ModelError/malformed(what:offset:)`` naming what was being read (the caller's
/// `what`, built only when an error is thrown) and the byte where the problem is.
///
/// The reader follows a fixed schema and never recurses, so a cyclic or self-referential
/// offset cannot make it loop. Because tables and vectors may legally be shared, a hostile
/// file could point thousands of entries at one large vector; every element the reader
/// decodes or hands out for iteration is therefore charged to a budget proportional to
/// the file size, which bounds total work and allocation by the file's length.
struct FlatBufferReader {
    /// A table: its position and the checked extent of its vtable and inline data.
    struct Table {
        /// Byte position of the table (where its vtable offset is stored).
        let position: Int
        /// Inline size of the table in bytes, from the vtable.
        let size: Int
        /// Byte position of the vtable.
        let vtable: Int
        /// Size of the vtable in bytes.
        let vtableSize: Int
    }

    /// A vector whose length has been checked to fit in the file.
    struct Vector {
        /// Byte position of the first element.
        let start: Int
        let count: Int
        let elementSize: Int

        var byteRange: Range<Int> { start..<(start + count * elementSize) }
    }

    let bytes: [UInt8]
    /// Elements that may still be decoded or iterated before the file counts as hostile.
    private var budget: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        // A well-formed file stores every element it holds at least once in at least one byte,
        // so twice its size (plus slack for tiny files and shared strings) is never reached by one.
        self.budget = 2 * bytes.count + 4096
    }

    // MARK: Raw reads (callers have checked bounds)

    private func load<T: FixedWidthInteger & BitwiseCopyable>(_: T.Type, at position: Int) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: T.self)) }
    }

    /// Throws unless `length` bytes starting at `position` lie inside the file.
    private func requireBytes(_ position: Int, _ length: Int, _ what: () -> String) throws(ModelError) {
        let (end, overflow) = position.addingReportingOverflow(length)
        guard position >= 0, length >= 0, !overflow, end <= bytes.count else {
            throw .malformed(what: "\(what()): \(length) bytes at \(position) run past the end of the \(bytes.count)-byte file",
                             offset: max(0, min(position, bytes.count)))
        }
    }

    /// Reads an unsigned 32-bit offset at `position` and returns the position it points to.
    private func followOffset(at position: Int, _ what: () -> String) throws(ModelError) -> Int {
        try requireBytes(position, 4, what)
        let target = position + Int(load(UInt32.self, at: position))
        guard target < bytes.count else {
            throw .malformed(what: "\(what()): offset points to byte \(target), past the end of the \(bytes.count)-byte file",
                             offset: position)
        }
        return target
    }

    // MARK: Tables

    /// The root table, whose offset is stored in the first four bytes.
    func rootTable(_ what: @autoclosure () -> String) throws(ModelError) -> Table {
        try table(at: followOffset(at: 0, what), what())
    }

    /// Checks the table at `position` and its vtable.
    func table(at position: Int, _ what: @autoclosure () -> String) throws(ModelError) -> Table {
        try requireBytes(position, 4, what)
        // The vtable sits at table position minus a signed offset; either direction is legal.
        let (vtable, overflow) = position.subtractingReportingOverflow(Int(load(Int32.self, at: position)))
        guard !overflow, vtable >= 0, vtable <= bytes.count - 4 else {
            throw .malformed(what: "\(what()): vtable at \(vtable) is outside the \(bytes.count)-byte file", offset: position)
        }
        let vtableSize = Int(load(UInt16.self, at: vtable))
        let size = Int(load(UInt16.self, at: vtable + 2))
        guard vtableSize >= 4, vtableSize % 2 == 0 else {
            throw .malformed(what: "\(what()): vtable size \(vtableSize) is not an even number of at least 4 bytes", offset: vtable)
        }
        guard vtable + vtableSize <= bytes.count else {
            throw .malformed(what: "\(what()): vtable of \(vtableSize) bytes at \(vtable) runs past the end of the file", offset: vtable)
        }
        guard size >= 4, position + size <= bytes.count else {
            throw .malformed(what: "\(what()): table of \(size) bytes at \(position) does not fit in the \(bytes.count)-byte file",
                             offset: vtable + 2)
        }
        return Table(position: position, size: size, vtable: vtable, vtableSize: vtableSize)
    }

    /// The position of field `slot` (its index in the schema, counting a union as two), or nil when absent.
    private func field(_ table: Table, _ slot: Int, size: Int, _ what: () -> String) throws(ModelError) -> Int? {
        let entry = table.vtable + 4 + 2 * slot
        guard entry + 2 <= table.vtable + table.vtableSize else { return nil }  // written by an older schema
        let offset = Int(load(UInt16.self, at: entry))
        if offset == 0 { return nil }
        guard offset >= 4, offset + size <= table.size else {
            throw .malformed(what: "\(what()): field at table offset \(offset) (\(size) bytes) lies outside its \(table.size)-byte table",
                             offset: entry)
        }
        return table.position + offset
    }

    // MARK: Scalars

    func scalar<T: FixedWidthInteger & BitwiseCopyable>(
        _ table: Table, _ slot: Int, default value: T, _ what: @autoclosure () -> String
    ) throws(ModelError) -> T {
        guard let position = try field(table, slot, size: MemoryLayout<T>.size, what) else { return value }
        return load(T.self, at: position)
    }

    func float(_ table: Table, _ slot: Int, default value: Float, _ what: @autoclosure () -> String) throws(ModelError) -> Float {
        guard let position = try field(table, slot, size: 4, what) else { return value }
        return Float(bitPattern: load(UInt32.self, at: position))
    }

    func bool(_ table: Table, _ slot: Int, default value: Bool, _ what: @autoclosure () -> String) throws(ModelError) -> Bool {
        guard let position = try field(table, slot, size: 1, what) else { return value }
        return load(UInt8.self, at: position) != 0
    }

    /// The byte position of a scalar field, for error messages about its value.
    func position(of table: Table, _ slot: Int) -> Int {
        let entry = table.vtable + 4 + 2 * slot
        guard entry + 2 <= table.vtable + table.vtableSize else { return table.position }
        let offset = Int(load(UInt16.self, at: entry))
        return offset == 0 ? table.position : table.position + offset
    }

    // MARK: References

    /// The sub-table referenced by field `slot`, or nil when the field is absent.
    func table(_ table: Table, _ slot: Int, _ what: @autoclosure () -> String) throws(ModelError) -> Table? {
        guard let position = try field(table, slot, size: 4, what) else { return nil }
        return try self.table(at: followOffset(at: position, what), what())
    }

    /// The vector referenced by field `slot`, with its length checked against the rest of the file.
    /// Nothing is charged to the budget: use it for byte ranges that are not decoded.
    func vector(_ table: Table, _ slot: Int, elementSize: Int, _ what: @autoclosure () -> String) throws(ModelError) -> Vector? {
        guard let position = try field(table, slot, size: 4, what) else { return nil }
        return try vector(at: followOffset(at: position, what), elementSize: elementSize, what)
    }

    private func vector(at position: Int, elementSize: Int, _ what: () -> String) throws(ModelError) -> Vector {
        try requireBytes(position, 4, what)
        let count = Int(load(UInt32.self, at: position))
        let start = position + 4
        let (length, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow, length <= bytes.count - start else {
            throw .malformed(what: "\(what()): vector of \(count) elements of \(elementSize) bytes needs \(count &* elementSize) bytes, "
                             + "but only \(max(0, bytes.count - start)) remain in the file", offset: position)
        }
        return Vector(start: start, count: count, elementSize: elementSize)
    }

    /// Charges `count` decoded elements to the budget.
    private mutating func spend(_ count: Int, at position: Int, _ what: () -> String) throws(ModelError) {
        guard count <= budget else {
            throw .malformed(what: "\(what()): the file makes the reader visit far more elements than a \(bytes.count)-byte model "
                             + "holds (tables or vectors shared over and over)", offset: position)
        }
        budget -= count
    }

    /// A vector of tables referenced by field `slot` (empty when absent); the count is charged to the budget.
    mutating func tables(_ table: Table, _ slot: Int, _ what: @autoclosure () -> String) throws(ModelError) -> Vector {
        guard let vector = try vector(table, slot, elementSize: 4, what()) else {
            return Vector(start: table.position, count: 0, elementSize: 4)
        }
        try spend(vector.count, at: vector.start - 4, what)
        return vector
    }

    /// Element `index` of a vector of tables.
    func table(in vector: Vector, at index: Int, _ what: @autoclosure () -> String) throws(ModelError) -> Table {
        precondition(index >= 0 && index < vector.count, "element index checked by the caller's loop")
        return try table(at: followOffset(at: vector.start + 4 * index, what), what())
    }

    /// A vector of little-endian scalars, decoded; nil when the field is absent.
    mutating func scalars<T: FixedWidthInteger & BitwiseCopyable>(
        _ table: Table, _ slot: Int, as _: T.Type, _ what: @autoclosure () -> String
    ) throws(ModelError) -> [T]? {
        guard let vector = try vector(table, slot, elementSize: MemoryLayout<T>.size, what()) else { return nil }
        try spend(vector.count, at: vector.start - 4, what)
        let values: [T] = copy(vector)
        #if _endian(big)
        return values.map { T(littleEndian: $0) }
        #else
        return values
        #endif
    }

    /// A vector of 32-bit floats, decoded; nil when the field is absent.
    mutating func floats(_ table: Table, _ slot: Int, _ what: @autoclosure () -> String) throws(ModelError) -> [Float]? {
        #if _endian(big)
        return try scalars(table, slot, as: UInt32.self, what())?.map(Float.init(bitPattern:))
        #else
        guard let vector = try vector(table, slot, elementSize: 4, what()) else { return nil }
        try spend(vector.count, at: vector.start - 4, what)
        return copy(vector)
        #endif
    }

    /// The vector's bytes as `T`s, copied (so they are aligned); one memcpy, fast even in debug builds.
    private func copy<T: BitwiseCopyable>(_ vector: Vector) -> [T] {
        [T](unsafeUninitializedCapacity: vector.count) { destination, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(destination).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[vector.byteRange]))
            }
            initialized = vector.count
        }
    }

    /// A string: UTF-8, validated, NUL-terminated as the format requires; nil when the field is absent.
    mutating func string(_ table: Table, _ slot: Int, _ what: @autoclosure () -> String) throws(ModelError) -> String? {
        guard let vector = try vector(table, slot, elementSize: 1, what()) else { return nil }
        let position = vector.start - 4
        try spend(vector.count, at: position, what)
        let end = vector.start + vector.count
        guard end < bytes.count, bytes[end] == 0 else {
            throw .malformed(what: "\(what()): string of \(vector.count) bytes is not NUL-terminated", offset: position)
        }
        guard let text = String(validating: bytes[vector.start..<end], as: UTF8.self) else {
            throw .malformed(what: "\(what()): string is not valid UTF-8", offset: position)
        }
        return text
    }
}
