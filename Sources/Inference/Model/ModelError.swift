/// Why a model could not be loaded or prepared.
///
/// Every case says what is wrong and where, so that a user holding a broken or
/// unsupported file knows what to do about it.
public enum ModelError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The bytes are not a well-formed TFLite flatbuffer: `what` names the field, `offset` the byte position.
    case malformed(what: String, offset: Int)
    /// A structural rule of the model is broken (a tensor index out of range, a shape that does not fit its buffer…).
    case invalid(String)
    /// The operator at `index` uses an op we do not implement.
    case unsupportedOperator(name: String, index: Int)
    /// The operator at `index` is implemented, but not with these options or tensor types.
    case unsupportedConfiguration(operator: String, index: Int, reason: String)
    /// A named or indexed tensor does not exist.
    case noSuchTensor(String)

    public var description: String {
        switch self {
        case let .malformed(what, offset):
            return "malformed TFLite file: \(what) (at byte \(offset))"
        case let .invalid(reason):
            return "invalid model: \(reason)"
        case let .unsupportedOperator(name, index):
            return "operator #\(index) \(name) is not supported by this engine"
        case let .unsupportedConfiguration(op, index, reason):
            return "operator #\(index) \(op): \(reason)"
        case let .noSuchTensor(name):
            return "no tensor named or numbered '\(name)' in the model"
        }
    }
}
