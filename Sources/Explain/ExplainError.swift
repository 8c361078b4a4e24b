import Inference

/// Why an explanation could not be computed. Each message says what to change.
public enum ExplainError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The model could not be prepared (unsupported op, bad tensor…).
    case model(ModelError)
    /// The input does not fit the model.
    case input(InterpreterError)
    /// No layer to explain was given and the model has no 4-D activation with spatial extent.
    case noDefaultLayer
    /// The requested layer is not an activation tensor with spatial extent (NHWC).
    case unsuitableLayer(tensor: Int, name: String, reason: String)
    /// The target class index is outside the score tensor.
    case noSuchClass(Int, classes: Int)
    /// CAM needs the layer to be globally pooled and then fed to one FULLY_CONNECTED layer.
    case camNeedsGlobalPoolingHead(String)
    /// The backward pass meets an operator it cannot differentiate.
    case unsupportedGradient(operator: String, index: Int, reason: String)
    /// The score does not depend on the requested layer (or on the input).
    case notOnPath(tensor: Int, name: String)
    /// An option is out of range.
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .model(error): return error.description
        case let .input(error): return error.description
        case .noDefaultLayer:
            return "the model has no 4-D activation with spatial extent > 1 to explain; pass a layer by name or tensor index"
        case let .unsuitableLayer(tensor, name, reason):
            return "tensor \(tensor) '\(name)' cannot be explained: \(reason); pick an NHWC activation (see `edgecam inspect`)"
        case let .noSuchClass(index, classes):
            return "target class \(index) does not exist: the model scores \(classes) classes (0...\(classes - 1))"
        case let .camNeedsGlobalPoolingHead(reason):
            return "CAM needs a global-average-pooling → fully-connected head after the layer (\(reason)); use gradcam, which works on any head"
        case let .unsupportedGradient(op, index, reason):
            return "operator #\(index) \(op) cannot be back-propagated through (\(reason)); choose a later layer or a gradient-free method (activation, eigencam, occlusion)"
        case let .notOnPath(tensor, name):
            return "the score does not depend on tensor \(tensor) '\(name)'; pick a layer between the input and the output"
        case let .invalidOption(reason):
            return "invalid option: \(reason)"
        }
    }
}
