import Foundation
import NPY
import Testing

/// `edgecam inspect` and `edgecam infer`, run as processes on the bundled model.
@Suite struct InspectAndInferTests {
    static let model = "demo/efficientnet_lite0_int8.tflite"

    @Test func inspectReportsTheModelAsLiteRTDescribesIt() throws {
        let result = try EdgeCAMCommand.run(["inspect", Self.model, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        // refs/imagenet/README.md: 385,187,552 MACs, 61 ops, input int8 [1,224,224,3] s=1/128 zp=-1.
        #expect(report["total_macs"] as? Int == 385_187_552)
        #expect((report["operators"] as? [Any])?.count == 61)
        let input = try #require((report["inputs"] as? [[String: Any]])?.first)
        #expect(input["dtype"] as? String == "int8")
        #expect(input["shape"] as? [Int] == [1, 224, 224, 3])
        #expect(input["scales"] as? [Double] == [0.0078125])
        #expect(input["zeroPoints"] as? [Int] == [-1])
        // The CAM layer is the last conv (tensor 159, 7x7x1280) read by MEAN.
        let cam = try #require((report["cam_layers"] as? [[String: Any]])?.first)
        #expect(cam["tensor"] as? Int == 159)
        #expect(cam["shape"] as? [Int] == [1, 7, 7, 1280])
        #expect((report["arena_bytes"] as? Int ?? 0) < (report["arena_bytes_without_reuse"] as? Int ?? 0))
    }

    @Test func inspectPrintsReadableText() throws {
        let result = try EdgeCAMCommand.run(["inspect", Self.model])
        #expect(result.status == 0)
        #expect(result.stdout.contains("#0   CONV_2D"))
        #expect(result.stdout.contains("padding=SAME stride=2x2 dilation=1x1 activation=RELU6"))
        #expect(result.stdout.contains("total MACs: 385187552 (385.2 M)"))
    }

    @Test func inferWritesLiteRTReferenceOutputsAndKeptTensors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgecam-infer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Two photos in one batch: chelsea and coffee, as LiteRT's inputs.
        let root = EdgeCAMCommand.projectRoot.appendingPathComponent("Tests/Fixtures/refs/imagenet")
        let photos = ["chelsea", "coffee"]
        let inputs = try photos.flatMap { try [UInt8](Data(contentsOf: root.appendingPathComponent("\($0)/input.i8"))) }
        let inputPath = directory.appendingPathComponent("x.npy").path
        try NPYArray(dtype: .int8, shape: [2, 224, 224, 3], data: inputs).write(to: inputPath)
        let outputPath = directory.appendingPathComponent("y.npy").path

        let result = try EdgeCAMCommand.run(["infer", Self.model, "--input", inputPath, "--output", outputPath,
                                             "--keep", "159", "--keep-dir", directory.path, "--top", "1", "--threads", "2",
                                             "--labels", "demo/imagenet_labels.txt"])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try NPYArray(contentsOf: outputPath)
        #expect(output.dtype == .int8 && output.shape == [2, 1000])
        let expected = try photos.flatMap { try [UInt8](Data(contentsOf: root.appendingPathComponent("\($0)/output_ref.i8"))) }
        #expect(output.data == expected)
        let kept = try NPYArray(contentsOf: directory.appendingPathComponent("t159.npy").path)
        #expect(kept.shape == [2, 7, 7, 1280])
        let lastConv = try photos.flatMap { try [UInt8](Data(contentsOf: root.appendingPathComponent("\($0)/last_conv_ref.i8"))) }
        #expect(kept.data == lastConv)
        // refs README: chelsea's top-1 is tiger cat (0.414), coffee's espresso (0.949).
        #expect(result.stdout.contains("tiger cat"))
        #expect(result.stdout.contains("espresso"))
    }

    @Test func inferExplainsAWrongInputShape() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgecam-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputPath = directory.appendingPathComponent("x.npy").path
        try NPYArray(dtype: .int8, shape: [1, 10, 10, 3], data: [UInt8](repeating: 0, count: 300)).write(to: inputPath)
        let result = try EdgeCAMCommand.run(["infer", Self.model, "--input", inputPath, "--output",
                                             directory.appendingPathComponent("y.npy").path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("shape [1, 10, 10, 3] but N×224×224×3 is needed"), "\(result.stderr)")
    }

    @Test func loadingACorruptModelFailsWithAReason() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgecam-corrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("broken.tflite").path
        let bytes = try [UInt8](Data(contentsOf: EdgeCAMCommand.projectRoot.appendingPathComponent(Self.model)))
        try Data(bytes.prefix(4096)).write(to: URL(fileURLWithPath: path))
        let result = try EdgeCAMCommand.run(["inspect", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("broken.tflite"), "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"))
    }
}
