import ISPCheckerPrimitives

/// Which clock timed a probe, strongest first.
public enum ClockSource: String, Sendable, Codable, Comparable, CustomStringConvertible {
    /// Both the request and the reply timestamped by the kernel at the interface (libpcap).
    case pcap
    /// Both timestamped by the kernel through the socket: the request when the driver took it
    /// (SO_TIMESTAMPING), the reply on receive (SO_TIMESTAMPNS). Needs no capture and no privilege.
    case kernelSocket = "kernel_socket"
    /// Reply timestamped by the kernel on receive (SO_TIMESTAMPNS), request by the userspace clock.
    case kernelReceive = "kernel_receive"
    /// Both read from the userspace clock around sendto/recvmsg.
    case userspace

    public var description: String { rawValue }

    private var rank: Int {
        switch self {
        case .pcap: return 0
        case .kernelSocket: return 1
        case .kernelReceive: return 2
        case .userspace: return 3
        }
    }

    /// Weaker clocks compare greater, so `max()` of a set is its weakest member.
    public static func < (lhs: ClockSource, rhs: ClockSource) -> Bool { lhs.rank < rhs.rank }
}

/// Which kind of ICMP socket carried a probe.
public enum SocketKind: String, Sendable, Codable, CustomStringConvertible {
    /// SOCK_RAW, opened with CAP_NET_RAW.
    case raw
    /// SOCK_DGRAM/IPPROTO_ICMP, allowed by net.ipv4.ping_group_range.
    case datagram
    /// No socket: the probes were replayed from a capture file (`CaptureReplay`).
    case captureFile = "capture_file"
    /// No socket of ours: another tool's result file was imported (mtr, scamper, RIPE Atlas).
    case imported

    public var description: String { rawValue }
}
