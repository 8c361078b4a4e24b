import ArgumentParser
import Foundation
import Inference
import NPY

/// `edgecam infer MODEL.tflite --input X.npy --output Y.npy [--keep T]... [--keep-dir DIR]`
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a model on a batch of inputs stored as .npy and write the outputs as .npy.",
        discussion: """
        X.npy is N×(model input shape without its batch dimension) in the input's dtype (int8, uint8 \
        or float32); Y.npy gets N×(output shape) in the output's dtype. With several model inputs or \
        outputs, repeat --input / --output in model order.
        """
    )

    @Argument(help: "The .tflite model file.")
    var model: String

    @Option(name: .shortAndLong, help: "Input .npy (repeat for models with several inputs).")
    var input: [String] = []

    @Option(name: .shortAndLong, help: "Output .npy (repeat for models with several outputs).")
    var output: [String] = []

    @Option(help: "Also save this intermediate tensor (name or index; repeatable).")
    var keep: [String] = []

    @Option(help: "Directory for the tensors named by --keep (default: the current directory).")
    var keepDir: String = "."

    @Option(help: "Threads (default: the online CPUs).")
    var threads: Int?

    @Option(help: "Print the K best classes of the first output for every sample.")
    var top: Int?

    @Option(help: "Class names, one per line (index 0 first), for --top.")
    var labels: String?

    func validate() throws {
        guard !input.isEmpty else { throw ValidationError("give the model's input with --input X.npy") }
        guard !output.isEmpty else { throw ValidationError("say where the output goes with --output Y.npy") }
        if let top, top < 1 { throw ValidationError("--top needs a positive count") }
        if let threads, threads < 1 { throw ValidationError("--threads needs at least 1") }
    }

    func run() throws {
        let model = try loadModel(at: model)
        let kept: [Int]
        let interpreter: Interpreter
        do {
            kept = try keep.map { try model.tensorIndex(named: $0) }
            interpreter = try Interpreter(model: model, options: InterpreterOptions(
                keep: Set(kept), threads: threads ?? WorkerPool.onlineProcessors))
        } catch {
            throw CLIError("\(self.model): \(error)")
        }
        guard input.count == model.inputs.count else {
            throw ValidationError("the model has \(model.inputs.count) input(s); \(input.count) --input given")
        }
        guard output.count == model.outputs.count else {
            throw ValidationError("the model has \(model.outputs.count) output(s); \(output.count) --output given")
        }

        let batches = try zip(input, model.inputs).map { path, tensor in
            try BatchedTensor(reading: path, for: model.tensors[tensor])
        }
        let samples = batches[0].samples
        for (path, batch) in zip(input, batches) where batch.samples != samples {
            throw ValidationError("\(path) holds \(batch.samples) samples but \(input[0]) holds \(samples)")
        }

        let collected = model.outputs + kept
        var results = collected.map { [UInt8](repeating: 0, count: samples * (model.tensors[$0].byteCount ?? 0)) }
        for sample in 0..<samples {
            for (index, batch) in batches.enumerated() {
                try interpreter.setInput(index, bytes: batch.sample(sample))
            }
            interpreter.invoke()
            for (slot, tensor) in collected.enumerated() {
                let size = model.tensors[tensor].byteCount ?? 0
                try interpreter.withTensorBytes(tensor) { bytes in
                    results[slot].withUnsafeMutableBytes { destination in
                        UnsafeMutableRawBufferPointer(rebasing: destination[sample * size ..< (sample + 1) * size])
                            .copyMemory(from: bytes)
                    }
                }
            }
        }

        let keepPaths = kept.map { tensor in
            URL(fileURLWithPath: keepDir).appendingPathComponent(String(format: "t%03d.npy", tensor)).path
        }
        for (slot, (tensor, path)) in zip(collected, output + keepPaths).enumerated() {
            let info = model.tensors[tensor]
            guard let dtype = NPYDType(info.type) else {
                throw CLIError("tensor \(tensor) '\(info.name)' has dtype \(info.type), which .npy export does not support")
            }
            let shape = [samples] + info.shape.dropFirst(info.shape.first == 1 ? 1 : 0)
            try NPYArray(dtype: dtype, shape: shape, data: results[slot]).write(to: path)
        }
        if let top {
            let names = try labels.map(readLabels) ?? []
            let info = model.tensors[model.outputs[0]]
            let classes = info.elementCount
            for sample in 0..<samples {
                let scores = dequantized(results[0], type: info.type, quantization: info.quantization,
                                         range: sample * classes ..< (sample + 1) * classes)
                // Descending score, ties to the lower class index (softmax outputs tie often at 1/256 steps).
                let best = scores.indices.sorted { (scores[$0], $1) > (scores[$1], $0) }.prefix(top)
                print(samples > 1 ? "sample \(sample):" : "top-\(top):")
                for index in best {
                    let name = names.indices.contains(index) ? " " + names[index] : ""
                    print("  \(String(format: "%8.4f", scores[index]))  \(String(index).leftPadded(to: 4))\(name)")
                }
            }
        }
        if !kept.isEmpty {
            FileHandle.standardError.write(Data("kept \(kept.count) tensor(s) in \(keepDir)\n".utf8))
        }
    }
}

/// An input `.npy` checked against a model input: N samples of the input's shape and dtype.
struct BatchedTensor {
    let array: NPYArray
    let samples: Int
    let sampleBytes: Int

    init(reading path: String, for tensor: TensorInfo) throws {
        let array = try NPYArray(contentsOf: path)
        guard let dtype = NPYDType(tensor.type) else {
            throw CLIError("model input '\(tensor.name)' has dtype \(tensor.type), which .npy input does not support")
        }
        guard array.dtype == dtype else {
            throw CLIError("\(path): \(NPYError.dtypeMismatch(expected: dtype, actual: array.dtype))")
        }
        // A model input [1, H, W, C] takes X of shape [N, H, W, C]; without a batch dimension, X is [N, ...shape].
        let sampleShape = tensor.shape.first == 1 ? Array(tensor.shape.dropFirst()) : tensor.shape
        guard array.shape.count == sampleShape.count + 1, Array(array.shape.dropFirst()) == sampleShape else {
            let expected = "N×" + sampleShape.map(String.init).joined(separator: "×")
            throw CLIError("\(path): \(NPYError.shapeMismatch(expected: expected, actual: array.shape))")
        }
        self.array = array
        samples = array.shape[0]
        sampleBytes = tensor.byteCount ?? 0
    }

    func sample(_ index: Int) -> ArraySlice<UInt8> {
        array.data[index * sampleBytes ..< (index + 1) * sampleBytes]
    }
}

extension NPYDType {
    /// The `.npy` dtype of a tensor type, if `.npy` exchange supports it.
    init?(_ type: TensorType) {
        switch type {
        case .int8: self = .int8
        case .uint8: self = .uint8
        case .int32: self = .int32
        case .float32: self = .float32
        default: return nil
        }
    }
}

/// Reads a labels file: one class name per line.
func readLabels(_ path: String) throws -> [String] {
    do {
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0) }
    } catch {
        throw ValidationError("cannot read labels '\(path)': \(error.localizedDescription)")
    }
}

/// Real values of a slice of raw tensor bytes (int8/uint8 through their quantization, float32 as is).
func dequantized(_ bytes: [UInt8], type: TensorType, quantization: Quantization?, range: Range<Int>) -> [Float] {
    let scale = quantization?.scale ?? 1
    let zeroPoint = Float(quantization?.zeroPoint ?? 0)
    switch type {
    case .int8:
        return range.map { scale * (Float(Int8(bitPattern: bytes[$0])) - zeroPoint) }
    case .uint8:
        return range.map { scale * (Float(bytes[$0]) - zeroPoint) }
    case .float32:
        return range.map { index in
            let offset = index * 4
            return Float(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8
                | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
        }
    default:
        return range.map { _ in .nan }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
