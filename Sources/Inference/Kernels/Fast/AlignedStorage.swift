/// A zero-filled, 64-byte-aligned block of memory owned by a prepared operator: packed
/// weights and per-task scratch. Allocated once at load, freed with the operator.
///
/// `@unchecked Sendable`: the contents are written in the initializer (packing) or, for
/// scratch, only by the one task that owns a slot during an invocation, and an
/// ``Interpreter`` is used from one thread at a time.
final class AlignedStorage: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int) {
        self.byteCount = max(byteCount, 64)
        bytes = UnsafeMutableRawPointer.allocate(byteCount: self.byteCount, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: self.byteCount)
    }

    /// Copies `values` to the start of a new block.
    convenience init<T>(copying values: [T]) {
        self.init(byteCount: values.count * MemoryLayout<T>.stride)
        values.withUnsafeBytes { source in
            if let start = source.baseAddress { bytes.copyMemory(from: start, byteCount: source.count) }
        }
    }

    deinit { bytes.deallocate() }

    func pointer<T>(as type: T.Type, byteOffset: Int = 0) -> UnsafeMutablePointer<T> {
        (bytes + byteOffset).assumingMemoryBound(to: T.self)
    }
}
