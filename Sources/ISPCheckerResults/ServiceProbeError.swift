import ISPCheckerPrimitives
#if canImport(Glibc)
import Glibc
#endif

/// Every way a DNS, HTTP or TCP probe can fail before it produces a result. Each case says
/// what to do about it.
///
/// A target that does not answer is *not* an error: it is a result whose `outcome` is
/// `timeout`, `refused`, `network_unreachable`... and whose status is `crit`.
public enum ServiceProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The DNS name (or host) was empty or only white space.
    case emptyName
    /// The DNS name breaks RFC 1035 syntax (label over 63 bytes, empty label, name over 253 bytes...).
    case malformedName(String, reason: String)
    /// A resolver address is not an IPv4/IPv6 literal (with an optional port).
    case invalidResolver(String, reason: String)
    /// The URL cannot be parsed, or has no host.
    case malformedURL(String, reason: String)
    /// The URL's scheme is not http or https.
    case unsupportedScheme(String, url: String)
    /// The TCP target is not `host:port`, or the host is not a valid name or address.
    case malformedTarget(String, reason: String)
    /// The host name did not resolve (system resolver), so nothing was probed.
    case unresolvableHost(String, reason: String)
    /// An option is out of range (timeout ≤ 0, port 0, no resolvers...).
    case invalidArgument(name: String, reason: String)
    /// A targets file could not be read.
    case unreadableTargets(path: String, reason: String)
    /// The network namespace asked for could not be entered.
    case namespaceUnavailable(String, errno: Int32)
    /// A system call or library call failed in a way the caller cannot fix by changing arguments.
    case systemError(operation: String, errno: Int32)
    /// The calling task was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .emptyName:
            return "empty name: give a DNS name such as example.net"
        case .malformedName(let name, let reason):
            return "malformed DNS name '\(name)': \(reason)"
        case .invalidResolver(let text, let reason):
            return "invalid resolver '\(text)': \(reason); give an IP address, optionally with a port (10.0.0.53, 10.0.0.53:5353, [fd00::53]:53)"
        case .malformedURL(let url, let reason):
            return "malformed URL '\(url)': \(reason); give a full URL such as https://example.net/"
        case .unsupportedScheme(let scheme, let url):
            return "unsupported scheme '\(scheme)' in '\(url)': only http and https are probed"
        case .malformedTarget(let target, let reason):
            return "malformed target '\(target)': \(reason); give host:port, e.g. example.net:443 or [fd00::1]:443"
        case .unresolvableHost(let host, let reason):
            return "cannot resolve '\(host)': \(reason); check the name and the resolver configuration, or pass an IP address"
        case .invalidArgument(let name, let reason):
            return "invalid \(name): \(reason)"
        case .unreadableTargets(let path, let reason):
            return "cannot read targets file '\(path)': \(reason)"
        case .namespaceUnavailable(let name, let code):
            return "cannot enter network namespace '\(name)': \(ProbeError.describe(errno: code)); create it with 'ip netns add' and run as root"
        case .systemError(let operation, let code):
            return "\(operation) failed: \(ProbeError.describe(errno: code))"
        case .cancelled:
            return "the probe was cancelled"
        }
    }

    /// Maps the ping layer's target errors onto this enum.
    package init(_ error: ProbeError, target: String) {
        switch error {
        case .emptyTarget: self = .emptyName
        case .malformedTarget(let text, let reason): self = .malformedTarget(text, reason: reason)
        case .unresolvableTarget(let text, let reason): self = .unresolvableHost(text, reason: reason)
        case .invalidArgument(let name, let reason): self = .invalidArgument(name: name, reason: reason)
        case .cancelled: self = .cancelled
        case .systemError(let operation, let code): self = .systemError(operation: operation, errno: code)
        default: self = .malformedTarget(target, reason: error.description)
        }
    }
}
