/// A two-operand int8 elementwise op (ADD, SUB, MUL without broadcasting) as a 64 KiB table
/// of its 256 x 256 possible results, filled at load by running the op's scalar oracle
/// once on every pair, so the table is bit-identical with the oracle by construction.
/// A run is then one load per element.
///
/// `@unchecked Sendable`: `current` is written by ``run(_:_:output:count:pool:)`` before the
/// pool's tasks start and only read by them (one op at a time, from one thread); the table
/// is written only in init.
final class ElementwiseLookupTable: ParallelJob, @unchecked Sendable {
    private var current: (input1: UnsafePointer<Int8>, input2: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>,
                          count: Int, tasks: Int)?
    private let table: AlignedStorage

    /// Elements below which a run stays on one thread (a task costs more than the lookups).
    static let elementsPerTask = 16_384

    /// `oracle(input1, input2, output)` must compute the op elementwise over equal-length buffers.
    init(oracle: (UnsafeBufferPointer<Int8>, UnsafeBufferPointer<Int8>, UnsafeMutableBufferPointer<Int8>) -> Void) {
        var first = [Int8](repeating: 0, count: 65_536), second = first
        for index in 0..<65_536 {
            first[index] = Int8(truncatingIfNeeded: index >> 8)
            second[index] = Int8(truncatingIfNeeded: index)
        }
        table = AlignedStorage(byteCount: 65_536)
        let output = UnsafeMutableBufferPointer(start: table.pointer(as: Int8.self), count: 65_536)
        first.withUnsafeBufferPointer { first in second.withUnsafeBufferPointer { second in oracle(first, second, output) } }
    }

    func run(_ input1: UnsafePointer<Int8>, _ input2: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>,
             count: Int, pool: WorkerPool?) {
        let tasks = min(QuantizedGemm.maximumTasks, count / Self.elementsPerTask)
        if let pool, pool.threadCount > 1, tasks > 1 {
            current = (input1, input2, output, count, tasks)
            pool.parallelFor(tasks, job: self)
            current = nil
        } else {
            lookUp(input1, input2, output: output, range: 0..<count)
        }
    }

    /// Task `task` of the current run: one slice of the elements.
    func run(task: Int) {
        guard let r = current else { return }
        lookUp(r.input1, r.input2, output: r.output, range: task * r.count / r.tasks ..< (task + 1) * r.count / r.tasks)
    }

    private func lookUp(_ input1: UnsafePointer<Int8>, _ input2: UnsafePointer<Int8>, output: UnsafeMutablePointer<Int8>,
                        range: Range<Int>) {
        let results = UnsafePointer(table.pointer(as: Int8.self))
        for index in range {
            output[index] = results[Int(UInt8(bitPattern: input1[index])) << 8 | Int(UInt8(bitPattern: input2[index]))]
        }
    }
}
