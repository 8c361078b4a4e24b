import Foundation

/// Which sanitizer this test run is built with, as `scripts/sanitize` announces it through
/// `EDGECAM_SANITIZER` (`address` or `thread`; unset in a normal build). The daemons the tests
/// start are built the same way, so their figures change too.
///
/// Tests with resource or time bounds keep measuring and printing, and relax — never drop — a
/// bound by the factors here, so that a real leak (growth without end) or a hang still fails:
/// - time: ASan makes code ~2–3× slower, TSan ~5–15×: bounds × 3 and × 10.
/// - resident memory growth, ASan: bound × 2 (red zones around every block, 1/8 shadow memory)
///   + 2 × the quarantine (`quarantine_size_mb` in `ASAN_OPTIONS`, 256 MiB by default: freed
///   blocks stay resident there until it is full, and once recycled into the allocator's size
///   classes they are not given back to the system) + 64 MiB for the fake stacks of
///   `detect_stack_use_after_return` (up to ~11 MiB per thread, filled as frames rotate).
///   Measured on the camera unplug test (normal build: +0.2 MiB): +493 MiB as run, +170 MiB with
///   a 64 MiB quarantine, +48 MiB with none, +1.1 MiB with neither quarantine nor fake stacks.
/// - resident memory growth, TSan: bound × 4 (2–4× shadow and metadata for what is touched;
///   no quarantine). Measured: +2–6 MiB where a normal build grows +0.1–0.2 MiB.
/// - open descriptors: never relaxed; a descriptor leak is a leak under any build.
///
/// A target of its own (test support, not shipped) so that ControlTests and DaemonTests share it.
public struct SanitizerBuild: Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case none, address, thread
    }

    public let kind: Kind
    /// ASan's quarantine limit in MiB (`quarantine_size_mb`), 0 without ASan.
    public let quarantineMiB: Int

    /// The build the tests run in, from `EDGECAM_SANITIZER` (and `ASAN_OPTIONS`).
    public static let current = SanitizerBuild(environment: ProcessInfo.processInfo.environment)

    /// `EDGECAM_SANITIZER` = `address` or `thread`; unset, empty or `none` is a normal build.
    /// Any other value is treated as a normal build and printed, so a typo shows in the log.
    public init(environment: [String: String]) {
        let value = environment["EDGECAM_SANITIZER"] ?? ""
        kind = Kind(rawValue: value.isEmpty ? "none" : value) ?? .none
        if kind == .none, !value.isEmpty, value != "none" {
            print("EDGECAM_SANITIZER=\(value) is not address or thread: bounds are those of a normal build")
        }
        quarantineMiB = kind == .address ? Self.option("quarantine_size_mb", in: environment["ASAN_OPTIONS"] ?? "") ?? 256 : 0
    }

    /// The last `name=value` of a sanitizer option string (options are separated by ':', ' ' or ',').
    public static func option(_ name: String, in options: String) -> Int? {
        options.split(whereSeparator: { ":, ".contains($0) })
            .compactMap { pair -> Int? in
                let parts = pair.split(separator: "=", maxSplits: 1)
                return parts.count == 2 && parts[0] == name ? Int(parts[1]) : nil
            }
            .last
    }

    public var isSanitized: Bool { kind != .none }

    /// How many times longer code takes: 1, 3 (ASan) or 10 (TSan).
    public var timeFactor: Double {
        switch kind {
        case .none: 1
        case .address: 3
        case .thread: 10
        }
    }

    /// A time bound (or a deadline) in seconds, scaled for this build.
    public func seconds(_ bound: Double) -> Double { bound * timeFactor }

    /// A time bound as a `Duration`, scaled for this build.
    public func duration(_ bound: Duration) -> Duration { bound * timeFactor }

    /// A bound on resident-memory growth in KiB whose normal-build value is `bound`.
    public func residentGrowthKiB(_ bound: Int) -> Int {
        switch kind {
        case .none: bound
        case .address: bound * 2 + 2 * quarantineMiB * 1024 + 64 * 1024
        case .thread: bound * 4
        }
    }

    public var description: String {
        switch kind {
        case .none: "normal build"
        case .address: "ASan build (time ×3, RSS growth ×2 + \(2 * quarantineMiB + 64) MiB)"
        case .thread: "TSan build (time ×10, RSS growth ×4)"
        }
    }
}
