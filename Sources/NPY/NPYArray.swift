import Foundation

/// Element types this project exchanges through `.npy` files.
public enum NPYDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case int8 = "|i1"
    case uint8 = "|u1"
    case int32 = "<i4"
    case float32 = "<f4"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .int8, .uint8: return 1
        case .int32, .float32: return 4
        }
    }

    public var description: String {
        switch self {
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .int32: return "int32"
        case .float32: return "float32"
        }
    }

    /// Accepts the spellings NumPy writes (`|i1`, `<f4`) and the byte-order-free ones (`i1`, `f4`).
    init(descriptor: String) throws(NPYError) {
        switch descriptor {
        case "|i1", "<i1", "i1", "=i1": self = .int8
        case "|u1", "<u1", "u1", "=u1": self = .uint8
        case "<i4", "i4": self = .int32
        case "<f4", "f4": self = .float32
        default: throw NPYError.unsupportedDType(descriptor)
        }
    }
}

/// A C-ordered, little-endian NumPy array held as raw bytes.
///
/// Reads format versions 1.0, 2.0 and 3.0 and writes 1.0 (or 2.0 when the header needs it),
/// following numpy/lib/format.py. Only the dtypes of ``NPYDType`` are accepted.
public struct NPYArray: Sendable, Equatable {
    public var dtype: NPYDType
    public var shape: [Int]
    /// Element bytes, little-endian, C order.
    public var data: [UInt8]

    /// Largest header accepted; NumPy's own limit for safe loading is 10 000 bytes.
    static let maximumHeaderLength = 1 << 16

    public init(dtype: NPYDType, shape: [Int], data: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// Wraps typed elements (the array's byte image is copied).
    public init<T: BitwiseCopyable>(dtype: NPYDType, shape: [Int], elements: [T]) {
        precondition(MemoryLayout<T>.size == dtype.itemSize, "element type does not match \(dtype)")
        self.init(dtype: dtype, shape: shape, data: elements.withUnsafeBytes { Array($0) })
    }

    public var elementCount: Int { shape.reduce(1, *) }

    /// The elements reinterpreted as `T` (whose size must equal the dtype's item size).
    public func elements<T: BitwiseCopyable>(as type: T.Type) -> [T] {
        precondition(MemoryLayout<T>.size == dtype.itemSize, "element type does not match \(dtype)")
        return [T](unsafeUninitializedCapacity: elementCount) { buffer, count in
            data.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            count = elementCount
        }
    }

    /// Parses a whole `.npy` file.
    public init(bytes: [UInt8]) throws(NPYError) {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw NPYError.notNPY }
        let major = bytes[6], minor = bytes[7]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NPYError.truncated(expected: 12, actual: bytes.count) }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw NPYError.unsupportedVersion(major: major, minor: minor)
        }
        guard minor == 0 else { throw NPYError.unsupportedVersion(major: major, minor: minor) }
        guard headerLength <= Self.maximumHeaderLength else {
            throw NPYError.malformedHeader("header of \(headerLength) bytes is larger than \(Self.maximumHeaderLength)")
        }
        let dataStart = headerStart + headerLength
        guard dataStart <= bytes.count else { throw NPYError.truncated(expected: dataStart, actual: bytes.count) }
        // Version 3.0 only differs by allowing UTF-8 in the header.
        guard let header = String(validating: bytes[headerStart..<dataStart], as: UTF8.self) else {
            throw NPYError.malformedHeader("header is not valid text")
        }
        let fields = try NPYHeader(parsing: header)
        guard !fields.fortranOrder else { throw NPYError.fortranOrder }
        let dtype = try NPYDType(descriptor: fields.descriptor)
        var count = 1
        for dimension in fields.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw NPYError.malformedHeader("shape \(fields.shape) overflows") }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.itemSize)
        guard !overflow else { throw NPYError.malformedHeader("shape \(fields.shape) overflows") }
        let available = bytes.count - dataStart
        guard available >= byteCount else { throw NPYError.truncated(expected: byteCount, actual: available) }
        guard available == byteCount else {
            throw NPYError.malformedHeader("\(available - byteCount) bytes follow the array data")
        }
        self.init(dtype: dtype, shape: fields.shape, data: Array(bytes[dataStart...]))
    }

    /// The `.npy` file image: version 1.0, header padded so the data starts 64-byte aligned.
    public func serialized() -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        let prefixLength = 10
        let padding = (64 - (prefixLength + header.utf8.count + 1) % 64) % 64
        header += String(repeating: " ", count: padding) + "\n"
        let length = header.utf8.count
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
        bytes.reserveCapacity(prefixLength + length + data.count)
        bytes += Array(header.utf8)
        bytes += data
        return bytes
    }

    /// Reads and parses the file at `path`.
    public init(contentsOf path: String) throws(NPYError) {
        let bytes: [UInt8]
        do {
            bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw NPYError.io(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(bytes: bytes)
    }

    /// Writes the file atomically (a temporary file renamed into place).
    public func write(to path: String) throws(NPYError) {
        do {
            try Data(serialized()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw NPYError.io(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
