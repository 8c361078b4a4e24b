/// Options fixed when an ``Interpreter`` is created.
public struct InterpreterOptions: Sendable {
    /// Tensors (by index) whose values must survive an invocation, e.g. a layer to explain.
    public var keep: Set<Int>
    /// Refuse models whose activations need more memory than this.
    public var maximumArenaBytes: Int
    /// Threads an invocation may use, the caller's included (default: the online CPUs).
    public var threads: Int
    /// The SIMD kernels (default) or the scalar reference kernels everywhere; both give the same bytes.
    public var kernels: KernelSelection

    public init(keep: Set<Int> = [], maximumArenaBytes: Int = 1 << 31, threads: Int = WorkerPool.onlineProcessors,
                kernels: KernelSelection = .fast) {
        self.keep = keep
        self.maximumArenaBytes = maximumArenaBytes
        self.threads = threads
        self.kernels = kernels
    }
}

/// Errors of running a prepared model (as opposed to loading it, see ``ModelError``).
public enum InterpreterError: Error, CustomStringConvertible, Equatable, Sendable {
    case noSuchInput(Int, count: Int)
    case noSuchOutput(Int, count: Int)
    case sizeMismatch(tensor: String, expected: Int, actual: Int)
    case notPreserved(tensor: Int, name: String)

    public var description: String {
        switch self {
        case let .noSuchInput(index, count):
            return "the model has \(count) input(s); there is no input \(index)"
        case let .noSuchOutput(index, count):
            return "the model has \(count) output(s); there is no output \(index)"
        case let .sizeMismatch(tensor, expected, actual):
            return "tensor '\(tensor)' holds \(expected) bytes, but \(actual) were given"
        case let .notPreserved(tensor, name):
            return "tensor \(tensor) '\(name)' is not kept after an invocation; ask for it with InterpreterOptions.keep"
        }
    }
}

/// Runs a ``Model`` on the int8 kernels.
///
/// Creating an interpreter prepares every operator (the load-time checks happen here:
/// unsupported ops fail with their name and index) and allocates one arena for all
/// activations. ``invoke()`` then allocates nothing. An interpreter is not thread-safe:
/// own it from one thread at a time.
public final class Interpreter {
    public let model: Model
    public let plan: ExecutionPlan
    /// Prepared operators in execution order.
    public let operators: [any PreparedOperator]

    /// The threads operators split their work over.
    public let pool: WorkerPool
    private let arena: UnsafeMutableRawPointer
    private let pointerTable: UnsafeMutableBufferPointer<UnsafeMutableRawPointer?>

    public init(model: Model, options: InterpreterOptions = InterpreterOptions()) throws(ModelError) {
        let plan = try ExecutionPlan(model: model, keep: options.keep, maximumArenaBytes: options.maximumArenaBytes)
        var operators: [any PreparedOperator] = []
        operators.reserveCapacity(plan.order.count)
        for index in plan.order {
            operators.append(try makePreparedOperator(model.operators[index], in: model, kernels: options.kernels))
        }
        self.model = model
        self.plan = plan
        self.operators = operators
        pool = WorkerPool(threadCount: options.threads)
        arena = UnsafeMutableRawPointer.allocate(byteCount: max(plan.arenaBytes, ExecutionPlan.alignment),
                                                 alignment: ExecutionPlan.alignment)
        arena.initializeMemory(as: UInt8.self, repeating: 0, count: max(plan.arenaBytes, ExecutionPlan.alignment))
        pointerTable = .allocate(capacity: model.tensors.count)
        for (tensor, offset) in plan.offsets.enumerated() {
            pointerTable[tensor] = offset.map { arena + $0 }
        }
    }

    /// Loads and prepares a model from the bytes of a `.tflite` file.
    public convenience init(modelBytes: [UInt8], options: InterpreterOptions = InterpreterOptions()) throws(ModelError) {
        try self.init(model: Model(bytes: modelBytes), options: options)
    }

    deinit {
        arena.deallocate()
        pointerTable.deallocate()
    }

    /// Total multiply-accumulates of one invocation.
    public var multiplyAccumulates: Int { operators.reduce(0) { $0 + $1.multiplyAccumulates } }

    /// Descriptions of the model's inputs and outputs.
    public var inputs: [TensorInfo] { model.inputs.map { model.tensors[$0] } }
    public var outputs: [TensorInfo] { model.outputs.map { model.tensors[$0] } }

    /// Runs every operator once on the current input values.
    public func invoke() {
        let tensors = TensorPointers(table: UnsafeBufferPointer(pointerTable))
        for op in operators { op.run(tensors, on: pool) }
    }

    /// Runs the operators at positions `steps` of the execution order (for partial
    /// recomputation by explanation methods); the caller guarantees their inputs are current.
    public func invoke(steps: Range<Int>) {
        let tensors = TensorPointers(table: UnsafeBufferPointer(pointerTable))
        for step in steps { operators[step].run(tensors, on: pool) }
    }

    /// Copies `bytes` into input `index` (raw element bytes in the input's dtype).
    public func setInput(_ index: Int = 0, bytes: some Collection<UInt8>) throws(InterpreterError) {
        guard model.inputs.indices.contains(index) else {
            throw InterpreterError.noSuchInput(index, count: model.inputs.count)
        }
        let tensor = model.inputs[index]
        let info = model.tensors[tensor]
        let size = info.byteCount ?? 0
        guard bytes.count == size else {
            throw InterpreterError.sizeMismatch(tensor: info.name, expected: size, actual: bytes.count)
        }
        guard let start = pointerTable[tensor] else { return }
        UnsafeMutableRawBufferPointer(start: start, count: size).copyBytes(from: bytes)
    }

    /// The bytes of output `index` after ``invoke()``.
    public func output(_ index: Int = 0) throws(InterpreterError) -> [UInt8] {
        guard model.outputs.indices.contains(index) else {
            throw InterpreterError.noSuchOutput(index, count: model.outputs.count)
        }
        return try tensorBytes(model.outputs[index])
    }

    /// A copy of a preserved tensor's bytes (inputs, outputs and kept tensors).
    public func tensorBytes(_ tensor: Int) throws(InterpreterError) -> [UInt8] {
        try withTensorBytes(tensor) { Array($0) }
    }

    /// Calls `body` with a preserved tensor's memory; valid only during the call.
    public func withTensorBytes<R>(_ tensor: Int, _ body: (UnsafeRawBufferPointer) -> R) throws(InterpreterError) -> R {
        guard model.tensors.indices.contains(tensor) else {
            throw InterpreterError.notPreserved(tensor: tensor, name: "?")
        }
        let info = model.tensors[tensor]
        guard plan.preserved.contains(tensor), let start = pointerTable[tensor] else {
            throw InterpreterError.notPreserved(tensor: tensor, name: info.name)
        }
        return body(UnsafeRawBufferPointer(start: start, count: info.byteCount ?? 0))
    }

    /// Mutable memory of any planned tensor (not only preserved ones), for callers that
    /// recompute parts of the graph. The memory of a non-preserved tensor is only meaningful
    /// between the step that writes it and its last reader.
    public func unsafeTensorMemory(_ tensor: Int) -> UnsafeMutableRawBufferPointer? {
        guard model.tensors.indices.contains(tensor), let start = pointerTable[tensor] else { return nil }
        return UnsafeMutableRawBufferPointer(start: start, count: model.tensors[tensor].byteCount ?? 0)
    }
}
