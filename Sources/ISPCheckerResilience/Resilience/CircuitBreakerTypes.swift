import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// The three states of a circuit breaker.
public enum CircuitState: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Calls go through; failures are counted.
    case closed
    /// Calls fail fast with `CircuitBreakerError.open` until the recovery timeout has passed.
    case open
    /// A few trial calls go through; enough successes close the breaker, one failure reopens it.
    case halfOpen = "half_open"

    public var description: String { rawValue }
}

/// A transition, as passed to a breaker's state-change callback.
public struct CircuitStateChange: Sendable, Equatable, CustomStringConvertible {
    /// The target the breaker guards.
    public var target: String
    public var from: CircuitState
    public var to: CircuitState
    /// Why, in words: "5 consecutive failures", "recovery timeout of 60 s passed", ...
    public var reason: String

    public var description: String { "circuit breaker '\(target)': \(from) → \(to) (\(reason))" }
}

/// How a guarded call ended, as the breaker counted it (and as the `outcome` label of
/// `isp_checker_circuit_breaker_calls_total`).
public enum CircuitCallOutcome: String, Sendable, CaseIterable {
    /// The operation returned.
    case success
    /// The operation threw an error that counts as a failure.
    case failure
    /// The breaker refused the call (open, or half-open with every trial slot taken).
    case rejected
    /// The operation ran but its end says nothing about the target: it was cancelled, or threw
    /// an error the breaker's `isFailure` does not count.
    case ignored
}

/// Why a circuit breaker refused a call. Says when to try again.
public enum CircuitBreakerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The breaker is open: the target failed too often. It lets trial calls through after `retryAfter`.
    case open(target: String, retryAfter: Duration, reason: String)
    /// The breaker is half-open and all `maxCalls` trial calls are in flight; try again when they end.
    case halfOpenSaturated(target: String, maxCalls: Int)

    public var description: String {
        switch self {
        case .open(let target, let retryAfter, let reason):
            return "circuit breaker for '\(target)' is open (\(reason)): calls fail fast; trial calls resume in \(Self.seconds(retryAfter))"
        case .halfOpenSaturated(let target, let maxCalls):
            return "circuit breaker for '\(target)' is half-open and its \(maxCalls) trial call(s) are in flight: try again once they finish"
        }
    }

    /// How long until the breaker may admit a call: `retryAfter` when open, zero when half-open.
    public var retryAfter: Duration {
        switch self {
        case .open(_, let retryAfter, _): return retryAfter
        case .halfOpenSaturated: return .zero
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.totalNanoseconds) / 1e9
        return value == value.rounded() ? "\(Int(value)) s" : String(format3: value) + " s"
    }
}

extension String {
    /// A number with up to 3 decimals (no trailing zeros), without Foundation.
    init(format3 value: Double) {
        var text = value.fixed(digits: 3)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        self = text
    }
}

/// Counts of every call a breaker saw, by outcome. Every call is counted exactly once:
/// `successes + failures + rejected + ignored` equals the number of calls that have ended.
public struct CircuitBreakerStatistics: Sendable, Equatable {
    public var successes = 0
    public var failures = 0
    public var rejected = 0
    public var ignored = 0
    /// Calls admitted and not ended yet.
    public var inFlight = 0
    /// State transitions so far.
    public var transitions = 0

    public init() {}

    /// Calls that have ended, whatever their outcome.
    public var completed: Int { successes + failures + rejected + ignored }
}
