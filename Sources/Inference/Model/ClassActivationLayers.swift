extension Model {
    /// A tensor that class activation maps can be computed on.
    public struct ActivationLayer: Sendable, Equatable {
        /// Tensor index.
        public var tensor: Int
        /// The global pooling operator that reads it, if any.
        public var pooledBy: Int?
    }

    /// Candidate layers for class activation maps, best first: the inputs of global
    /// pooling operators (MEAN over height and width, or a pool whose output is 1×1)
    /// that still have spatial extent > 1, the last one in the graph first. Without any
    /// global pooling, the last 4-D activation with spatial extent > 1 is the candidate.
    public var classActivationLayers: [ActivationLayer] {
        var candidates: [ActivationLayer] = []
        for op in operators.reversed() {
            guard let input = op.inputs.first, tensors.indices.contains(input),
                  let output = op.outputs.first, tensors.indices.contains(output) else { continue }
            let inShape = tensors[input].shape
            guard inShape.count == 4, inShape[1] * inShape[2] > 1 else { continue }
            let outShape = tensors[output].shape
            let isGlobalPool: Bool
            switch op.code {
            case .mean:
                isGlobalPool = outShape.count == 2 || (outShape.count == 4 && outShape[1] == 1 && outShape[2] == 1)
            case .averagePool2D, .maxPool2D:
                isGlobalPool = outShape.count == 4 && outShape[1] == 1 && outShape[2] == 1
            default:
                isGlobalPool = false
            }
            if isGlobalPool && !candidates.contains(where: { $0.tensor == input }) {
                candidates.append(ActivationLayer(tensor: input, pooledBy: op.index))
            }
        }
        if candidates.isEmpty {
            for op in operators.reversed() {
                if let output = op.outputs.first, tensors.indices.contains(output) {
                    let shape = tensors[output].shape
                    if shape.count == 4, shape[1] * shape[2] > 1 {
                        candidates.append(ActivationLayer(tensor: output, pooledBy: nil))
                        break
                    }
                }
            }
        }
        return candidates
    }
}
