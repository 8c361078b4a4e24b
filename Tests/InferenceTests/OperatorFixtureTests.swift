import Foundation
import Testing
@testable import Inference

/// Single-op models made by TensorFlow and run by LiteRT's reference kernels
/// (`Tests/Fixtures/ops`, see its README): every case must load, and every output of
/// every sample must be byte-identical to LiteRT's.
@Suite struct OperatorFixtureTests {
    struct Manifest: Decodable {
        struct Case: Decodable, CustomTestStringConvertible {
            struct Tensor: Decodable {
                var tensorIndex: Int
                var dtype: String
                var shape: [Int]
            }
            struct Input: Decodable {
                var tensorIndex: Int
                var files: [String]
            }
            struct Output: Decodable {
                /// Outputs of LiteRT's reference kernels, optimized built-in kernels and XNNPACK (when it took the model).
                struct Files: Decodable { var ref: [String]; var builtin: [String]?; var xnnpack: [String]? }
                var tensorIndex: Int
                var dtype: String
                var files: Files
            }
            var name: String
            var op: String
            var dir: String
            var model: String
            var samples: Int
            var inputs: [Input]
            var outputs: [Output]

            var testDescription: String { name }
        }
        var cases: [Case]
    }

    static let directory = Fixtures.directory.appendingPathComponent("ops")

    static let cases: [Manifest.Case] = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("manifest.json")),
              let manifest = try? decoder.decode(Manifest.self, from: data) else { return [] }
        return manifest.cases
    }()

    @Test("the fixture manifest lists the cases")
    func manifestIsReadable() {
        #expect(Self.cases.count >= 90)
        let ops = Set(Self.cases.map(\.op))
        for op in ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "AVERAGE_POOL_2D",
                   "MAX_POOL_2D", "MEAN", "PAD", "PADV2", "RESHAPE", "SQUEEZE", "CONCATENATION", "SOFTMAX",
                   "LOGISTIC", "HARD_SWISH", "RELU", "RELU6", "RELU_N1_TO_1", "QUANTIZE", "DEQUANTIZE"] {
            #expect(ops.contains(op), "no fixture for \(op)")
        }
    }

    @Test("each single-op model reproduces LiteRT's reference kernels byte for byte", arguments: cases)
    func caseMatchesReference(_ fixture: Manifest.Case) throws {
        let caseDirectory = Self.directory.appendingPathComponent(fixture.dir)
        let model = try Model(bytes: [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(fixture.model))))
        let interpreter = try Interpreter(model: model)
        for sample in 0..<fixture.samples {
            try Self.run(fixture, sample: sample, on: interpreter)
            for output in fixture.outputs {
                let position = try #require(model.outputs.firstIndex(of: output.tensorIndex))
                let expected = try [UInt8](Data(contentsOf: caseDirectory.appendingPathComponent(output.files.ref[sample])))
                let actual = try interpreter.output(position)
                let differing = zip(actual, expected).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
                #expect(actual.count == expected.count && differing.isEmpty,
                        "sample \(sample), output t\(output.tensorIndex): \(differing.count) of \(expected.count) bytes differ, first at \(differing.prefix(5))")
            }
        }
    }

    /// Sets the inputs of one sample of `fixture` and invokes the interpreter.
    static func run(_ fixture: Manifest.Case, sample: Int, on interpreter: Interpreter) throws {
        let caseDirectory = directory.appendingPathComponent(fixture.dir)
        for input in fixture.inputs {
            let position = try #require(interpreter.model.inputs.firstIndex(of: input.tensorIndex))
            try interpreter.setInput(position, bytes: Data(contentsOf: caseDirectory.appendingPathComponent(input.files[sample])))
        }
        interpreter.invoke()
    }
}
