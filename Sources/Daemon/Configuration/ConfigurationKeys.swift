/// A value that does not fit its key; the key and line are added by the caller.
public struct ConfigurationValueError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Why a configuration could not be loaded or changed. Messages name the file, line and key.
public enum ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case syntax(path: String, line: Int, message: String)
    case unknownKey(path: String, line: Int, key: String)
    case badValue(path: String, line: Int, key: String, message: String)
    case missing(key: String, hint: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read configuration \(path): \(reason)"
        case .syntax(let path, let line, let message): "\(path):\(line): \(message)"
        case .unknownKey(let path, let line, let key):
            "\(path):\(line): unknown key '\(key)'" + (ConfigurationKeys.suggestion(for: key).map { "; did you mean '\($0)'?" } ?? "")
        case .badValue(let path, let line, let key, let message): "\(path):\(line): \(key): \(message)"
        case .missing(let key, let hint): "\(key) is not set: \(hint)"
        }
    }
}

/// One configuration key: how to read it from and write it to a `DaemonConfiguration`, and
/// whether a running daemon can apply a change at once (`live`) or needs a restart.
public struct ConfigurationKey: Sendable {
    public let name: String
    public let live: Bool
    let get: @Sendable (DaemonConfiguration) -> TOMLValue
    let set: @Sendable (inout DaemonConfiguration, TOMLValue) throws(ConfigurationValueError) -> Void

    /// The key's value in `configuration`.
    public func value(in configuration: DaemonConfiguration) -> TOMLValue { get(configuration) }

    /// Sets the key, coercing a string (as typed on a command line) to the key's type.
    public func apply(_ value: TOMLValue, to configuration: inout DaemonConfiguration) throws(ConfigurationValueError) {
        try set(&configuration, value)
    }
}

/// The table of every configuration key (`table.key`), used by the TOML loader, `config.get`
/// and `config.set` alike, so the three cannot disagree.
public enum ConfigurationKeys {
    public static let all: [ConfigurationKey] = [
        string("model.path", \.model.path, live: false),
        string("model.labels", \.model.labels, live: false),
        integer("model.threads", \.model.threads, in: 1...64, live: false),
        floats("model.mean", \.model.mean, live: false),
        floats("model.std", \.model.std, live: false, positive: true),
        choice("model.crop", \.model.crop, live: false),
        ConfigurationKey(name: "source.uri", live: false, get: { .string($0.source.uri.description) }, set: { c, v throws(ConfigurationValueError) in
            c.source.uri = try SourceSpecification(parsing: try text(v))
        }),
        number("source.fps", \.source.fps, in: 0...1000, live: false),
        boolean("source.loop", \.source.loop, live: false),
        integer("source.width", \.source.width, in: 1...16384, live: false),
        integer("source.height", \.source.height, in: 1...16384, live: false),
        ConfigurationKey(name: "source.format", live: false, get: { .string($0.source.format) }, set: { c, v throws(ConfigurationValueError) in
            let format = try text(v)
            guard ["auto", "mjpeg", "yuyv"].contains(format) else { throw ConfigurationValueError("must be auto, mjpeg or yuyv") }
            c.source.format = format
        }),
        ConfigurationKey(name: "detection.classes", live: true, get: { c in
            .array(c.detection.classes.map { selector in
                switch selector {
                case .label(let label): .string(label)
                case .index(let index): .integer(Int64(index))
                }
            })
        }, set: { c, v throws(ConfigurationValueError) in
            c.detection.classes = try classSelectors(v)
        }),
        number("detection.min_score", \.detection.minScore, in: -1e9...1e9, live: true),
        integer("detection.top_k", \.detection.topK, in: 1...1000, live: true),
        number("detection.repeat_seconds", \.detection.repeatSeconds, in: 0...1e7, live: true),
        number("detection.clear_seconds", \.detection.clearSeconds, in: 0...1e7, live: true),
        number("detection.change_seconds", \.detection.changeSeconds, in: 0...1e7, live: true),
        ConfigurationKey(name: "explain.method", live: true, get: { .string($0.explain.method) }, set: { c, v throws(ConfigurationValueError) in
            let method = try text(v)
            let known = ["activation", "cam", "gradcam", "gradcam++", "eigencam", "guided-backprop", "guided-gradcam", "occlusion"]
            guard known.contains(method) else { throw ConfigurationValueError("must be one of \(known.joined(separator: ", "))") }
            c.explain.method = method
        }),
        string("explain.layer", \.explain.layer, live: true),
        choice("explain.mode", \.explain.mode, live: true),
        integer("explain.nth", \.explain.nth, in: 1...1_000_000, live: true),
        boolean("explain.overlay", \.explain.overlay, live: true),
        integer("explain.overlay_quality", \.explain.overlayQuality, in: 1...100, live: true),
        number("explain.box_threshold", \.explain.boxThreshold, in: 0...1, live: true),
        string("store.path", \.store.path, live: false),
        number("store.max_age_days", \.store.maxAgeDays, in: 0...1e6, live: true),
        integer("store.max_detections", \.store.maxDetections, in: 0...Int.max, live: true),
        integer("store.max_megabytes", \.store.maxMegabytes, in: 1...(1 << 30), live: true),
        number("store.prune_interval_seconds", \.store.pruneIntervalSeconds, in: 1...1e6, live: true),
        integer("store.batch_ms", \.store.batchMilliseconds, in: 0...60_000, live: true),
        string("control.socket", \.control.socket, live: false),
        string("control.group", \.control.group, live: false),
        ConfigurationKey(name: "control.allowed_uids", live: false, get: { .array($0.control.allowedUIDs.map { .integer(Int64($0)) }) },
                         set: { c, v throws(ConfigurationValueError) in
            guard case .array(let items) = try coerce(v, array: true) else { throw ConfigurationValueError("must be an array of user ids") }
            var uids: [Int] = []
            for item in items {
                guard case .integer(let uid) = item, uid >= 0, uid < 1 << 32 else { throw ConfigurationValueError("must be an array of user ids") }
                uids.append(Int(uid))
            }
            c.control.allowedUIDs = uids
        }),
        integer("control.max_clients", \.control.maxClients, in: 1...4096, live: false),
        ConfigurationKey(name: "log.level", live: true, get: { .string($0.log.level) }, set: { c, v throws(ConfigurationValueError) in
            let level = try text(v)
            let known = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard known.contains(level) else { throw ConfigurationValueError("must be one of \(known.joined(separator: ", "))") }
            c.log.level = level
        }),
    ]

    private static let byName: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The key named `name`, `nil` if there is none.
    public static func key(_ name: String) -> ConfigurationKey? { byName[name] }

    /// A known key that differs from `name` only in its table, by a missing suffix or by a small typo.
    static func suggestion(for name: String) -> String? {
        let last = name.split(separator: ".").last.map(String.init) ?? name
        if let sameLeaf = all.first(where: { $0.name.hasSuffix("." + last) }) { return sameLeaf.name }
        if let longer = all.first(where: { $0.name.hasPrefix(name) }) { return longer.name }
        return all.first(where: { editDistance($0.name, name) <= 2 })?.name
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return row[b.count]
    }

    /// Reads a TOML configuration over the defaults. Unknown keys and bad values are errors
    /// naming `path`, the line and the key.
    public static func load(_ text: String, path: String, over base: DaemonConfiguration = DaemonConfiguration()) throws(ConfigurationError) -> DaemonConfiguration {
        let entries: [TOMLEntry]
        do {
            entries = try TOMLParser.parse(text)
        } catch {
            throw .syntax(path: path, line: error.line, message: error.message)
        }
        var configuration = base
        for entry in entries {
            guard let key = byName[entry.key] else { throw .unknownKey(path: path, line: entry.line, key: entry.key) }
            // In a file, types must match (a quoted "2" is not an integer); only `config set`
            // parses strings typed on a command line.
            let expected = key.value(in: DaemonConfiguration())
            guard fileTypeMatches(expected: expected, given: entry.value) else {
                throw .badValue(path: path, line: entry.line, key: entry.key,
                                message: "must be \(expected.kindName), not \(entry.value.kindName)")
            }
            do {
                try key.set(&configuration, entry.value)
            } catch {
                throw .badValue(path: path, line: entry.line, key: entry.key, message: error.message)
            }
        }
        return configuration
    }

    private static func fileTypeMatches(expected: TOMLValue, given: TOMLValue) -> Bool {
        switch (expected, given) {
        case (.string, .string), (.integer, .integer), (.float, .float), (.float, .integer), (.bool, .bool), (.array, .array): true
        case (.array, .integer), (.array, .float): true  // one value for all channels
        default: false
        }
    }

    // MARK: Key builders

    private static func string(_ name: String, _ path: WritableKeyPath<DaemonConfiguration, String> & Sendable, live: Bool) -> ConfigurationKey {
        ConfigurationKey(name: name, live: live, get: { .string($0[keyPath: path]) }, set: { c, v throws(ConfigurationValueError) in
            c[keyPath: path] = try text(v)
        })
    }

    private static func integer(_ name: String, _ path: WritableKeyPath<DaemonConfiguration, Int> & Sendable, in range: ClosedRange<Int>,
                                live: Bool) -> ConfigurationKey {
        ConfigurationKey(name: name, live: live, get: { .integer(Int64($0[keyPath: path])) }, set: { c, v throws(ConfigurationValueError) in
            guard case .integer(let value) = try coerce(v), let int = Int(exactly: value), range.contains(int) else {
                throw ConfigurationValueError("must be an integer" + describe(range))
            }
            c[keyPath: path] = int
        })
    }

    private static func number(_ name: String, _ path: WritableKeyPath<DaemonConfiguration, Double> & Sendable, in range: ClosedRange<Double>,
                               live: Bool) -> ConfigurationKey {
        ConfigurationKey(name: name, live: live, get: { .float($0[keyPath: path]) }, set: { c, v throws(ConfigurationValueError) in
            let number: Double
            switch try coerce(v) {
            case .float(let value): number = value
            case .integer(let value): number = Double(value)
            default: throw ConfigurationValueError("must be a number between \(range.lowerBound) and \(range.upperBound)")
            }
            guard number.isFinite, range.contains(number) else {
                throw ConfigurationValueError("must be a number between \(range.lowerBound) and \(range.upperBound)")
            }
            c[keyPath: path] = number
        })
    }

    private static func boolean(_ name: String, _ path: WritableKeyPath<DaemonConfiguration, Bool> & Sendable, live: Bool) -> ConfigurationKey {
        ConfigurationKey(name: name, live: live, get: { .bool($0[keyPath: path]) }, set: { c, v throws(ConfigurationValueError) in
            guard case .bool(let value) = try coerce(v) else { throw ConfigurationValueError("must be true or false") }
            c[keyPath: path] = value
        })
    }

    private static func floats(_ name: String, _ path: WritableKeyPath<DaemonConfiguration, [Double]> & Sendable, live: Bool,
                               positive: Bool = false) -> ConfigurationKey {
        ConfigurationKey(name: name, live: live, get: { .array($0[keyPath: path].map { .float($0) }) }, set: { c, v throws(ConfigurationValueError) in
            let message = "must be a number or an array of 1 or 3 numbers (R, G, B)" + (positive ? ", all non-zero" : "")
            let items: [TOMLValue]
            switch try coerce(v, array: true) {
            case .array(let values): items = values
            case let single: items = [single]
            }
            var numbers: [Double] = []
            for item in items {
                switch item {
                case .float(let value): numbers.append(value)
                case .integer(let value): numbers.append(Double(value))
                default: throw ConfigurationValueError(message)
                }
            }
            guard numbers.count == 1 || numbers.count == 3, numbers.allSatisfy(\.isFinite),
                  !positive || numbers.allSatisfy({ $0 != 0 }) else { throw ConfigurationValueError(message) }
            c[keyPath: path] = numbers
        })
    }

    private static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ path: WritableKeyPath<DaemonConfiguration, T> & Sendable, live: Bool
    ) -> ConfigurationKey where T.RawValue == String {
        ConfigurationKey(name: name, live: live, get: { .string($0[keyPath: path].rawValue) }, set: { c, v throws(ConfigurationValueError) in
            guard let value = T(rawValue: try text(v)) else {
                throw ConfigurationValueError("must be one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
            }
            c[keyPath: path] = value
        })
    }

    // MARK: Coercion

    private static func text(_ value: TOMLValue) throws(ConfigurationValueError) -> String {
        guard case .string(let text) = value else { throw ConfigurationValueError("must be a string (in quotes), not \(value.kindName)") }
        return text
    }

    /// A string typed for a non-string key (`config set detection.min_score 0.3`) is parsed as
    /// a TOML value; a string for an array key that is not `[…]` is split at commas.
    private static func coerce(_ value: TOMLValue, array: Bool = false) throws(ConfigurationValueError) -> TOMLValue {
        guard case .string(let text) = value else { return value }
        if array, !text.hasPrefix("[") {
            let parts = text.split(separator: ",").map { $0.trimmingBlanks() }.filter { !$0.isEmpty }
            var values: [TOMLValue] = []
            for part in parts { values.append((try? TOMLParser.parseValue(part)) ?? .string(part)) }
            return .array(values)
        }
        do {
            return try TOMLParser.parseValue(text)
        } catch {
            throw ConfigurationValueError("'\(text)' is not a valid value")
        }
    }

    private static func classSelectors(_ value: TOMLValue) throws(ConfigurationValueError) -> [ClassSelector] {
        let message = "must be an array of labels (strings) and class indices (integers)"
        let items: [TOMLValue]
        if case .string(let text) = value, !text.hasPrefix("[") {
            // Labels may contain spaces and digits: split at commas only, keep labels as typed.
            items = text.split(separator: ",").map { $0.trimmingBlanks() }.filter { !$0.isEmpty }.map { part in
                Int(part).map { .integer(Int64($0)) } ?? .string(part)
            }
        } else {
            guard case .array(let values) = try coerce(value, array: true) else { throw ConfigurationValueError(message) }
            items = values
        }
        var selectors: [ClassSelector] = []
        for item in items {
            switch item {
            case .string(let label) where !label.isEmpty: selectors.append(.label(label))
            case .integer(let index) where index >= 0 && index < 1 << 31: selectors.append(.index(Int(index)))
            default: throw ConfigurationValueError(message)
            }
        }
        return selectors
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == .max { return " of at least \(range.lowerBound)" }
        return " between \(range.lowerBound) and \(range.upperBound)"
    }
}

extension Substring {
    fileprivate func trimmingBlanks() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
