import Foundation
import Testing
@testable import Inference

/// Whole models against LiteRT's reference kernels (BUILTIN_REF): outputs and every
/// intermediate tensor must be byte-identical.
@Suite struct ReferenceModelTests {
    static let photos = ["chelsea", "coffee", "astronaut", "camera", "synthetic_gradient"]
    /// Tensor indices of the imagenet model named in refs/imagenet/manifest.json.
    static let logitsTensor = 161, lastConvTensor = 159

    @Test("EfficientNet-Lite0 outputs, logits and last conv equal LiteRT's reference kernels", arguments: photos)
    func imagenetMatchesReference(photo: String) throws {
        let interpreter = try Interpreter(modelBytes: Fixtures.imagenetModel(),
                                          options: InterpreterOptions(keep: [Self.logitsTensor, Self.lastConvTensor]))
        try interpreter.setInput(bytes: Fixtures.data("refs/imagenet/\(photo)/input.i8"))
        interpreter.invoke()
        #expect(try interpreter.output() == Fixtures.data("refs/imagenet/\(photo)/output_ref.i8"))
        #expect(try interpreter.tensorBytes(Self.logitsTensor) == Fixtures.data("refs/imagenet/\(photo)/logits_ref.i8"))
        #expect(try interpreter.tensorBytes(Self.lastConvTensor) == Fixtures.data("refs/imagenet/\(photo)/last_conv_ref.i8"))
    }

    @Test("every intermediate tensor of EfficientNet-Lite0 on chelsea equals LiteRT's reference kernels")
    func imagenetIntermediatesMatchReference() throws {
        let model = try Model(bytes: Fixtures.imagenetModel())
        let activations = Set(model.operators.flatMap(\.outputs))
        let interpreter = try Interpreter(model: model, options: InterpreterOptions(keep: activations))
        try interpreter.setInput(bytes: Fixtures.data("refs/imagenet/chelsea/all_ref/t000.i8"))
        interpreter.invoke()
        try expectIntermediates(interpreter, directory: "refs/imagenet/chelsea/all_ref", count: 61)
    }

    @Test("shapes-a outputs equal LiteRT's reference kernels on all 200 dev images")
    func shapesMatchesReferenceOnDevSet() throws {
        let interpreter = try Interpreter(modelBytes: Fixtures.shapesModel())
        let inputs = try Fixtures.data("refs/shapes/dev/input.i8")
        let expected = try Fixtures.data("refs/shapes/dev/output_ref.i8")
        let sample = 96 * 96 * 3, classes = 5
        #expect(inputs.count == 200 * sample && expected.count == 200 * classes)
        var mismatches: [Int] = []
        for image in 0..<200 {
            try interpreter.setInput(bytes: inputs[image * sample ..< (image + 1) * sample])
            interpreter.invoke()
            if try interpreter.output() != Array(expected[image * classes ..< (image + 1) * classes]) {
                mismatches.append(image)
            }
        }
        #expect(mismatches.isEmpty, "images whose logits differ: \(mismatches)")
    }

    @Test("every intermediate tensor of shapes-a equals LiteRT's reference kernels", arguments: ["dev0", "dev3", "dev4"])
    func shapesIntermediatesMatchReference(image: String) throws {
        let model = try Model(bytes: Fixtures.shapesModel())
        let interpreter = try Interpreter(model: model, options: InterpreterOptions(keep: Set(model.operators.flatMap(\.outputs))))
        try interpreter.setInput(bytes: Fixtures.data("refs/shapes/intermediates/\(image)/t000.i8"))
        interpreter.invoke()
        try expectIntermediates(interpreter, directory: "refs/shapes/intermediates/\(image)", count: 16)
    }

    /// `output_floatio.f32` in the refs was made with LiteRT's optimized kernels (it equals the
    /// dequantized `output.i8` exactly), so the reference-kernel answer is `output_ref.i8`
    /// dequantized as TFLite's reference DEQUANTIZE does: `Float(Double(scale) * Double(q - zp))`.
    @Test("the float-I/O EfficientNet-Lite0 gives the reference output, dequantized", arguments: photos)
    func floatIOModelMatches(photo: String) throws {
        let interpreter = try Interpreter(modelBytes: Fixtures.data("refs/imagenet/efficientnet_lite0_int8_floatio.tflite"))
        #expect(interpreter.inputs[0].type == .float32 && interpreter.outputs[0].type == .float32)
        // refs README: float input = (pixel - 127) / 128, and the int8 input is q = pixel - 128.
        let int8Input = try Fixtures.data("refs/imagenet/\(photo)/input.i8")
        var floatInput: [UInt8] = []
        floatInput.reserveCapacity(int8Input.count * 4)
        for byte in int8Input {
            let pixel = Float(Int(Int8(bitPattern: byte)) + 128)
            withUnsafeBytes(of: ((pixel - 127) / 128).bitPattern.littleEndian) { floatInput += $0 }
        }
        try interpreter.setInput(bytes: floatInput)
        interpreter.invoke()
        let output = try interpreter.output()
        let reference = try Fixtures.data("refs/imagenet/\(photo)/output_ref.i8")
        var expected: [UInt8] = []
        for byte in reference {
            let real = Float(Double(1.0 / 256.0) * Double(Int(Int8(bitPattern: byte)) + 128))
            withUnsafeBytes(of: real.bitPattern.littleEndian) { expected += $0 }
        }
        #expect(output == expected)
        let optimized = try Fixtures.data("refs/imagenet/\(photo)/output_floatio.f32")
        let differing = stride(from: 0, to: min(output.count, optimized.count), by: 4)
            .filter { output[$0 ..< $0 + 4] != optimized[$0 ..< $0 + 4] }.count
        print("float-I/O \(photo): \(differing) of 1000 outputs differ from LiteRT's optimized kernels")
    }

    /// Compares every `tNNN.i8` file in `directory` with the kept tensor of the same index.
    private func expectIntermediates(_ interpreter: Interpreter, directory: String, count: Int) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.directory.appendingPathComponent(directory).path)
            .filter { $0.hasPrefix("t") && $0.hasSuffix(".i8") }
            .sorted()
        #expect(files.count >= count, "expected at least \(count) reference tensors in \(directory)")
        for file in files {
            guard let tensor = Int(file.dropFirst().dropLast(3)) else { continue }
            let expected = try Fixtures.data("\(directory)/\(file)")
            let actual = try interpreter.tensorBytes(tensor)
            let differing = zip(actual, expected).filter { $0 != $1 }.count
            #expect(actual == expected,
                    "tensor \(tensor) '\(interpreter.model.tensors[tensor].name)': \(differing) of \(expected.count) bytes differ")
        }
    }
}
