import Foundation
import NPY
import Testing

/// `edgecam explain` in the tensor form, run as a process on the shapes model.
@Suite struct ExplainCommandTests {
    /// The first dev images' classes: refs/shapes/data/dev/labels.i32 starts 0, 1, 2 (circle, square,
    /// triangle), and LiteRT's reference-kernel logits (output_ref.i8) have the same argmax.
    static let devClasses = [0, 1, 2]

    static let methods = ["activation", "cam", "gradcam", "gradcam++", "eigencam", "guided-backprop", "guided-gradcam", "occlusion"]

    @Test("every method writes N×96×96 float32 maps in [0, 1] and a box per input", arguments: methods)
    func writesMapsAndBoxes(method: String) throws {
        try CLIFixtures.withTemporaryDirectory { directory in
            let input = try CLIFixtures.shapesInputs(3, in: directory)
            let output = directory.appendingPathComponent("h.npy").path
            let boxes = directory.appendingPathComponent("b.json").path
            let result = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "--input", input, "--method", method,
                                                 "--output", output, "--boxes", boxes, "--threads", "2"])
            #expect(result.status == 0, "\(result.stderr)")
            let maps = try NPYArray(contentsOf: output)
            #expect(maps.dtype == .float32)
            #expect(maps.shape == [3, 96, 96])
            let values = maps.elements(as: Float.self)
            #expect(values.allSatisfy { $0 >= 0 && $0 <= 1 }, "values outside [0, 1]")
            // Each map is min-max scaled before upsampling: it spans nearly all of [0, 1]. (A 12x12 map's
            // extremes sit at cell centres, between the 96x96 pixel centres, so the upsampled max is a
            // blend: at least (15/16)^2 of the cell's value for an 8x upsampling.)
            for sample in 0..<3 {
                let map = values[sample * 96 * 96 ..< (sample + 1) * 96 * 96]
                #expect((map.max() ?? 0) > 0.87 && (map.min() ?? 1) < 0.13, "\(method) sample \(sample) does not span [0, 1]")
            }

            let records = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: boxes))) as? [[String: Any]])
            #expect(records.count == 3)
            for (sample, record) in records.enumerated() {
                #expect(record["index"] as? Int == sample)
                #expect(record["class"] as? Int == Self.devClasses[sample], "top-1 differs from LiteRT's argmax")
                #expect(record["score"] is Double)
                let box = try #require(record["box"] as? [Int])
                let peak = try #require(record["peak"] as? [Int])
                #expect(box.count == 4 && peak.count == 2)
                #expect(0 <= box[0] && box[0] <= box[2] && box[2] < 96 && 0 <= box[1] && box[1] <= box[3] && box[3] < 96)
                #expect((0..<96).contains(peak[0]) && (0..<96).contains(peak[1]))
                // The peak is the map's maximum, and it sits where the map is 1.
                let map = values[sample * 96 * 96 ..< (sample + 1) * 96 * 96]
                #expect(abs(map[map.startIndex + peak[1] * 96 + peak[0]] - (map.max() ?? 0)) < 1e-6)
            }
        }
    }

    @Test("Grad-CAM through the CLI matches the float reference Grad-CAM of the explained classes")
    func gradCAMMatchesTheReferenceToolkit() throws {
        try CLIFixtures.withTemporaryDirectory { directory in
            let count = 4
            let input = try CLIFixtures.shapesInputs(count, in: directory)
            // --target as a file: the true classes (labels.i32), as the reference maps use.
            let labels = try CLIFixtures.data("explain/shapes/labels.i32").prefix(4 * count)
            let classes = stride(from: 0, to: labels.count, by: 4).map { Int32(labels[labels.startIndex + $0]) }
            let target = directory.appendingPathComponent("t.npy").path
            try NPYArray(dtype: .int32, shape: [count], elements: classes).write(to: target)
            let output = directory.appendingPathComponent("h.npy").path
            let boxes = directory.appendingPathComponent("b.json").path
            let result = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "-i", input, "-m", "gradcam", "-o", output,
                                                 "--target", target, "--boxes", boxes])
            #expect(result.status == 0, "\(result.stderr)")
            let maps = try NPYArray(contentsOf: output).elements(as: Float.self)
            let records = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: boxes))) as? [[String: Any]])
            #expect(records.map { $0["class"] as? Int } == classes.map { Int($0) })

            // xplique's Grad-CAM on the float model at 12x12 (refs/shapes/heatmaps/.../gradcam_lowres.f32).
            // Our 96x96 map sampled at the centre of each 8x8 cell is within 1/16 cell of that cell's value.
            let reference = try CLIFixtures.floats("explain/shapes/gradcam_lowres.f32")
            var correlations: [Double] = []
            for sample in 0..<count {
                let ours = (0..<144).map { cell in maps[sample * 9216 + ((cell / 12) * 8 + 4) * 96 + (cell % 12) * 8 + 4] }
                correlations.append(CLIFixtures.pearson(ours, Array(reference[sample * 144 ..< (sample + 1) * 144])))
            }
            let mean = correlations.reduce(0, +) / Double(count)
            #expect(mean >= 0.95, "Pearson with the reference Grad-CAM: \(correlations)")
        }
    }

    @Test func anUnknownMethodIsAUsageError() throws {
        let result = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "--input", "x.npy", "--method", "gradkam",
                                             "--output", "h.npy"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("unknown method 'gradkam'"), "\(result.stderr)")
        #expect(result.stderr.contains("gradcam++"), "the message lists the methods: \(result.stderr)")
    }

    @Test func anUnknownLayerFailsWithTheReason() throws {
        try CLIFixtures.withTemporaryDirectory { directory in
            let input = try CLIFixtures.shapesInputs(1, in: directory)
            let output = directory.appendingPathComponent("h.npy").path
            let result = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "--input", input, "--method", "gradcam",
                                                 "--layer", "no_such_layer", "--output", output])
            #expect(result.status == 1)
            #expect(result.stderr.contains("--layer"), "\(result.stderr)")
            #expect(result.stderr.contains("no_such_layer"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))

            // A weight tensor is not a layer: the message says why and what to pick.
            let weights = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "--input", input, "--method", "gradcam",
                                                  "--layer", "1", "--output", output])
            #expect(weights.status == 1)
            #expect(weights.stderr.contains("cannot be explained"), "\(weights.stderr)")
        }
    }

    @Test func activationShowsOneChannelOfTheLayer() throws {
        try CLIFixtures.withTemporaryDirectory { directory in
            let input = try CLIFixtures.shapesInputs(1, in: directory)
            let mean = directory.appendingPathComponent("mean.npy").path
            let single = directory.appendingPathComponent("c3.npy").path
            let first = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "-i", input, "-m", "activation", "-o", mean])
            let second = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "-i", input, "-m", "activation",
                                                 "--channel", "3", "-o", single])
            #expect(first.status == 0 && second.status == 0, "\(first.stderr)\(second.stderr)")
            #expect(try NPYArray(contentsOf: mean).data != NPYArray(contentsOf: single).data)

            // refs/shapes/README.md: the CAM layer last_conv_relu has 64 channels (0...63).
            let outside = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "-i", input, "-m", "activation",
                                                  "--channel", "64", "-o", single])
            #expect(outside.status == 1)
            #expect(outside.stderr.contains("channel 64 does not exist: the layer has 64 channels"), "\(outside.stderr)")

            let misplaced = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "-i", input, "-m", "occlusion",
                                                    "--layer", "45", "-o", single])
            #expect(misplaced.status == 64)
            #expect(misplaced.stderr.contains("occlusion does not use a layer"), "\(misplaced.stderr)")
        }
    }

    @Test func aClassOutsideTheModelIsRefused() throws {
        try CLIFixtures.withTemporaryDirectory { directory in
            let input = try CLIFixtures.shapesInputs(1, in: directory)
            let result = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "--input", input, "--method", "cam",
                                                 "--target", "7", "--output", directory.appendingPathComponent("h.npy").path])
            #expect(result.status == 1)
            #expect(result.stderr.contains("target class 7 does not exist"), "\(result.stderr)")
        }
    }

    @Test func aTargetFileOfTheWrongLengthIsRefused() throws {
        try CLIFixtures.withTemporaryDirectory { directory in
            let input = try CLIFixtures.shapesInputs(2, in: directory)
            let target = directory.appendingPathComponent("t.npy").path
            try NPYArray(dtype: .int8, shape: [3], data: [0, 1, 2]).write(to: target)
            let result = try EdgeCAMCommand.run(["explain", CLIFixtures.shapesModel, "--input", input, "--method", "gradcam",
                                                 "--target", target, "--output", directory.appendingPathComponent("h.npy").path])
            #expect(result.status == 1)
            #expect(result.stderr.contains("holds 3 class indices but the input holds 2 samples"), "\(result.stderr)")
        }
    }
}
