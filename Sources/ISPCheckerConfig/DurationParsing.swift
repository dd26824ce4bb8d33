import ISPCheckerPrimitives
/// Durations as the runbook writes them: a number and a unit, `500ms`, `1s`, `30s`, `5m`, `1h`,
/// `1.5s`, or several together (`1m30s`). A bare number is refused: say which unit.
public enum DurationParsing {
    /// The duration `text` spells, or `nil` with the reason when it spells none.
    public static func parse(_ text: String) -> Result<Duration, DurationSyntaxError> {
        var rest = Substring(text.trimmingWhitespace())
        guard !rest.isEmpty else { return .failure(.init(text: text, reason: "empty")) }
        var negative = false
        if rest.first == "-" {
            negative = true
            rest = rest.dropFirst()
        }
        var total = Duration.zero
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, let value = Double(number) else {
                return .failure(.init(text: text, reason: "expected a number before the unit"))
            }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let nanosecondsPerUnit: Double
            switch unit {
            case "ns": nanosecondsPerUnit = 1
            case "us", "µs": nanosecondsPerUnit = 1e3
            case "ms": nanosecondsPerUnit = 1e6
            case "s": nanosecondsPerUnit = 1e9
            case "m": nanosecondsPerUnit = 60e9
            case "h": nanosecondsPerUnit = 3600e9
            case "":
                return .failure(.init(text: text, reason: "a duration needs a unit (ms, s, m or h), e.g. \(number)s"))
            default:
                return .failure(.init(text: text, reason: "unknown unit '\(unit)'; use ms, s, m or h"))
            }
            let nanoseconds = value * nanosecondsPerUnit
            guard nanoseconds < 9e18 else { return .failure(.init(text: text, reason: "too long")) }
            total += .nanoseconds(Int64(nanoseconds.rounded()))
        }
        return .success(negative ? .zero - total : total)
    }
}

/// Why a text is not a duration.
public struct DurationSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String

    public var description: String { "'\(text)' is not a duration: \(reason)" }
}

