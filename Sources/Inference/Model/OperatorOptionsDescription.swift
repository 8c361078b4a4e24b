extension OperatorOptions: CustomStringConvertible {
    /// `padding=SAME stride=2x2 dilation=1x1 activation=RELU6`-style text for reports.
    public var description: String {
        switch self {
        case .none:
            return ""
        case let .convolution(o):
            var text = "padding=\(o.padding) stride=\(o.strideHeight)x\(o.strideWidth) dilation=\(o.dilationHeight)x\(o.dilationWidth)"
            if o.depthMultiplier != 1 { text += " depth_multiplier=\(o.depthMultiplier)" }
            return text + " activation=\(o.activation)"
        case let .pool(o):
            return "padding=\(o.padding) filter=\(o.filterHeight)x\(o.filterWidth) stride=\(o.strideHeight)x\(o.strideWidth) activation=\(o.activation)"
        case let .fullyConnected(o):
            return "activation=\(o.activation)" + (o.keepNumDims ? " keep_num_dims" : "")
        case let .elementwise(activation):
            return "activation=\(activation)"
        case let .concatenation(axis, activation):
            return "axis=\(axis) activation=\(activation)"
        case let .softmax(beta):
            return "beta=\(beta)"
        case let .reshape(newShape):
            return newShape.map { "new_shape=\($0)" } ?? ""
        case let .squeeze(dimensions):
            return "squeeze_dims=\(dimensions)"
        case let .reducer(keepDimensions):
            return "keep_dims=\(keepDimensions)"
        }
    }
}
