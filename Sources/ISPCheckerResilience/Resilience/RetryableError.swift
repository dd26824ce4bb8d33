import ISPCheckerAnalysis
import ISPCheckerResults
import ISPCheckerPrimitives
#if canImport(Glibc)
import Glibc
#endif

/// The kinds of failure worth trying again, named as the runbook's `retry_policy.retryable_errors`
/// lists them. Anything that maps to none of these (a malformed target, a missing permission) is
/// not retried: trying again cannot fix it.
public enum RetryableErrorKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// No answer in time (a probe's or an attempt's timeout).
    case timeout
    /// The peer actively refused (TCP RST, ICMP port unreachable, ECONNREFUSED).
    case connectionRefused = "connection_refused"
    /// A passing condition: EAGAIN, ENOBUFS, a resolver's "try again" (EAI_AGAIN), a DNS SERVFAIL.
    case temporaryFailure = "temporary_failure"

    public var description: String { rawValue }
}

/// An error that knows which retryable kind it is, if any. Conform your own errors to this so that
/// `RetryPolicy.retry` retries them; errors that do not conform are not retried unless the
/// caller's classifier says otherwise.
public protocol RetryClassifiable: Error {
    /// The retryable kind of this error, or `nil` when trying again cannot help.
    var retryableErrorKind: RetryableErrorKind? { get }
}

/// The default classifier: an error's own `RetryClassifiable` kind; never for cancellation.
public func defaultRetryableErrorKind(of error: any Error) -> RetryableErrorKind? {
    if error is CancellationError { return nil }
    return (error as? any RetryClassifiable)?.retryableErrorKind
}

extension ProbeError: RetryClassifiable {
    /// System errors that pass (timeouts, refusals, exhausted buffers) and resolver failures that
    /// say "try again" are retryable; bad arguments, permissions, a shut-down engine and
    /// cancellation are not. (A probe that ran and got no answer is a result, not an error: its
    /// loss or its `outcome` says timeout or refused.)
    public var retryableErrorKind: RetryableErrorKind? {
        switch self {
        case .systemError(_, let code):
            return RetryableErrorKind(errno: code)
        case .unresolvableTarget(_, let reason):
            return RetryableErrorKind(resolverFailure: reason)
        case .emptyTarget, .emptyName, .malformedTarget, .malformedName, .invalidResolver, .malformedURL, .unsupportedScheme,
             .invalidArgument, .permissionDenied, .addressFamilyUnavailable, .unreadableCapture, .unreadableTargets,
             .namespaceUnavailable, .engineShutDown, .cancelled:
            return nil
        }
    }
}

extension RetryableErrorKind {
    /// System errors that pass: timeouts, refusals, exhausted buffers, a link that went down.
    init?(errno code: Int32) {
        switch code {
        case ETIMEDOUT: self = .timeout
        case ECONNREFUSED: self = .connectionRefused
        case EAGAIN, EINTR, ENOBUFS, ENOMEM, ENETDOWN, EHOSTDOWN, ECONNRESET: self = .temporaryFailure
        default: return nil
        }
    }

    /// getaddrinfo's EAI_AGAIN text ("Temporary failure in name resolution") is the one
    /// resolver failure that may pass; a name that does not exist will not appear.
    init?(resolverFailure reason: String) {
        guard reason.lowercased().contains("temporary failure") else { return nil }
        self = .temporaryFailure
    }
}
