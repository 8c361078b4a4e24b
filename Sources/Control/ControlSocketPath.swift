import Foundation

/// Where the control socket is, for the daemon and the CLI alike.
public enum ControlSocketPath {
    /// The socket under systemd with `RuntimeDirectory=edgecam`.
    public static let systemDefault = "/run/edgecam/control.sock"
    /// Environment variable that overrides the default (for users and tests).
    public static let environmentVariable = "EDGECAM_SOCKET"
    /// File name inside `$RUNTIME_DIRECTORY`.
    public static let fileName = "control.sock"

    /// The socket path, first match wins:
    /// 1. `explicit` — the `--socket` flag (or the daemon's config value);
    /// 2. `$EDGECAM_SOCKET`;
    /// 3. `$RUNTIME_DIRECTORY/control.sock` — systemd sets `RUNTIME_DIRECTORY` for the
    ///    daemon (if it lists several directories, separated by `:`, the first is used);
    /// 4. `/run/edgecam/control.sock`.
    ///
    /// Empty values count as unset.
    public static func resolve(explicit: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty { return fromEnvironment }
        if let runtime = environment["RUNTIME_DIRECTORY"],
           let first = runtime.split(separator: ":").first, !first.isEmpty {
            let directory = first.hasSuffix("/") ? String(first.dropLast()) : String(first)
            return directory + "/" + fileName
        }
        return systemDefault
    }
}
