import Logging
import ISPCheckerPrimitives
import ISPCheckerResults

/// How a `ProbeEngine` opens its descriptors and what it does with its privileges.
public struct EngineConfiguration: Sendable {
    /// Where kernel timestamps for RTTs come from.
    public enum Capture: Sendable, Equatable {
        /// libpcap on every interface ("any"), falling back to socket timestamps when pcap cannot open.
        case automatic
        /// libpcap on one named interface, same fallback.
        case interface(String)
        /// No capture: receive timestamps from SO_TIMESTAMPNS, send timestamps from the userspace clock.
        case disabled
    }

    /// What to do with Linux capabilities once the sockets and the capture are open.
    public enum CapabilityPolicy: Sendable, Equatable {
        /// Drop every capability on the engine's I/O thread, which holds the descriptors.
        case dropOnEngineThread
        /// Also drop them on the thread that creates the engine. Capabilities are per thread on
        /// Linux and new threads inherit their creator's: call from `main` before any task runs
        /// to leave the whole process unprivileged (the `isp-checker` CLI does).
        case dropOnEngineAndCallingThread
        /// Drop every capability on the engine's I/O thread but CAP_SETUID and CAP_SETGID, for a
        /// process started as root that leaves root afterwards with `ProcessPrivileges.drop(to:)`:
        /// glibc changes the user on every thread, and aborts if one of them may not; leaving
        /// uid 0 then clears those two as well. `ProcessPrivileges.enginePolicy` picks this.
        case dropAllButUserChange
        /// Keep them (tests that build namespaces need root in the same process).
        case keep
    }

    /// Network namespace to open the sockets and the capture in: a name under `/var/run/netns`
    /// (as made by `ip netns add`) or an absolute path. `nil` is the caller's namespace.
    /// Only the engine's own I/O thread enters it; the rest of the process stays where it is.
    public var networkNamespace: String?
    public var capture: Capture
    public var capabilities: CapabilityPolicy
    /// `false` forces the unprivileged datagram ICMP socket even when raw sockets are allowed.
    public var allowRawSockets: Bool
    /// How long a reply already seen on the socket waits for its capture timestamps (ms).
    public var captureGraceMilliseconds: Int
    /// Whether the engine opens traceroute's sockets (a UDP and a TCP socket and their raw
    /// readers, per family with a raw ICMP socket). An engine that only pings or sweeps can do
    /// without: eight fewer sockets to set up. Its traces then fail with `.invalidArgument`.
    public var traceroute: Bool
    /// Whether traces are ICMP only: the engine then opens none of the UDP and TCP probe
    /// sockets (an ICMP trace's echo requests leave by the raw ICMP socket pings use), four
    /// sockets and a port reservation fewer per family. Its UDP and TCP traces fail with
    /// `.invalidArgument`. `trace -M icmp` sets it.
    public var icmpTracesOnly: Bool
    /// The address families to open sockets for (both by default). A command that knows its
    /// targets' family opens half the sockets; probes of another family then fail with
    /// `.addressFamilyUnavailable`.
    public var families: Set<IPFamily>
    public var logger: Logger

    public init(
        networkNamespace: String? = nil,
        capture: Capture = .automatic,
        capabilities: CapabilityPolicy = .dropOnEngineThread,
        allowRawSockets: Bool = true,
        captureGraceMilliseconds: Int = 50,
        traceroute: Bool = true,
        icmpTracesOnly: Bool = false,
        families: Set<IPFamily> = [.ipv4, .ipv6],
        logger: Logger = Logger(label: "isp-checker.engine")
    ) {
        self.networkNamespace = networkNamespace
        self.capture = capture
        self.capabilities = capabilities
        self.allowRawSockets = allowRawSockets
        self.captureGraceMilliseconds = captureGraceMilliseconds
        self.traceroute = traceroute
        self.icmpTracesOnly = icmpTracesOnly
        self.families = families
        self.logger = logger
    }

    public static var `default`: EngineConfiguration { EngineConfiguration() }

    var namespacePath: String? {
        guard let networkNamespace else { return nil }
        return networkNamespacePath(networkNamespace)
    }
}
