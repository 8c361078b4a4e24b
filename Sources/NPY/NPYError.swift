/// Why a `.npy` file could not be read or does not fit what was asked of it.
public enum NPYError: Error, CustomStringConvertible, Equatable, Sendable {
    case notNPY
    case truncated(expected: Int, actual: Int)
    case unsupportedVersion(major: UInt8, minor: UInt8)
    case malformedHeader(String)
    case unsupportedDType(String)
    case fortranOrder
    case dtypeMismatch(expected: NPYDType, actual: NPYDType)
    case shapeMismatch(expected: String, actual: [Int])
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .notNPY:
            return "not a NumPy .npy file (missing the \\x93NUMPY magic)"
        case let .truncated(expected, actual):
            return ".npy data is truncated: the header promises \(expected) bytes of data, the file has \(actual)"
        case let .unsupportedVersion(major, minor):
            return ".npy format version \(major).\(minor) is not supported (1.0, 2.0 and 3.0 are)"
        case let .malformedHeader(reason):
            return ".npy header is malformed: \(reason)"
        case let .unsupportedDType(descr):
            return ".npy dtype '\(descr)' is not supported; use little-endian int8 (i1), uint8 (u1), int32 (<i4) or float32 (<f4)"
        case .fortranOrder:
            return ".npy array is in Fortran order; save it C-contiguous (numpy.ascontiguousarray)"
        case let .dtypeMismatch(expected, actual):
            return ".npy array has dtype \(actual) but \(expected) is needed"
        case let .shapeMismatch(expected, actual):
            return ".npy array has shape \(actual) but \(expected) is needed"
        case let .io(path, reason):
            return "\(path): \(reason)"
        }
    }
}
