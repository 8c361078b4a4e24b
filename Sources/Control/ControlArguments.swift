/// The `args` object of a request, with typed accessors that fail with `bad_args` errors
/// naming the field, e.g. `"args.limit must be an integer between 1 and 1000"`.
///
/// Optional accessors return `nil` when the argument is absent or `null`; `required…`
/// accessors throw `"args.NAME is required"` instead.
///
/// ```swift
/// let limit = try request.arguments.integer("limit", in: 1...1000) ?? 100
/// let label = try request.arguments.string("label")
/// try request.arguments.rejectUnknown(allowing: ["limit", "label"])
/// ```
public struct ControlArguments: Sendable, Hashable {
    /// The raw members.
    public var values: [String: JSONValue]

    public init(_ values: [String: JSONValue] = [:]) {
        self.values = values
    }

    /// The raw value of `name`, `nil` when absent.
    public subscript(name: String) -> JSONValue? { values[name] }

    /// Throws `bad_args` for the first member not in `allowed` (sorted, so messages are stable).
    public func rejectUnknown(allowing allowed: Set<String>) throws(ControlError) {
        if let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            let known = allowed.sorted().map { "args.\($0)" }.joined(separator: ", ")
            throw .badArguments("unknown argument args.\(unknown); known: \(known.isEmpty ? "none" : known)")
        }
    }

    /// `args.NAME` as a string.
    public func string(_ name: String) throws(ControlError) -> String? {
        guard let value = present(name) else { return nil }
        guard case .string(let text) = value else { throw .badArguments("args.\(name) must be a string") }
        return text
    }

    /// `args.NAME` as a string that must be one of `choices`.
    public func string(_ name: String, oneOf choices: [String]) throws(ControlError) -> String? {
        guard let text = try string(name) else { return nil }
        guard choices.contains(text) else {
            throw .badArguments("args.\(name) must be one of \(choices.joined(separator: ", "))")
        }
        return text
    }

    /// `args.NAME` as an integer in `range`.
    public func integer(_ name: String, in range: ClosedRange<Int> = Int.min...Int.max) throws(ControlError) -> Int? {
        guard let value = present(name) else { return nil }
        guard case .number(let number) = value, let integer = Int(exactly: number), range.contains(integer) else {
            throw .badArguments("args.\(name) must be an integer\(Self.describe(range))")
        }
        return integer
    }

    /// `args.NAME` as a 64-bit integer id (e.g. a detection id), at least `minimum`.
    public func int64(_ name: String, minimum: Int64 = Int64.min) throws(ControlError) -> Int64? {
        guard let value = present(name) else { return nil }
        guard case .number(let number) = value, let integer = Int64(exactly: number), integer >= minimum else {
            throw .badArguments("args.\(name) must be an integer" + (minimum == .min ? "" : " of at least \(minimum)"))
        }
        return integer
    }

    /// `args.NAME` as a finite number in `range`.
    public func number(_ name: String, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws(ControlError) -> Double? {
        guard let value = present(name) else { return nil }
        guard case .number(let number) = value, number.isFinite, range.contains(number) else {
            let bounds = range.lowerBound == -Double.greatestFiniteMagnitude && range.upperBound == Double.greatestFiniteMagnitude
                ? "" : " between \(Self.format(range.lowerBound)) and \(Self.format(range.upperBound))"
            throw .badArguments("args.\(name) must be a number\(bounds)")
        }
        return number
    }

    /// `args.NAME` as a Boolean.
    public func bool(_ name: String) throws(ControlError) -> Bool? {
        guard let value = present(name) else { return nil }
        guard case .bool(let flag) = value else { throw .badArguments("args.\(name) must be true or false") }
        return flag
    }

    /// `args.NAME` as an array of strings.
    public func strings(_ name: String) throws(ControlError) -> [String]? {
        guard let value = present(name) else { return nil }
        guard case .array(let elements) = value else { throw .badArguments("args.\(name) must be an array of strings") }
        var texts: [String] = []
        texts.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { throw .badArguments("args.\(name) must be an array of strings") }
            texts.append(text)
        }
        return texts
    }

    /// `args.NAME` as an object.
    public func object(_ name: String) throws(ControlError) -> [String: JSONValue]? {
        guard let value = present(name) else { return nil }
        guard case .object(let members) = value else { throw .badArguments("args.\(name) must be an object") }
        return members
    }

    /// `args.NAME` as a string; throws `"args.NAME is required"` when absent.
    public func requiredString(_ name: String) throws(ControlError) -> String {
        guard let text = try string(name) else { throw Self.missing(name) }
        return text
    }

    /// `args.NAME` as an integer in `range`; throws when absent.
    public func requiredInteger(_ name: String, in range: ClosedRange<Int> = Int.min...Int.max) throws(ControlError) -> Int {
        guard let integer = try integer(name, in: range) else { throw Self.missing(name) }
        return integer
    }

    /// `args.NAME` as a 64-bit integer id, at least `minimum`; throws when absent.
    public func requiredInt64(_ name: String, minimum: Int64 = Int64.min) throws(ControlError) -> Int64 {
        guard let integer = try int64(name, minimum: minimum) else { throw Self.missing(name) }
        return integer
    }

    /// `args.NAME` as a finite number in `range`; throws when absent.
    public func requiredNumber(_ name: String, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws(ControlError) -> Double {
        guard let number = try number(name, in: range) else { throw Self.missing(name) }
        return number
    }

    private func present(_ name: String) -> JSONValue? {
        guard let value = values[name], value != .null else { return nil }
        return value
    }

    private static func missing(_ name: String) -> ControlError {
        .badArguments("args.\(name) is required")
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound == .min, range.upperBound == .max) {
        case (true, true): ""
        case (false, true): " of at least \(range.lowerBound)"
        case (true, false): " of at most \(range.upperBound)"
        case (false, false): " between \(range.lowerBound) and \(range.upperBound)"
        }
    }

    private static func format(_ number: Double) -> String {
        if let integer = Int(exactly: number) { return String(integer) }
        return String(number)
    }
}
