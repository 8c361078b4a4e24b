import Foundation
import Testing
@testable import Inference

/// Every operator of the two reference models, run alone on LiteRT's reference-kernel
/// inputs, must reproduce LiteRT's reference-kernel output byte for byte.
@Suite struct ReferenceOperatorIntermediateTests {
    struct Mismatch: CustomStringConvertible {
        var op: Int, name: String, tensor: Int, differing: Int, maxAbsDiff: Int
        var description: String { "op #\(op) \(name) → t\(tensor): \(differing) bytes differ (max |diff| \(maxAbsDiff))" }
    }

    /// Runs each op of `model` on `directory/tNNN.i8` inputs and compares with its outputs' files.
    static func mismatches(model: Model, directory: URL) throws -> (checked: [String: Int], mismatches: [Mismatch]) {
        let harness = OperatorHarness(model: model)
        var checked: [String: Int] = [:]
        var mismatches: [Mismatch] = []
        func file(_ tensor: Int) -> URL { directory.appendingPathComponent(String(format: "t%03d.i8", tensor)) }
        for op in model.operators {
            let prepared = try makePreparedOperator(op, in: model)
            for input in op.inputs where input >= 0 && !model.tensors[input].isConstant {
                harness.set(input, try [UInt8](Data(contentsOf: file(input))))
            }
            harness.run(prepared)
            for output in op.outputs {
                let expected = try [UInt8](Data(contentsOf: file(output)))
                let actual = harness.bytes(output)
                #expect(actual.count == expected.count)
                let diffs = zip(actual, expected).map { abs(Int(Int8(bitPattern: $0)) - Int(Int8(bitPattern: $1))) }
                let differing = diffs.filter { $0 != 0 }.count
                if differing > 0 || actual.count != expected.count {
                    mismatches.append(Mismatch(op: op.index, name: op.name, tensor: output, differing: differing,
                                               maxAbsDiff: diffs.max() ?? 0))
                }
            }
            checked[op.name, default: 0] += 1
        }
        return (checked, mismatches)
    }

    @Test("each EfficientNet-Lite0 op on chelsea reproduces LiteRT's reference output alone")
    func imagenetOpsMatchReferenceIntermediates() throws {
        let model = try Model(bytes: Fixtures.imagenetModel())
        let directory = Fixtures.directory.appendingPathComponent("refs/imagenet/chelsea/all_ref")
        let (checked, mismatches) = try Self.mismatches(model: model, directory: directory)
        #expect(checked == ["CONV_2D": 33, "DEPTHWISE_CONV_2D": 16, "ADD": 9, "MEAN": 1, "FULLY_CONNECTED": 1, "SOFTMAX": 1])
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test("each shapes-a op reproduces LiteRT's reference output alone", arguments: ["dev0", "dev3", "dev4"])
    func shapesOpsMatchReferenceIntermediates(image: String) throws {
        let model = try Model(bytes: Fixtures.shapesModel())
        let directory = Fixtures.directory.appendingPathComponent("refs/shapes/intermediates/\(image)")
        let (checked, mismatches) = try Self.mismatches(model: model, directory: directory)
        #expect(checked == ["CONV_2D": 8, "DEPTHWISE_CONV_2D": 6, "MEAN": 1, "FULLY_CONNECTED": 1])
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test("EfficientNet-Lite0 counts 385187552 multiply-accumulates in CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED")
    func imagenetMultiplyAccumulates() throws {
        let model = try Model(bytes: Fixtures.imagenetModel())
        var total = 0
        var perOp: [String: Int] = [:]
        for op in model.operators {
            let macs = try makePreparedOperator(op, in: model).multiplyAccumulates
            total += macs
            perOp[op.name, default: 0] += macs
        }
        // refs/imagenet/ops.txt (LiteRT-side count).
        #expect(total == 385_187_552)
        #expect(perOp["CONV_2D"] == 349_375_488 && perOp["DEPTHWISE_CONV_2D"] == 34_532_064
            && perOp["FULLY_CONNECTED"] == 1_280_000)
    }
}
