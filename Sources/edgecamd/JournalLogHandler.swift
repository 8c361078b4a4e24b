import Foundation
import Locking
import Logging

/// swift-log handler writing one line per message to stderr.
///
/// Under systemd (stderr connected to the journal, `$JOURNAL_STREAM` set) lines carry the
/// sd-daemon priority prefix (`<6>message`) and no timestamp: journald adds its own and maps
/// the prefix to the entry's priority. Elsewhere lines read `2026-11-26T20:00:00Z info: message`.
struct JournalLogHandler: LogHandler {
    /// The level in force for every handler, changed live by `log.level`.
    static let sharedLevel = PThreadMutex(Logger.Level.info)

    let label: String
    let journal: Bool
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { Self.sharedLevel.withLock { $0 } }
        set { Self.sharedLevel.withLock { $0 = newValue } }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level, message = event.message
        var all = metadata
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        let suffix = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text: String
        if journal {
            text = "<\(Self.priority(level))>\(message)\(suffix)\n"
        } else {
            let time = Date().formatted(.iso8601)
            text = "\(time) \(level): \(message)\(suffix)\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// syslog priorities, as sd-daemon(3) prefixes use them.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
