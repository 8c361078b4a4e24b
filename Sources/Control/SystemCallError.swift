import Glibc

/// A failed system call: the operation, what it acted on, and `errno`.
///
/// Kept small and internal; the public error types (`ControlServerError`,
/// `ControlClientError`) wrap it with a message a user can act on.
struct SystemCallError: Error, CustomStringConvertible, Equatable {
    /// The C function that failed, e.g. `"bind"`.
    var operation: String
    /// The `errno` value it set.
    var errno: Int32

    var description: String {
        "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
