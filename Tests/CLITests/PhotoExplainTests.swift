import Foundation
import Imaging
import Testing

/// `edgecam explain MODEL photo.jpg -o overlay.jpg`, end to end on the bundled ImageNet model.
@Suite struct PhotoExplainTests {
    static let model = "demo/efficientnet_lite0_int8.tflite"

    /// The cat's face in the refs' 224x224 chelsea image, drawn by hand (same box as
    /// Tests/ExplainTests/ImageNetReferenceTests.swift): x 16...200, y 32...223.
    static let catFace = (x: 16...200, y: 32...223)

    @Test("Grad-CAM overlay of chelsea.jpg: written at the crop size, decodes, peak on the cat")
    func gradCAMOverlayPointsAtTheCat() throws {
        try CLIFixtures.withTemporaryDirectory { directory in
            let overlay = directory.appendingPathComponent("overlay.jpg").path
            let boxes = directory.appendingPathComponent("b.json").path
            let result = try EdgeCAMCommand.run(["explain", Self.model, CLIFixtures.path("cli/chelsea.jpg"), "--method", "gradcam",
                                                 "-o", overlay, "--labels", "demo/imagenet_labels.txt", "--box",
                                                 "--boxes", boxes, "--colormap", "turbo", "--alpha", "0.5"])
            #expect(result.status == 0, "\(result.stderr)")
            // refs/imagenet/README.md: chelsea's int8 top-1 is tiger cat (class 282).
            #expect(result.stdout.contains("class 282 'tiger cat'"), "\(result.stdout)")

            // The default crop of a 224x224 photo: side int(224/256 * 224) = 196 at (14, 14).
            let image = try RGBImage(jpeg: try [UInt8](Data(contentsOf: URL(fileURLWithPath: overlay))))
            #expect(image.width == 196 && image.height == 196)
            let records = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: boxes))) as? [[String: Any]])
            let record = try #require(records.first)
            #expect(record["class"] as? Int == 282)
            #expect(record["label"] as? String == "tiger cat")
            #expect(record["crop"] as? [Int] == [14, 14, 196, 196])
            let peak = try #require(record["peak"] as? [Int])
            #expect(Self.catFace.x.contains(peak[0] + 14) && Self.catFace.y.contains(peak[1] + 14), "peak \(peak) in the crop")
            // The box is drawn in green on its top-left corner.
            let box = try #require(record["box"] as? [Int])
            let corner = try #require(image.pixel(x: box[0], y: box[1]))
            #expect(corner.g > 180 && corner.r < 90 && corner.b < 90, "box corner \(corner)")
        }
    }

    @Test func aPNGPhotoIsRefusedWithAHint() throws {
        try CLIFixtures.withTemporaryDirectory { directory in
            let png = directory.appendingPathComponent("photo.png")
            try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]).write(to: png)
            let result = try EdgeCAMCommand.run(["explain", Self.model, png.path, "--method", "gradcam",
                                                 "-o", directory.appendingPathComponent("o.jpg").path])
            #expect(result.status == 1)
            #expect(result.stderr.contains("is a PNG file: only JPEG photos are supported"), "\(result.stderr)")
        }
    }

    @Test func aPhotoAndAnInputTogetherAreAUsageError() throws {
        let result = try EdgeCAMCommand.run(["explain", Self.model, CLIFixtures.path("cli/chelsea.jpg"), "--input", "x.npy",
                                             "--method", "gradcam", "-o", "o.jpg"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("not both"), "\(result.stderr)")
    }
}
