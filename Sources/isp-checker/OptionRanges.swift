import ArgumentParser

/// The ranges of the numeric options. A value outside them is a usage error (exit 64) that names
/// the flag and the range, found before anything runs: `--timeout 1e300` passed a `> 0` check and
/// then trapped in `Duration.seconds(_:)`, and a count of 10^14 overflowed later arithmetic.
enum OptionRange {
    /// The longest wait any option takes: an hour (a probe's timeout, the pause between probes).
    static let maximumSeconds = 3600.0

    /// A number of seconds: finite, above `minimum` (or at it when `allowsMinimum`), at most `maximum`.
    static func seconds(_ value: Double, flag: String, minimum: Double = 0, allowsMinimum: Bool = false,
                        maximum: Double = maximumSeconds) throws {
        let aboveMinimum = allowsMinimum ? value >= minimum : value > minimum
        guard value.isFinite, aboveMinimum, value <= maximum else {
            throw ValidationError("\(flag) must be a number of seconds \(allowsMinimum ? "≥" : ">") \(text(minimum)) and ≤ \(text(maximum)), got \(value)")
        }
    }

    /// A whole number in `range`.
    static func integer(_ value: Int, flag: String, _ range: ClosedRange<Int>, unit: String = "") throws {
        guard range.contains(value) else {
            throw ValidationError("\(flag) must be \(range.lowerBound) ... \(range.upperBound)\(unit.isEmpty ? "" : " \(unit)"), got \(value)")
        }
    }

    private static func text(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
