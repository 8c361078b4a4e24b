/// Where every tensor lives during one invocation.
///
/// The interpreter fills one pointer per tensor index once per plan: activations point
/// into the arena; constants have no pointer (operators read every constant input, weights
/// or not, from the ``Model`` when they are prepared). Operators keep tensor indices and
/// ask for pointers here, so an invocation does no lookups by name and no allocation.
public struct TensorPointers {
    @usableFromInline let table: UnsafeBufferPointer<UnsafeMutableRawPointer?>

    @inlinable init(table: UnsafeBufferPointer<UnsafeMutableRawPointer?>) { self.table = table }

    /// The memory of tensor `index`, typed as `T`, `count` elements long.
    @inlinable
    public func buffer<T>(_ index: Int, as type: T.Type, count: Int) -> UnsafeMutableBufferPointer<T> {
        // The plan guarantees every tensor an operator touches has memory; a nil here is a planning bug.
        let raw = table[index].unsafelyUnwrapped
        return UnsafeMutableBufferPointer(start: raw.assumingMemoryBound(to: T.self), count: count)
    }

    /// The untyped start of tensor `index`.
    @inlinable
    public func raw(_ index: Int) -> UnsafeMutableRawPointer { table[index].unsafelyUnwrapped }
}

/// An operator prepared for execution: everything derivable at load time (multipliers,
/// shifts, packed weights, clamped ranges) is computed in its initializer, so `run`
/// only reads its inputs and writes its outputs.
public protocol PreparedOperator: Sendable {
    /// The operator of the model this was prepared from.
    var info: OperatorInfo { get }
    /// Multiply-accumulates per invocation (0 for ops that do none), for reports and benchmarks.
    var multiplyAccumulates: Int { get }
    /// Computes the outputs from the inputs on the calling thread. Must not allocate.
    func run(_ tensors: TensorPointers)
    /// Computes the outputs, splitting the work over `pool` where the op knows how
    /// (output rows or channels). Must not allocate. Defaults to ``run(_:)``.
    func run(_ tensors: TensorPointers, on pool: WorkerPool)
}

extension PreparedOperator {
    public func run(_ tensors: TensorPointers, on pool: WorkerPool) { run(tensors) }
}
