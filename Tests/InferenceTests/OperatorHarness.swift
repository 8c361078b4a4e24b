@testable import Inference

/// Runs prepared operators of a model on memory owned by the test: one buffer per tensor,
/// filled and read by tensor index. Isolates operator tests from the execution plan.
final class OperatorHarness {
    let model: Model
    private var buffers: [UnsafeMutableRawBufferPointer?]
    private let table: UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>

    init(model: Model) {
        self.model = model
        buffers = model.tensors.map { tensor in
            guard let size = tensor.byteCount else { return nil }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 16)
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            if let range = tensor.constantBytes { buffer.copyBytes(from: model.bytes[range]) }
            return buffer
        }
        table = .allocate(capacity: model.tensors.count)
        for (index, buffer) in buffers.enumerated() { table[index] = buffer?.baseAddress }
    }

    deinit {
        for buffer in buffers { buffer?.deallocate() }
        table.deallocate()
    }

    /// Overwrites tensor `index` with `bytes` (which must have the tensor's size).
    func set(_ index: Int, _ bytes: [UInt8]) {
        guard let buffer = buffers[index], bytes.count == model.tensors[index].byteCount else {
            preconditionFailure("tensor \(index) holds \(model.tensors[index].byteCount ?? -1) bytes, got \(bytes.count)")
        }
        buffer.copyBytes(from: bytes)
    }

    /// The bytes of tensor `index`.
    func bytes(_ index: Int) -> [UInt8] {
        guard let buffer = buffers[index] else { return [] }
        return Array(buffer.prefix(model.tensors[index].byteCount ?? 0))
    }

    func run(_ op: any PreparedOperator) {
        op.run(TensorPointers(table: UnsafeBufferPointer(table)))
    }
}
