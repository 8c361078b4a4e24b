/// The static schedule of a model: operator order, tensor lifetimes and arena offsets.
///
/// Computed once at load. Activation tensors whose lifetimes do not overlap share
/// arena bytes; model inputs, model outputs and tensors the caller asks to keep are
/// live for the whole invocation, so they can be read afterwards.
public struct ExecutionPlan: Sendable {
    /// Operator indices (into `Model.operators`) in execution order.
    public let order: [Int]
    /// Byte offset of each tensor in the arena, or nil for constants and unused tensors.
    public let offsets: [Int?]
    /// Arena size in bytes.
    public let arenaBytes: Int
    /// Sum of the byte sizes of all activation tensors: what the arena would need without reuse.
    public let unsharedBytes: Int
    /// Tensors guaranteed to hold their values after an invocation.
    public let preserved: Set<Int>

    /// Arena offsets are multiples of this, so SIMD kernels may use aligned loads at tensor starts.
    public static let alignment = 64

    /// Plans `model`, preserving `keep` in addition to the model's inputs and outputs.
    public init(model: Model, keep: Set<Int> = [], maximumArenaBytes: Int = 1 << 31) throws(ModelError) {
        let tensors = model.tensors
        for index in keep where !tensors.indices.contains(index) {
            throw ModelError.noSuchTensor(String(index))
        }
        let order = try Self.executionOrder(model)
        let preserved = Set(model.inputs).union(model.outputs).union(keep.filter { !tensors[$0].isConstant })

        // Lifetime of each activation: [first step it is written or live, last step it is read].
        var first = [Int](repeating: Int.max, count: tensors.count)
        var last = [Int](repeating: Int.min, count: tensors.count)
        func touch(_ tensor: Int, at step: Int) {
            first[tensor] = min(first[tensor], step)
            last[tensor] = max(last[tensor], step)
        }
        for (step, opIndex) in order.enumerated() {
            let op = model.operators[opIndex]
            for tensor in op.inputs where tensor >= 0 && !tensors[tensor].isConstant { touch(tensor, at: step) }
            for tensor in op.outputs { touch(tensor, at: step) }
        }
        for tensor in preserved {
            touch(tensor, at: -1)
            touch(tensor, at: order.count)
        }

        var sized: [(tensor: Int, bytes: Int)] = []
        var unshared = 0
        for tensor in tensors.indices where first[tensor] != Int.max {
            guard let bytes = tensors[tensor].byteCount else {
                throw ModelError.invalid("tensor \(tensor) '\(tensors[tensor].name)' has type \(tensors[tensor].type), which has no fixed size")
            }
            let rounded = (bytes + Self.alignment - 1) / Self.alignment * Self.alignment
            sized.append((tensor, rounded))
            unshared += rounded
        }
        // Greedy by size (as TFLite's arena planner does): place big tensors first, each at the
        // lowest offset that does not collide with a placed tensor whose lifetime overlaps.
        sized.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.tensor < $1.tensor }
        var offsets = [Int?](repeating: nil, count: tensors.count)
        var placed: [(offset: Int, end: Int, first: Int, last: Int)] = []
        var arenaBytes = 0
        for (tensor, bytes) in sized {
            let overlapping = placed
                .filter { $0.first <= last[tensor] && first[tensor] <= $0.last }
                .sorted { $0.offset < $1.offset }
            var offset = 0
            for block in overlapping {
                if offset + bytes <= block.offset { break }
                offset = max(offset, block.end)
            }
            offsets[tensor] = offset
            placed.append((offset, offset + bytes, first[tensor], last[tensor]))
            arenaBytes = max(arenaBytes, offset + bytes)
            guard arenaBytes <= maximumArenaBytes else {
                throw ModelError.invalid("the model needs more than \(maximumArenaBytes) bytes of activations")
            }
        }
        self.order = order
        self.offsets = offsets
        self.arenaBytes = arenaBytes
        self.unsharedBytes = unshared
        self.preserved = preserved
    }

    /// File order when it is valid (TFLite converters write topologically sorted graphs),
    /// otherwise a stable topological sort; a tensor read before anything writes it is an error.
    static func executionOrder(_ model: Model) throws(ModelError) -> [Int] {
        let tensors = model.tensors
        var producer = [Int?](repeating: nil, count: tensors.count)
        for op in model.operators {
            for tensor in op.outputs {
                guard tensor >= 0 else {
                    throw ModelError.invalid("operator #\(op.index) \(op.name) has an absent output")
                }
                if tensors[tensor].isConstant {
                    throw ModelError.invalid("operator #\(op.index) \(op.name) writes constant tensor \(tensor) '\(tensors[tensor].name)'")
                }
                if producer[tensor] != nil || model.inputs.contains(tensor) {
                    throw ModelError.invalid("tensor \(tensor) '\(tensors[tensor].name)' is written twice (operator #\(op.index) \(op.name))")
                }
                producer[tensor] = op.index
            }
        }
        let dependencies: [[Int]] = model.operators.map { op in
            op.inputs.compactMap { $0 >= 0 ? producer[$0] : nil }
        }
        for op in model.operators {
            for tensor in op.inputs where tensor >= 0 && !tensors[tensor].isConstant
                && producer[tensor] == nil && !model.inputs.contains(tensor) {
                throw ModelError.invalid("operator #\(op.index) \(op.name) reads tensor \(tensor) '\(tensors[tensor].name)', which no operator writes and is not a model input")
            }
        }
        for output in model.outputs where producer[output] == nil && !model.inputs.contains(output) && !tensors[output].isConstant {
            throw ModelError.invalid("model output tensor \(output) '\(tensors[output].name)' is never written")
        }
        if dependencies.indices.allSatisfy({ index in dependencies[index].allSatisfy { $0 < index } }) {
            return Array(model.operators.indices)
        }
        // Kahn's algorithm, always taking the lowest ready index so the file order is kept where it can be.
        var consumers = [[Int]](repeating: [], count: model.operators.count)
        var pending = [Int](repeating: 0, count: model.operators.count)
        for (index, producers) in dependencies.enumerated() {
            pending[index] = producers.count
            for producer in producers { consumers[producer].append(index) }
        }
        var ready = model.operators.indices.filter { pending[$0] == 0 }.reversed() as [Int]
        var order: [Int] = []
        order.reserveCapacity(model.operators.count)
        while let next = ready.popLast() {
            order.append(next)
            for consumer in consumers[next] {
                pending[consumer] -= 1
                if pending[consumer] == 0 {
                    // `ready` is kept sorted descending so popLast yields the lowest index.
                    let position = ready.firstIndex(where: { $0 < consumer }) ?? ready.endIndex
                    ready.insert(consumer, at: position)
                }
            }
        }
        guard order.count == model.operators.count else {
            throw ModelError.invalid("the operators form a cycle")
        }
        return order
    }
}
