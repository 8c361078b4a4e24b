import Foundation
import Imaging
import Inference

/// The loaded model and what every stage needs to know about it. Immutable and shared.
public struct ModelContext: Sendable {
    public let model: Model
    public let path: String
    public let name: String
    /// Lowercase hex SHA-256 of the file (the store's model identity).
    public let sha256: String
    /// Class names (index = class); may be shorter than the class count.
    public let labels: [String]
    let inputWidth: Int
    let inputHeight: Int
    let inputType: ModelInputType
    let quantizer: ModelInputQuantizer
    let output: TensorInfo

    /// Reads the model and labels files and checks the model can take RGB frames.
    public init(modelPath: String, labelsPath: String, mean: [Double], std: [Double]) throws(DaemonError) {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: modelPath)))
        } catch {
            throw .model("cannot read model \(modelPath): \(error.localizedDescription)")
        }
        do {
            model = try Model(bytes: bytes)
        } catch {
            throw .model("\(modelPath): \(error)")
        }
        path = modelPath
        name = URL(fileURLWithPath: modelPath).lastPathComponent
        sha256 = SHA256.hexDigest(bytes)
        if labelsPath.isEmpty {
            labels = []
        } else {
            do {
                let text = try String(contentsOfFile: labelsPath, encoding: .utf8)
                var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
                    $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
                }
                while lines.last == "" { lines.removeLast() }
                labels = lines
            } catch {
                throw .model("cannot read labels \(labelsPath): \(error.localizedDescription)")
            }
        }
        guard let inputIndex = model.inputs.first, let outputIndex = model.outputs.first else {
            throw .model("\(modelPath) has no input or no output")
        }
        let input = model.tensors[inputIndex]
        guard input.shape.count == 4, input.shape[0] == 1, input.shape[3] == 3 else {
            throw .model("\(modelPath): input shape \(input.shape) is not [1, H, W, 3] (an RGB image)")
        }
        inputHeight = input.shape[1]
        inputWidth = input.shape[2]
        switch input.type {
        case .int8: inputType = .int8
        case .uint8: inputType = .uint8
        case .float32: inputType = .float32
        default: throw .model("\(modelPath): input type \(input.type) is not int8, uint8 or float32")
        }
        output = model.tensors[outputIndex]
        guard [.int8, .uint8, .float32].contains(output.type) else {
            throw .model("\(modelPath): output type \(output.type) is not int8, uint8 or float32")
        }
        let expand: ([Double]) -> [Float] = { values in (values.count == 1 ? [values[0], values[0], values[0]] : values).map(Float.init) }
        do {
            quantizer = try ModelInputQuantizer(
                type: inputType, normalization: PixelNormalization(mean: expand(mean), std: expand(std)),
                scale: input.quantization?.scale ?? 1, zeroPoint: input.quantization?.zeroPoint ?? 0)
        } catch {
            throw .model("\(modelPath): \(error)")
        }
    }

    /// The label of class `index` (its index as text when the labels file has no line for it).
    public func label(_ index: Int) -> String {
        labels.indices.contains(index) && !labels[index].isEmpty ? labels[index] : String(index)
    }

    /// Class indices of `selectors` (labels are looked up; unknown labels are an error).
    func classIndices(_ selectors: [ClassSelector]) throws(DaemonError) -> Set<Int>? {
        if selectors.isEmpty { return nil }
        var indices: Set<Int> = []
        for selector in selectors {
            switch selector {
            case .index(let index): indices.insert(index)
            case .label(let label):
                let matches = labels.indices.filter { labels[$0] == label }
                guard !matches.isEmpty else {
                    throw .configuration("detection.classes: no class is labelled '\(label)' in the labels file")
                }
                indices.formUnion(matches)
            }
        }
        return indices
    }

    /// Real-valued scores from the raw output bytes.
    func scores(fromOutput bytes: [UInt8]) -> [Float] {
        let scale = output.quantization?.scale ?? 1
        let zero = output.quantization?.zeroPoint ?? 0
        switch output.type {
        case .int8: return bytes.map { scale * Float(Int32(Int8(bitPattern: $0)) - zero) }
        case .uint8: return bytes.map { scale * Float(Int32($0) - zero) }
        default:
            return stride(from: 0, to: bytes.count - 3, by: 4).map { i in
                Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
            }
        }
    }
}
