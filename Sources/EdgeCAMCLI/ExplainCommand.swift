import ArgumentParser
import Explain
import Foundation
import Imaging
import Inference
import NPY

/// `edgecam explain MODEL.tflite --input X.npy --method M --output H.npy …` (tensor form),
/// `edgecam explain MODEL.tflite photo.jpg --method M -o overlay.jpg …` (photo form), and
/// `edgecam explain --live [PHOTO.jpg] --method M -o overlay.jpg` (asks the running edgecamd).
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show where an int8 model looks: heatmaps for .npy inputs, or an overlay on a JPEG photo.",
        discussion: """
        Tensor form: X.npy holds N model inputs (as for `edgecam infer`); H.npy gets float32 N×H×W \
        maps at the model input size, each min-max scaled to [0, 1] (a constant map is all zeros).
        Photo form: the JPEG is centre-cropped (side int(224/256·min(h, w)) by default), resized to \
        the model input, quantized (--normalization), explained, and the map is blended over the crop.
        Live form (--live): edgecamd explains its latest frame (or a JPEG path it can read) with its \
        own model and writes the overlay; --target takes a class index or label there.
        Methods: \(ExplanationMethod.allCases.map(\.rawValue).joined(separator: ", ")).
        Exit status: 0 done, 1 the model, input, layer or class does not fit, 64 bad usage.
        """
    )

    @Argument(help: "The .tflite model file (with --live: an optional JPEG path edgecamd reads instead of its latest frame).")
    var model: String?

    @Argument(help: "A JPEG photo (photo form). Omit it and give --input for the tensor form.")
    var photo: String?

    @Option(name: .shortAndLong, help: "N model inputs as .npy (tensor form).")
    var input: String?

    @Flag(help: "Ask the running edgecamd to explain its latest frame; writes the overlay JPEG to --output.")
    var live = false

    @OptionGroup var connection: SocketOption

    @Option(name: .shortAndLong, help: "The method: \(ExplanationMethod.allCases.map(\.rawValue).joined(separator: "|")).")
    var method: String

    @Option(name: .shortAndLong, help: "H.npy (tensor form) or the overlay JPEG (photo form).")
    var output: String

    @Option(help: "The layer of activation/cam/gradcam/gradcam++/eigencam/guided-gradcam: a tensor name or index (default: the last layer with spatial extent before global pooling).")
    var layer: String?

    @Option(help: "The class explained: top1, a class index, or T.npy with one index per input (int32/int8/uint8).")
    var target: String = "top1"

    @Option(help: "activation: show this channel instead of the channel mean.")
    var channel: Int?

    @Option(help: "Write each input's box, peak, class and score to this JSON file.")
    var boxes: String?

    @Option(help: "Weak-localization threshold as a fraction of the map's maximum.")
    var boxThreshold: Float = 0.2

    @Option(help: "Threads (default: the online CPUs).")
    var threads: Int?

    @Option(help: "occlusion: patch side in input pixels (default: round(min(H, W) / 6)).")
    var patch: Int?

    @Option(help: "occlusion: patch stride (default: half the patch).")
    var stride: Int?

    @Option(help: "occlusion: the quantized value written into occluded pixels (0 is mid-grey when q = pixel - 128).")
    var fill: Int = 0

    @Option(help: "Class names, one per line (index 0 first).")
    var labels: String?

    @Option(help: "Photo form: jet|turbo|inferno|viridis.")
    var colormap: String = "jet"

    @Option(help: "Photo form: weight of the heatmap colour in the overlay, 0...1.")
    var alpha: Float = 0.4

    @Flag(help: "Photo form: draw the weak-localization box.")
    var box = false

    @Option(help: "Photo form: how pixels map to model values; auto = tensor-range (q = pixel - 128 for int8, q = pixel for uint8) or unit (pixel / 255) for float32 inputs.")
    var normalization: InputNormalization = .auto

    @Option(help: "Photo form: side of the centre crop as a fraction of the shorter side (ImageNet: 0.875 = 224/256; 1 = no crop).")
    var cropFraction: Double = 224.0 / 256.0

    @Option(help: "Photo form: JPEG quality of the overlay, 1...100.")
    var quality: Int = 90

    func validate() throws {
        guard let explanationMethod = ExplanationMethod(rawValue: method) else {
            throw ValidationError("unknown method '\(method)'; choose one of \(ExplanationMethod.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if layer != nil && !explanationMethod.usesLayer { throw ValidationError("\(method) does not use a layer; drop --layer") }
        if channel != nil && explanationMethod != .activation { throw ValidationError("--channel only applies to the activation method") }
        if live {
            guard photo == nil, input == nil, boxes == nil else {
                throw ValidationError("--live explains edgecamd's frame: give at most one JPEG path, and no --input or --boxes")
            }
            return
        }
        guard model != nil else { throw ValidationError("give the .tflite model (or --live to ask edgecamd)") }
        switch (photo, input) {
        case (nil, nil): throw ValidationError("give a JPEG photo after the model, or --input X.npy")
        case (.some, .some): throw ValidationError("give either a photo or --input X.npy, not both")
        default: break
        }
        guard Colormap(rawValue: colormap) != nil else {
            throw ValidationError("unknown colormap '\(colormap)'; choose one of \(Colormap.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (0...1).contains(alpha) else { throw ValidationError("--alpha \(alpha) is not in 0...1") }
        guard (0...1).contains(boxThreshold) else { throw ValidationError("--box-threshold \(boxThreshold) is not in 0...1") }
        guard cropFraction > 0, cropFraction <= 1 else { throw ValidationError("--crop-fraction \(cropFraction) is not in (0, 1]") }
        guard (1...100).contains(quality) else { throw ValidationError("--quality \(quality) is not in 1...100") }
        if let threads, threads < 1 { throw ValidationError("--threads needs at least 1") }
        if let channel, channel < 0 { throw ValidationError("--channel \(channel) is negative") }
        if let patch, patch < 1 { throw ValidationError("--patch needs at least 1 pixel") }
        if let stride, stride < 1 { throw ValidationError("--stride needs at least 1 pixel") }
        guard (-128...127).contains(fill) else { throw ValidationError("--fill \(fill) is not an int8 value (-128...127)") }
        if photo == nil && box { throw ValidationError("--box draws on the photo overlay; the tensor form writes boxes with --boxes B.json") }
    }

    func run() throws {
        guard let method = ExplanationMethod(rawValue: method), let colormap = Colormap(rawValue: colormap) else { return }
        if live { return try explainLive(method: method) }
        guard let modelPath = model else { return }
        let model = try loadModel(at: modelPath)
        guard model.inputs.count == 1, let inputTensor = model.inputs.first else {
            throw CLIError("\(modelPath): explanations need a model with one input; this one has \(model.inputs.count)")
        }
        let explainer: Explainer
        do {
            explainer = try Explainer(model: model, interpreterOptions: InterpreterOptions(threads: threads ?? WorkerPool.onlineProcessors))
        } catch {
            throw CLIError("\(modelPath): \(error)")
        }
        let layerSelection = layer.map(LayerSelection.named) ?? .automatic
        if method.usesLayer {
            // Check the layer before any work, so a typo fails at once with the reason.
            do { _ = try explainer.layerTensor(layerSelection) } catch { throw CLIError("--layer: \(error)") }
        }
        let classTarget = try ClassTarget(parsing: target)
        let names = try labels.map(readLabels) ?? []
        let options = ExplanationOptions(channel: channel,
                                         occlusion: OcclusionOptions(patch: patch, stride: stride, fill: Int8(fill)))

        func explain(_ bytes: some Collection<UInt8>, target: ExplanationTarget) throws -> Explanation {
            do {
                return try explainer.explain(input: bytes, method: method, target: target, layer: layerSelection, options: options)
            } catch {
                throw CLIError("\(modelPath): \(error)")
            }
        }

        var records: [ExplanationRecord] = []
        if let photo {
            let prepared = try PhotoInput(photo: photo, input: model.tensors[inputTensor], normalization: normalization,
                                          cropFraction: cropFraction)
            let explanation = try explain(prepared.tensor, target: try classTarget.target(for: 0, of: 1))
            let crop = prepared.crop, rect = prepared.cropRect
            let map = explanation.map(width: crop.width, height: crop.height)
            let record = ExplanationRecord(index: 0, explanation: explanation, map: map, threshold: boxThreshold, labels: names,
                                           crop: [rect.x, rect.y, rect.width, rect.height])
            do {
                var overlay = try crop.overlay(heatmap: map.values, width: map.width, height: map.height,
                                               colormap: colormap, alpha: alpha)
                if box, let b = record.box {
                    overlay.drawBox(PixelRect(x0: b[0], y0: b[1], x1: b[2], y1: b[3]), color: .green,
                                    lineWidth: max(2, min(crop.width, crop.height) / 112))
                }
                try Data(try overlay.jpegData(quality: quality)).write(to: URL(fileURLWithPath: output))
            } catch let error as ImageError {
                throw CLIError("overlay: \(error)")
            } catch let error as JPEGError {
                throw CLIError("overlay: \(error)")
            } catch {
                throw CLIError("cannot write '\(output)': \(error.localizedDescription)")
            }
            print(record.summary)
            print("wrote \(output): \(crop.width)x\(crop.height) overlay of the crop \(rect) of \(photo); box and peak in overlay pixels")
            records.append(record)
        } else if let input {
            let batch = try BatchedTensor(reading: input, for: model.tensors[inputTensor])
            let shape = model.tensors[inputTensor].shape
            let height = shape.count == 4 ? shape[1] : 0, width = shape.count == 4 ? shape[2] : 0
            var maps = [Float]()
            maps.reserveCapacity(batch.samples * height * width)
            for sample in 0..<batch.samples {
                let explanation = try explain(batch.sample(sample), target: try classTarget.target(for: sample, of: batch.samples))
                let map = explanation.inputMap
                maps += map.values
                let record = ExplanationRecord(index: sample, explanation: explanation, map: map, threshold: boxThreshold, labels: names)
                print("sample \(sample): \(record.summary)")
                records.append(record)
            }
            do {
                try NPYArray(dtype: .float32, shape: [batch.samples, height, width], elements: maps).write(to: output)
            } catch {
                throw CLIError("\(error)")
            }
        }
        if let boxes {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            do {
                try encoder.encode(records).write(to: URL(fileURLWithPath: boxes))
            } catch {
                throw CLIError("cannot write '\(boxes)': \(error.localizedDescription)")
            }
        }
    }
}

extension ExplanationMethod {
    /// Whether the method reads a layer chosen with `--layer`.
    var usesLayer: Bool {
        switch self {
        case .activation, .cam, .gradcam, .gradcamPlusPlus, .eigencam, .guidedGradcam: return true
        case .guidedBackprop, .occlusion: return false
        }
    }
}
