import ISPCheckerPrimitives

#if canImport(Glibc)
import Glibc
#endif

/// Every way a probe — the engine's ping, traceroute and sweep, and the DNS, HTTP and TCP
/// probes — can fail before it produces a result. Each case says what to do about it.
///
/// A probe that runs but gets no answer is *not* an error: it is a result with 100 % loss, or
/// a DNS/HTTP/TCP result whose `outcome` is `timeout`, `refused`, `network_unreachable`… and
/// whose status is `crit`.
public enum ProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The target string was empty or only white space.
    case emptyTarget
    /// The DNS name to query was empty or only white space.
    case emptyName
    /// The target is neither an IP literal nor a syntactically valid host name, or (TCP) not
    /// `host:port`.
    case malformedTarget(String, reason: String)
    /// The DNS name breaks RFC 1035 syntax (label over 63 bytes, empty label, name over 253 bytes...).
    case malformedName(String, reason: String)
    /// A resolver address is not an IPv4/IPv6 literal (with an optional port).
    case invalidResolver(String, reason: String)
    /// The URL cannot be parsed, or has no host.
    case malformedURL(String, reason: String)
    /// The URL's scheme is not http or https.
    case unsupportedScheme(String, url: String)
    /// Name resolution failed (no such name, no resolver answered...), so nothing was probed.
    case unresolvableTarget(String, reason: String)
    /// An argument is out of its allowed range (count 0, negative interval, timeout ≤ 0, port 0,
    /// no resolvers...).
    case invalidArgument(name: String, reason: String)
    /// Neither a raw nor a datagram ICMP socket may be opened by this process.
    case permissionDenied(hint: String)
    /// The host has no usable stack for that family (e.g. IPv6 disabled).
    case addressFamilyUnavailable(IPFamily, hint: String)
    /// The network namespace asked for could not be entered.
    case namespaceUnavailable(String, errno: Int32)
    /// A system call or library call failed in a way the caller cannot fix by changing arguments.
    case systemError(operation: String, errno: Int32)
    /// A capture file given for replay cannot be opened or is not a capture.
    case unreadableCapture(path: String, reason: String)
    /// A targets file could not be read.
    case unreadableTargets(path: String, reason: String)
    /// The engine was shut down before or while the probe ran.
    case engineShutDown
    /// The calling task was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .emptyTarget:
            return "empty target: give a host name or an IPv4/IPv6 address"
        case .emptyName:
            return "empty name: give a DNS name such as example.net"
        case .malformedTarget(let target, let reason):
            return "malformed target '\(target)': \(reason)"
        case .malformedName(let name, let reason):
            return "malformed DNS name '\(name)': \(reason)"
        case .invalidResolver(let text, let reason):
            return "invalid resolver '\(text)': \(reason); give an IP address, optionally with a port (10.0.0.53, 10.0.0.53:5353, [fd00::53]:53)"
        case .malformedURL(let url, let reason):
            return "malformed URL '\(url)': \(reason); give a full URL such as https://example.net/"
        case .unsupportedScheme(let scheme, let url):
            return "unsupported scheme '\(scheme)' in '\(url)': only http and https are probed"
        case .unresolvableTarget(let target, let reason):
            return "cannot resolve '\(target)': \(reason); check the name and the resolver configuration, or pass an IP address"
        case .invalidArgument(let name, let reason):
            return "invalid \(name): \(reason)"
        case .permissionDenied(let hint):
            return "permission denied: \(hint)"
        case .addressFamilyUnavailable(let family, let hint):
            return "\(family) is not available: \(hint)"
        case .namespaceUnavailable(let name, let code):
            return "cannot enter network namespace '\(name)': \(ProbeError.describe(errno: code)); create it with 'ip netns add' and run as root"
        case .systemError(let operation, let code):
            return "\(operation) failed: \(ProbeError.describe(errno: code))"
        case .unreadableCapture(let path, let reason):
            return "cannot replay '\(path)': \(reason); give a pcap or pcapng file such as 'tcpdump -w FILE icmp or icmp6' writes"
        case .unreadableTargets(let path, let reason):
            return "cannot read targets file '\(path)': \(reason)"
        case .engineShutDown:
            return "the probe engine has been shut down; create a new ProbeEngine"
        case .cancelled:
            return "the probe was cancelled"
        }
    }

    /// The hint given when no ICMP socket of any kind may be opened.
    public static let icmpPermissionHint =
        "run as root, grant CAP_NET_RAW (setcap cap_net_raw+ep isp-checker), or allow unprivileged ICMP with sysctl net.ipv4.ping_group_range=\"0 2147483647\""

    package static func describe(errno code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text) + " (errno \(code))"
    }
}
