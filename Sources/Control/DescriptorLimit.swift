import Glibc

/// The process's open-file limit (`RLIMIT_NOFILE`).
///
/// systemd starts services with a soft limit of 1024 (and a much higher hard limit), which a
/// daemon allowed thousands of control clients would hit, starving its own database and
/// camera of descriptors. The server raises the soft limit, never past the hard one.
public enum DescriptorLimit {
    /// Descriptors kept for everything but control clients (database, WAL, camera, pipes…).
    public static let reserve = 256
    /// `RLIM_INFINITY` (all ones on Linux; the C macro does not import).
    private static let unlimited = rlim_t.max

    /// The current soft limit (`nil` if it cannot be read or is unlimited).
    public static var soft: Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != unlimited else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit to at least `needed` if the hard limit allows, else to the hard
    /// limit. Returns the soft limit in force afterwards (`nil` = unlimited or unknown).
    @discardableResult
    public static func raise(toAtLeast needed: Int) -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        guard limit.rlim_cur != unlimited else { return nil }
        let wanted = rlim_t(clamping: max(needed, 0))
        guard limit.rlim_cur < wanted else { return Int(clamping: limit.rlim_cur) }
        var raised = limit
        raised.rlim_cur = limit.rlim_max == unlimited ? wanted : min(wanted, limit.rlim_max)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 else { return Int(clamping: limit.rlim_cur) }
        return Int(clamping: raised.rlim_cur)
    }
}
