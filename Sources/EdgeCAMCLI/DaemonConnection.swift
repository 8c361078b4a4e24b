import ArgumentParser
import Control
import Foundation

/// `--socket PATH`, shared by every command that talks to edgecamd.
struct SocketOption: ParsableArguments {
    @Option(help: "edgecamd's control socket (default: $EDGECAM_SOCKET, $RUNTIME_DIRECTORY/control.sock, /run/edgecam/control.sock).")
    var socket: String?

    var path: String { ControlSocketPath.resolve(explicit: socket) }

    /// Connects, runs `body`, and turns client errors into a message on stderr and the
    /// `ControlClientError.exitCode` that scripts can test.
    func withClient<T>(timeout: Duration = .seconds(30), _ body: (ControlClient) throws(ControlClientError) -> T) throws -> T {
        do {
            let client = try ControlClient(socketPath: path, timeout: timeout)
            defer { client.close() }
            return try body(client)
        } catch {
            FileHandle.standardError.write(Data("edgecam: \(error.description)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}

/// Writes `data` to `path`, as a CLI error when it cannot.
func writeFile(_ data: Data, to path: String) throws {
    do {
        try data.write(to: URL(fileURLWithPath: path))
    } catch {
        throw CLIError("cannot write \(path): \(error.localizedDescription)")
    }
}

/// Decodes a base64 field of a reply.
func base64Field(_ value: JSONValue?, _ name: String) throws -> Data {
    guard let text = value?.stringValue, let data = Data(base64Encoded: text) else {
        throw CLIError("edgecamd's reply has no valid '\(name)'")
    }
    return data
}

/// Unix ms → local "YYYY-MM-DD HH:MM:SS.mmm".
func formatTime(_ milliseconds: Double) -> String {
    let formatter = DateFormatter()
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
    return formatter.string(from: Date(timeIntervalSince1970: milliseconds / 1000))
}

/// A time flag: Unix ms, an ISO 8601 date, or a duration back from now (`30s`, `15m`, `2h`, `7d`).
func parseTime(_ text: String, now: Date = Date()) throws -> Int64 {
    if let ms = Int64(text) { return ms }
    if let unit = text.last, let amount = Double(text.dropLast()), amount >= 0 {
        let seconds: Double? = switch unit {
        case "s": amount
        case "m": amount * 60
        case "h": amount * 3600
        case "d": amount * 86400
        default: nil
        }
        if let seconds { return Int64((now.timeIntervalSince1970 - seconds) * 1000) }
    }
    if let date = ISO8601DateFormatter().date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
    throw ValidationError("'\(text)' is not a time: use Unix milliseconds, an ISO 8601 date or an age like 30s, 15m, 2h, 7d")
}
