import ISPCheckerPrimitives
#if canImport(Glibc)
import Glibc
#endif

/// How a DNS, HTTP or TCP probe ended: the `outcome` detail of `ProbeReport`, with exactly
/// the values documented there.
public enum ServiceOutcome: String, Sendable, Codable, CaseIterable {
    case ok
    /// No answer before the deadline (dropped, filtered).
    case timeout
    /// TCP RST, or ICMP port unreachable.
    case refused
    /// No route, or an ICMP network unreachable.
    case networkUnreachable = "network_unreachable"
    /// An ICMP host unreachable (or administratively prohibited).
    case hostUnreachable = "host_unreachable"
    /// DNS RCODE 3: the name does not exist.
    case nxdomain
    /// DNS RCODE 2: the resolver could not answer.
    case servfail
    /// DNS RCODE 5: the resolver refused the query.
    case refusedQuery = "refused_query"
    /// The TLS handshake or certificate verification failed.
    case tlsError = "tls_error"
    /// HTTP answered, but not as expected (status, body, too many redirects).
    case httpError = "http_error"
    /// Anything else (malformed answer, name resolution failure, local error).
    case error

    /// The outcome of a failed socket operation (`-errno` from the C core).
    package init(errno code: Int32) {
        switch code {
        case ETIMEDOUT: self = .timeout
        case ECONNREFUSED: self = .refused
        case ENETUNREACH: self = .networkUnreachable
        case EHOSTUNREACH, EACCES, EPERM: self = .hostUnreachable
        default: self = .error
        }
    }
}

/// Milliseconds with three decimals, for report details.
func roundedMilliseconds(nanoseconds: Int64) -> Double {
    (Double(nanoseconds) / 1_000).rounded() / 1_000
}
