extension BuiltinOperator {
    /// PADV2 (schema code 60); not in the model layer's table of named codes.
    static let padV2 = Self(rawValue: 60)
}

/// Prepares one operator of `model` for execution on the `kernels` chosen (the SIMD kernels
/// where an op has one, by default; their packed weights are made here).
///
/// Throws ``ModelError/unsupportedOperator(name:index:)`` for ops this engine does not
/// implement, ``ModelError/unsupportedConfiguration(operator:index:reason:)`` for
/// implemented ops with types or options it does not run (float32 or int16 compute ops,
/// shuffled weights, fused TANH, …), and ``ModelError/invalid(_:)`` when the model
/// contradicts itself (an output shape that is not what the op computes, …).
func makePreparedOperator(
    _ op: OperatorInfo, in model: Model, kernels: KernelSelection = .fast
) throws(ModelError) -> any PreparedOperator {
    switch op.code {
    case .conv2D: return try Conv2DOperator(op, in: model, kernels: kernels)
    case .depthwiseConv2D: return try DepthwiseConv2DOperator(op, in: model, kernels: kernels)
    case .fullyConnected: return try FullyConnectedOperator(op, in: model, kernels: kernels)
    case .add, .sub, .mul: return try ElementwiseOperator(op, in: model, kernels: kernels)
    case .averagePool2D, .maxPool2D: return try PoolOperator(op, in: model)
    case .mean: return try MeanOperator(op, in: model)
    case .pad, .padV2: return try PadOperator(op, in: model)
    case .reshape, .squeeze: return try ReshapeOperator(op, in: model)
    case .concatenation: return try ConcatenationOperator(op, in: model)
    case .softmax: return try SoftmaxOperator(op, in: model)
    case .logistic, .hardSwish, .relu, .relu6, .reluN1To1: return try ActivationOperator(op, in: model)
    case .quantize, .dequantize: return try QuantizeOperator(op, in: model)
    default: throw ModelError.unsupportedOperator(name: op.name, index: op.index)
    }
}
