import ArgumentParser
import Explain
import NPY

/// What `--target` names: the top class of each input, one class for all, or one class per input.
enum ClassTarget {
    case top1
    case index(Int)
    case perInput([Int], path: String)

    /// Parses `top1`, a class index, or the path of a `.npy` holding one class index per input
    /// (int32, int8 or uint8, shape [N] or [N, 1]).
    init(parsing text: String) throws {
        if text == "top1" {
            self = .top1
        } else if let index = Int(text) {
            guard index >= 0 else { throw ValidationError("--target \(text): a class index is 0 or more") }
            self = .index(index)
        } else if text.hasSuffix(".npy") {
            let array: NPYArray
            do { array = try NPYArray(contentsOf: text) } catch { throw CLIError("--target \(text): \(error)") }
            guard array.shape.count == 1 || (array.shape.count == 2 && array.shape[1] == 1) else {
                throw CLIError("--target \(text): shape \(array.shape) is not [N]: give one class index per input")
            }
            let classes: [Int]
            switch array.dtype {
            case .int32: classes = array.elements(as: Int32.self).map { Int($0) }
            case .int8: classes = array.elements(as: Int8.self).map { Int($0) }
            case .uint8: classes = array.data.map { Int($0) }
            case .float32: throw CLIError("--target \(text): class indices must be int32, int8 or uint8, not float32")
            }
            if let negative = classes.first(where: { $0 < 0 }) {
                throw CLIError("--target \(text): class index \(negative) is negative")
            }
            self = .perInput(classes, path: text)
        } else {
            throw ValidationError("--target '\(text)': use top1, a class index, or a .npy file with one class index per input")
        }
    }

    /// The target of input `sample` out of `samples`; throws if a per-input file has the wrong length.
    func target(for sample: Int, of samples: Int) throws -> ExplanationTarget {
        switch self {
        case .top1: return .top1
        case let .index(k): return .classIndex(k)
        case let .perInput(classes, path):
            guard classes.count == samples else {
                throw CLIError("--target \(path) holds \(classes.count) class indices but the input holds \(samples) samples")
            }
            return .classIndex(classes[sample])
        }
    }
}
