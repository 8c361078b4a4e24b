import ArgumentParser
import Foundation
import Inference

/// `edgecam inspect MODEL.tflite [--json]`
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model's inputs, outputs, operators, MACs, arena size and CAM layers."
    )

    @Argument(help: "The .tflite model file.")
    var model: String

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    func run() throws {
        let model = try loadModel(at: model)
        let interpreter: Interpreter
        do {
            interpreter = try Interpreter(model: model)
        } catch {
            throw CLIError("\(self.model): \(error)")
        }
        let report = ModelReport(path: self.model, interpreter: interpreter)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text)
        }
    }
}

/// What `inspect` reports, as plain data so text and JSON say the same thing.
struct ModelReport: Encodable {
    struct Tensor: Encodable {
        var index: Int
        var name: String
        var dtype: String
        var shape: [Int]
        var scales: [Float]?
        var zeroPoints: [Int64]?
        var quantizedDimension: Int?
        var constant: Bool

        init(_ info: TensorInfo) {
            index = info.index
            name = info.name
            dtype = info.type.description
            shape = info.shape
            scales = info.quantization?.scales
            zeroPoints = info.quantization?.zeroPoints
            quantizedDimension = info.quantization.map { $0.isPerTensor ? nil : $0.quantizedDimension } ?? nil
            constant = info.isConstant
        }
    }

    struct Operator: Encodable {
        var index: Int
        var type: String
        var options: String
        var inputs: [Int]
        var outputs: [Int]
        var outputShape: [Int]
        var macs: Int
    }

    struct CAMLayer: Encodable {
        var tensor: Int
        var name: String
        var shape: [Int]
        var pooledByOperator: Int?
    }

    var path: String
    var version: Int
    var description: String
    var inputs: [Tensor]
    var outputs: [Tensor]
    var operators: [Operator]
    var totalMACs: Int
    var arenaBytes: Int
    var arenaBytesWithoutReuse: Int
    var camLayers: [CAMLayer]
    private var tensorTable: [Tensor]

    init(path: String, interpreter: Interpreter) {
        let model = interpreter.model
        self.path = path
        version = model.version
        description = model.fileDescription
        inputs = interpreter.inputs.map(Tensor.init)
        outputs = interpreter.outputs.map(Tensor.init)
        operators = interpreter.operators.map { prepared in
            let info = prepared.info
            let output = info.outputs.first.map { model.tensors[$0].shape } ?? []
            return Operator(index: info.index, type: info.name, options: info.options.description,
                            inputs: info.inputs, outputs: info.outputs, outputShape: output,
                            macs: prepared.multiplyAccumulates)
        }
        totalMACs = interpreter.multiplyAccumulates
        arenaBytes = interpreter.plan.arenaBytes
        arenaBytesWithoutReuse = interpreter.plan.unsharedBytes
        camLayers = model.classActivationLayers.map { layer in
            CAMLayer(tensor: layer.tensor, name: model.tensors[layer.tensor].name,
                     shape: model.tensors[layer.tensor].shape, pooledByOperator: layer.pooledBy)
        }
        tensorTable = model.tensors.map(Tensor.init)
    }

    private enum CodingKeys: String, CodingKey {
        case path, version, description, inputs, outputs, operators, totalMACs = "total_macs"
        case arenaBytes = "arena_bytes", arenaBytesWithoutReuse = "arena_bytes_without_reuse"
        case camLayers = "cam_layers"
    }

    var text: String {
        var lines: [String] = []
        lines.append("model: \(path) (schema v\(version)\(description.isEmpty ? "" : ", \"\(description)\""))")
        lines.append("inputs:")
        for tensor in inputs { lines.append("  \(describe(tensor))") }
        lines.append("outputs:")
        for tensor in outputs { lines.append("  \(describe(tensor))") }
        lines.append("operators (\(operators.count)):")
        for op in operators {
            let type = op.type.padding(toLength: 18, withPad: " ", startingAt: 0)
            let macs = op.macs > 0 ? "  MACs=\(op.macs)" : ""
            lines.append("  #\(String(op.index).padding(toLength: 3, withPad: " ", startingAt: 0)) \(type) \(op.options)\(macs)")
            for index in op.inputs where index >= 0 {
                lines.append("       in : \(describe(tensorTable[index]))")
            }
            for index in op.outputs {
                lines.append("       out: \(describe(tensorTable[index]))")
            }
        }
        lines.append("total MACs: \(totalMACs) (\(String(format: "%.1f", Double(totalMACs) / 1e6)) M)")
        lines.append("arena: \(arenaBytes) bytes (\(arenaBytesWithoutReuse) without buffer reuse)")
        lines.append("CAM layers (best first):")
        if camLayers.isEmpty { lines.append("  none: no activation with spatial extent > 1") }
        for layer in camLayers {
            let pooled = layer.pooledByOperator.map { ", pooled by operator #\($0)" } ?? ""
            lines.append("  t\(layer.tensor) [\(layer.shape.map(String.init).joined(separator: ","))] '\(layer.name)'\(pooled)")
        }
        return lines.joined(separator: "\n")
    }

    private func describe(_ tensor: Tensor) -> String {
        var text = "t\(tensor.index) \(tensor.dtype) [\(tensor.shape.map(String.init).joined(separator: ","))]"
        if let scales = tensor.scales, let zeroPoints = tensor.zeroPoints {
            if scales.count == 1 {
                text += " (s=\(scales[0]) zp=\(zeroPoints.first ?? 0))"
            } else if let low = scales.min(), let high = scales.max() {
                text += " (per-channel dim\(tensor.quantizedDimension ?? 0): \(scales.count) scales \(String(format: "%.3g", low))..\(String(format: "%.3g", high)))"
            }
        }
        if tensor.constant { text += " const" }
        return text + " '\(tensor.name)'"
    }
}
