import Inference

/// Which operators and tensors lie on a path from some tensors to another, in a model's graph.
struct GraphPaths: Sendable {
    /// Operator indices in execution order whose output depends on a source and reaches the target.
    var operators: [Int]
    /// Tensors on such a path (sources and target included): the ones that carry gradients.
    var tensors: Set<Int>

    /// Paths from `sources` to `target`, following `order` (the plan's execution order).
    init(model: Model, order: [Int], from sources: Set<Int>, to target: Int) {
        var reachable = sources  // forward from the sources
        for index in order {
            let op = model.operators[index]
            if op.inputs.contains(where: { $0 >= 0 && reachable.contains($0) }) {
                reachable.formUnion(op.outputs)
            }
        }
        var needed: Set<Int> = [target]  // backward from the target
        var onPath: [Int] = []
        for index in order.reversed() {
            let op = model.operators[index]
            guard op.outputs.contains(where: needed.contains),
                  op.inputs.contains(where: { $0 >= 0 && reachable.contains($0) }) else { continue }
            onPath.append(index)
            for input in op.inputs where input >= 0 && reachable.contains(input) { needed.insert(input) }
        }
        operators = onPath.reversed()
        tensors = needed.intersection(reachable)
    }
}
