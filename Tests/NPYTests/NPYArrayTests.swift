import Foundation
import Testing
@testable import NPY

/// `.npy` files written by NumPy (scripts/make-npy-fixtures.py) read back as NumPy wrote them.
@Suite struct NPYArrayTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/npy")

    func read(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name)))
    }

    @Test func readsInt8MatrixWrittenByNumPy() throws {
        let array = try NPYArray(bytes: read("int8_2x3.npy"))
        #expect(array.dtype == .int8)
        #expect(array.shape == [2, 3])
        #expect(array.elements(as: Int8.self) == [-3, -2, -1, 0, 1, 2])
    }

    @Test func readsUInt8Vector() throws {
        let array = try NPYArray(bytes: read("uint8_4.npy"))
        #expect(array.dtype == .uint8 && array.shape == [4])
        #expect(array.elements(as: UInt8.self) == [0, 1, 254, 255])
    }

    @Test func readsFormatVersion2() throws {
        let array = try NPYArray(bytes: read("float32_2x2_v2.npy"))
        #expect(array.dtype == .float32 && array.shape == [2, 2])
        #expect(array.elements(as: Float.self) == [0.5, -1.25, 3.0, 1e-3])
    }

    @Test func readsScalarAndEmptyArrays() throws {
        let scalar = try NPYArray(bytes: read("int32_scalar.npy"))
        #expect(scalar.shape == [] && scalar.elements(as: Int32.self) == [-7])
        let empty = try NPYArray(bytes: read("float32_empty.npy"))
        #expect(empty.shape == [0, 3] && empty.data.isEmpty)
    }

    @Test func writesTheSameBytesAsNumPy() throws {
        for name in ["int8_2x3.npy", "uint8_4.npy", "int32_scalar.npy", "float32_empty.npy"] {
            let original = try read(name)
            #expect(try NPYArray(bytes: original).serialized() == original, "\(name)")
        }
    }

    @Test func rejectsFortranOrder() throws {
        #expect(throws: NPYError.fortranOrder) { try NPYArray(bytes: read("float32_fortran.npy")) }
    }

    @Test func rejectsBigEndianAndUnsupportedDTypes() throws {
        #expect(throws: NPYError.unsupportedDType(">f4")) { try NPYArray(bytes: read("float32_bigendian.npy")) }
        #expect(throws: NPYError.unsupportedDType("<f8")) { try NPYArray(bytes: read("float64.npy")) }
    }

    @Test func rejectsTruncatedData() throws {
        #expect(throws: NPYError.truncated(expected: 6, actual: 4)) { try NPYArray(bytes: read("truncated.npy")) }
    }

    @Test func rejectsFilesThatAreNotNPY() {
        #expect(throws: NPYError.notNPY) { try NPYArray(bytes: Array("hello, world".utf8)) }
        #expect(throws: NPYError.notNPY) { try NPYArray(bytes: []) }
    }

    @Test func rejectsMalformedHeaders() throws {
        var bytes = try read("int8_2x3.npy")
        let key = Array("'shape'".utf8)
        let offset = try #require(bytes.indices.first { Array(bytes[$0..<min($0 + key.count, bytes.count)]) == key })
        bytes[offset + 1] = UInt8(ascii: "x")
        #expect(throws: NPYError.malformedHeader("unexpected key 'xhape'")) { try NPYArray(bytes: bytes) }
    }

    @Test func survivesEveryTruncationAndByteFlip() throws {
        let original = try read("float32_2x2_v2.npy")
        for length in 0..<original.count {
            _ = try? NPYArray(bytes: Array(original[..<length]))
        }
        for index in original.indices {
            for value: UInt8 in [0, 0x7F, 0xFF, UInt8(ascii: "9"), UInt8(ascii: ")")] {
                var mutated = original
                mutated[index] = value
                _ = try? NPYArray(bytes: mutated)
            }
        }
    }
}
