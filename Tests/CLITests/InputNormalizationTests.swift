@testable import EdgeCAMCLI
import Imaging
import Inference
import Testing

/// The photo form's default pixel mapping against the refs' documented preprocessing.
@Suite struct InputNormalizationTests {
    /// Quantizes every pixel value 0...255 (all three channels alike) for an input tensor.
    func quantized(type: TensorType, scale: Float, zeroPoint: Int64, _ normalization: InputNormalization) throws -> [Int] {
        let info = TensorInfo(index: 0, name: "input", type: type, shape: [1, 1, 256, 3],
                              quantization: Quantization(scales: [scale], zeroPoints: [zeroPoint]),
                              constantBytes: nil, isVariable: false)
        let pixels = (0..<256).flatMap { [UInt8($0), UInt8($0), UInt8($0)] }
        let image = try RGBImage(width: 256, height: 1, bytes: pixels)
        let quantizer = try ModelInputQuantizer(type: type == .int8 ? .int8 : .uint8,
                                                normalization: try normalization.pixelNormalization(for: info),
                                                scale: scale, zeroPoint: Int32(zeroPoint))
        switch quantizer(image) {
        case let .int8(values): return stride(from: 0, to: values.count, by: 3).map { Int(values[$0]) }
        case let .uint8(values): return stride(from: 0, to: values.count, by: 3).map { Int(values[$0]) }
        case .float32: return []
        }
    }

    @Test("auto gives q = pixel - 128 on both refs models (README: EfficientNet-Lite0 s=1/128 zp=-1, shapes-a s=1/255 zp=-128)")
    func autoMatchesTheRefsRecipe() throws {
        let expected = (0..<256).map { $0 - 128 }
        #expect(try quantized(type: .int8, scale: 0.0078125, zeroPoint: -1, .auto) == expected)
        #expect(try quantized(type: .int8, scale: 1 / 255, zeroPoint: -128, .auto) == expected)
        #expect(try quantized(type: .uint8, scale: 1 / 255, zeroPoint: 0, .auto) == Array(0..<256))
    }

    @Test func symmetricIsNotTheSameAsTheRefsRecipe() throws {
        // (p - 127.5) / 127.5 is off by one below mid-grey on EfficientNet-Lite0's input quantization,
        // which is why the default is tensor-range.
        let symmetric = try quantized(type: .int8, scale: 0.0078125, zeroPoint: -1, .symmetric)
        #expect(symmetric[127] == -2 && symmetric[128] == 0)
    }
}
