import CProbe
import Synchronization
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// The descriptors traceroute needs for one family, opened with the engine (they need
/// CAP_NET_RAW, which is gone afterwards) and shared by every trace of the engine.
final class TraceSockets: Sendable {
    let family: IPFamily
    /// A bound UDP socket that holds `udpPort` for our probes (never sent on).
    let udpDescriptor: Int32
    let udpPort: UInt16
    /// Raw UDP: sends each probe whole, its checksum complete, so that no veth with checksum
    /// offload (every container and pod) carries it as a partial sum a router would quote.
    let udpRawDescriptor: Int32
    /// Raw TCP: sends our SYNs, receives the destination's SYN-ACK / RST to `tcpPort`.
    let tcpDescriptor: Int32
    /// A bound TCP socket that keeps `tcpPort` from being handed to anyone else.
    let tcpReservation: Int32
    let tcpPort: UInt16
    /// High half of every TCP probe's sequence number (the low half is the probe id).
    let tcpSequenceSalt: UInt32

    init(family: IPFamily, udpDescriptor: Int32, udpPort: UInt16, udpRawDescriptor: Int32, tcpDescriptor: Int32, tcpReservation: Int32, tcpPort: UInt16) {
        self.family = family
        self.udpDescriptor = udpDescriptor
        self.udpPort = udpPort
        self.udpRawDescriptor = udpRawDescriptor
        self.tcpDescriptor = tcpDescriptor
        self.tcpReservation = tcpReservation
        self.tcpPort = tcpPort
        self.tcpSequenceSalt = UInt32.random(in: 1...0x7fff) << 16
    }

    /// What our probes carry that tells them apart from every other packet on the host.
    func identity(echoIdentifier: UInt16?) -> TraceFlowIdentity {
        TraceFlowIdentity(udpPort: udpPort, tcpPort: tcpPort, tcpSequenceSalt: tcpSequenceSalt, echoIdentifier: echoIdentifier)
    }

    deinit {
        close(udpDescriptor)
        close(udpRawDescriptor)
        close(tcpDescriptor)
        close(tcpReservation)
    }

    /// Traceroute's classic destination ports: our own source port must not be one of them,
    /// or a trace of this host would send probes to its own socket.
    static let classicPorts: ClosedRange<UInt16> = 33434...33534

    static func open(_ family: IPFamily) -> Result<TraceSockets, ProbeError> {
        var udp: Int32 = -1
        var udpPort: UInt16 = 0
        var portResult: Int32 = 0
        var rejected: [Int32] = []
        defer { for descriptor in rejected { close(descriptor) } }
        // The kernel picks the port; a pick among the classic ports is held while it picks again.
        for attempt in 0..<4 {
            udp = cp_trace_udp_socket_open(family.posixValue, nil, 0)
            guard udp >= 0 else { return .failure(.systemError(operation: "opening the \(family) UDP probe socket", errno: -udp)) }
            portResult = cp_trace_local_port(udp, &udpPort)
            if portResult != 0 || !classicPorts.contains(udpPort) || attempt == 3 { break }
            rejected.append(udp)
        }
        var tcpPort: UInt16 = 0
        let reservation = cp_trace_tcp_port_reserve(family.posixValue, nil, &tcpPort)
        guard portResult == 0, reservation >= 0 else {
            close(udp)
            if reservation >= 0 { close(reservation) }
            return .failure(.systemError(operation: "reserving \(family) probe ports", errno: portResult < 0 ? -portResult : -reservation))
        }
        let tcp = cp_trace_raw_tcp_socket_open(family.posixValue, nil, tcpPort, 0)
        let udpRaw = tcp >= 0 ? cp_trace_raw_udp_socket_open(family.posixValue) : tcp
        guard tcp >= 0, udpRaw >= 0 else {
            close(udp)
            close(reservation)
            if tcp >= 0 { close(tcp) }
            return .failure(EngineSetup.openError(family: family, errno: -udpRaw))
        }
        return .success(TraceSockets(family: family, udpDescriptor: udp, udpPort: udpPort, udpRawDescriptor: udpRaw,
                                     tcpDescriptor: tcp, tcpReservation: reservation, tcpPort: tcpPort))
    }
}

/// The fields that mark a packet as one of this engine's trace probes: our UDP and TCP source
/// ports, the high half of our TCP sequence numbers, and our ICMP echo identifier.
struct TraceFlowIdentity: Sendable, Equatable {
    /// Nil on an engine that traces with ICMP only (no UDP or TCP probe sockets).
    var udpPort: UInt16?
    var tcpPort: UInt16?
    var tcpSequenceSalt: UInt32
    var echoIdentifier: UInt16?
}

/// Identifies one outstanding trace probe: the probe id lives in the UDP checksum, the ICMP
/// sequence number or the low half of the TCP sequence number, depending on the method.
struct TraceProbeKey: Hashable, Sendable {
    enum Method: UInt8, Sendable { case udp = 1, icmp = 2, tcp = 3 }
    var family: IPFamily
    var method: Method
    var probeID: UInt16
}

/// What came back for a trace probe, as the receive loop saw it.
struct TraceAnswer: Sendable {
    enum Kind: Sendable, Equatable {
        case timeExceeded
        case unreachable(code: Int)
        case echoReply
        case tcpReply(flags: UInt8)
        case packetTooBig(mtu: UInt32)
        case parameterProblem
    }

    var kind: Kind
    var from: IPAddress
    var kernelNanoseconds: Int64?
    var userNanoseconds: Int64
    var mpls: [MPLSLabel]
    var quotedTTL: Int?
    /// The TTL (hop limit) the answer arrived with.
    var replyTTL: Int?
    /// The fields of our probe as the ICMP error quoted them (nil for echo and TCP replies,
    /// and for an error without a consistent quote), to compare with what was sent.
    var quote: QuotedProbeHeader? = nil
}

/// What the receive loop tells a running trace.
enum TraceEvent: Sendable {
    /// The capture saw probe `probeID` leave, at this kernel time.
    case captureSent(UInt16, nanoseconds: Int64)
    /// A socket delivered the answer to `probeID`.
    case answer(UInt16, TraceAnswer)
    /// The capture saw the answer to `probeID` arrive, at this kernel time.
    case captureAnswer(UInt16, nanoseconds: Int64)
    /// Wakes the trace to look at its deadlines, as of when the tick was sent: a trace that
    /// was busy sending (a shared pacer can hold it for a second) reads the events queued
    /// meanwhile in order, and no probe times out before the answers that came before its
    /// deadline were read.
    case tick(ContinuousClock.Instant)
}

/// Where the receive loop delivers the packets of an outstanding trace probe.
struct TraceRoute: Sendable {
    var destination: IPAddress
    var sink: AsyncStream<TraceEvent>.Continuation
    /// The address the probes leave from: a quote from another source port is a translated
    /// probe of ours only when its source address is not this one (`matchingTranslated`).
    var source: IPAddress? = nil
}

/// A running trace's request to be woken (sent a `.tick`) once its nearest deadline is due.
struct TraceWakeup: Sendable {
    var at: ContinuousClock.Instant
    var sink: AsyncStream<TraceEvent>.Continuation
}

/// The outstanding trace probes of an engine, by key.
struct TraceRegistry: ~Copyable {
    var routes: [TraceProbeKey: TraceRoute] = [:]
    var nextID: [TraceProbeKey.Method: UInt16] = [:]
    /// When each waiting trace wants its next `.tick`, by trace (`EngineCore.requestTick`).
    var wakeups: [UInt64: TraceWakeup] = [:]
    var nextTraceID: UInt64 = 1
    /// Whether the engine thread is between two waits, or until when it waits: a request for a
    /// tick before that wakes it (`EngineCore.requestTick`).
    var engineWait: EngineWait = .awake

    enum EngineWait {
        /// Between two waits: the thread looks at every request before it waits again.
        case awake
        case until(ContinuousClock.Instant)
        /// No deadline at all: only a packet, a job or a wake-up ends the wait.
        case indefinitely
    }

    /// A probe id no outstanding probe of that family and method uses (UDP ids stay below
    /// the checksum-encodable maximum), and none of `avoiding`: a trace's events carry only the
    /// id, so its probes of two methods (a UDP trace's echo estimate) must not share one.
    mutating func allocate(_ family: IPFamily, _ method: TraceProbeKey.Method, route: TraceRoute, avoiding: Set<UInt16> = []) -> UInt16? {
        let limit = method == .udp ? UInt16(CP_TRACE_UDP_MAX_PROBE_ID) : UInt16.max
        var candidate = nextID[method] ?? UInt16.random(in: 0...limit)
        for _ in 0...Int(limit) {
            candidate = candidate >= limit ? 0 : candidate + 1
            let key = TraceProbeKey(family: family, method: method, probeID: candidate)
            if routes[key] == nil && !avoiding.contains(candidate) {
                nextID[method] = candidate
                routes[key] = route
                return candidate
            }
        }
        return nil
    }
}

extension TraceProbeKey {
    /// The probe an ICMP error's quoted packet (or a captured outgoing probe) belongs to, by
    /// what our probes carry in their first 8 transport bytes; nil when it is not one of ours.
    static func matching(_ packet: cp_trace_packet, family: IPFamily, identity: TraceFlowIdentity) -> TraceProbeKey? {
        guard packet.has_transport != 0 else { return nil }
        switch Int(packet.proto) {
        case IPPROTO_UDP:
            guard let port = identity.udpPort, packet.sport == port else { return nil }
            var probeID: UInt16 = 0
            if packet.has_probe_id != 0 {
                probeID = packet.probe_id
                // Our probes force the UDP checksum to encode the probe id: a quote whose
                // checksum disagrees with its payload is not a probe we sent as quoted, unless
                // the whole quoted datagram is consistent with the quote's own addresses: a NAT
                // changed the source address (and so the checksum, RFC 1624) and did not
                // translate the quote back (Dublin traceroute's NAT signal).
                guard packet.udp_checksum == cp_trace_udp_checksum_for(probeID)
                        || packet.transport_checksum_state == CP_TRACE_CHECKSUM_CORRECT else { return nil }
            } else if cp_trace_udp_probe_id_from_checksum(packet.udp_checksum, &probeID) != 0 {
                return nil
            }
            return TraceProbeKey(family: family, method: .udp, probeID: probeID)
        case IPPROTO_TCP:
            guard let port = identity.tcpPort, packet.sport == port, packet.tcp_seq & 0xffff_0000 == identity.tcpSequenceSalt else { return nil }
            return TraceProbeKey(family: family, method: .tcp, probeID: UInt16(truncatingIfNeeded: packet.tcp_seq))
        case IPPROTO_ICMP where family == .ipv4, IPPROTO_ICMPV6 where family == .ipv6:
            let request = UInt8(family == .ipv4 ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST)
            guard packet.icmp_type == request, let echoIdentifier = identity.echoIdentifier, packet.icmp_ident == echoIdentifier else { return nil }
            // Pings share the identifier: when the quote reaches into the payload, it must carry
            // the trace magic, or it is a ping's request (an error about a ping is not a hop).
            let payloadQuoted = packet.quoted_len >= packet.header_len + 8 + Int(CP_TRACE_PAYLOAD_ID_OFFSET) + 2
            guard !payloadQuoted || (packet.has_probe_id != 0 && packet.probe_id == packet.icmp_seq) else { return nil }
            return TraceProbeKey(family: family, method: .icmp, probeID: packet.icmp_seq)
        default:
            return nil
        }
    }
}

extension TraceProbeKey {
    /// A quote from another source port than ours that is still one of our probes as a NAT
    /// translated it (address and port, RFC 3022 NAPT): a UDP quote with our payload (magic and
    /// probe id) whose whole datagram is consistent with its own translated addresses, or a TCP
    /// quote with our sequence-number salt. Another traceroute of this host (another engine,
    /// another port) quotes the same way but from our own address: the caller delivers such a
    /// key only to a trace whose source differs from the quoted one (`TraceRoute.source`).
    static func matchingTranslated(_ packet: cp_trace_packet, family: IPFamily, identity: TraceFlowIdentity) -> TraceProbeKey? {
        guard packet.has_transport != 0 else { return nil }
        switch Int(packet.proto) {
        case IPPROTO_UDP:
            // An engine without UDP probe sockets (ICMP traces only) sent no UDP probe.
            guard let own = identity.udpPort, packet.sport != own, packet.has_probe_id != 0,
                  packet.probe_id <= UInt16(CP_TRACE_UDP_MAX_PROBE_ID),
                  packet.transport_checksum_state == CP_TRACE_CHECKSUM_CORRECT else { return nil }
            return TraceProbeKey(family: family, method: .udp, probeID: packet.probe_id)
        case IPPROTO_TCP:
            guard let own = identity.tcpPort, packet.sport != own, packet.tcp_seq & 0xffff_0000 == identity.tcpSequenceSalt else { return nil }
            return TraceProbeKey(family: family, method: .tcp, probeID: UInt16(truncatingIfNeeded: packet.tcp_seq))
        default:
            return nil
        }
    }
}

extension QuotedProbeHeader {
    /// The fields of a parsed quote that a NAT may rewrite; nil without a source address.
    init?(_ packet: cp_trace_packet) {
        guard let source = IPAddress(packet.src) else { return nil }
        var port: UInt16?
        var checksum: UInt16?
        if packet.has_transport != 0 {
            switch Int(packet.proto) {
            case IPPROTO_UDP: port = packet.sport; checksum = packet.udp_checksum
            case IPPROTO_TCP: port = packet.sport
            case IPPROTO_ICMP, IPPROTO_ICMPV6: checksum = packet.icmp_checksum
            default: break
            }
        }
        self.init(source: source, sourcePort: port, transportChecksum: checksum, ttl: Int(packet.ttl))
    }
}

extension TraceAnswer {
    /// Builds an answer from a parsed ICMP message, nil for kinds a trace does not use.
    init?(_ reply: cp_trace_reply, from: IPAddress, kernelNanoseconds: Int64?, userNanoseconds: Int64, replyTTL: Int?) {
        self.replyTTL = replyTTL
        switch reply.kind {
        case CP_TRACE_TIME_EXCEEDED:
            // Code 1 is a reassembly timeout at the far end, not a hop's TTL running out.
            guard reply.icmp_code == 0 else { return nil }
            kind = .timeExceeded
        case CP_TRACE_UNREACHABLE: kind = .unreachable(code: Int(reply.icmp_code))
        case CP_TRACE_ECHO_REPLY: kind = .echoReply
        case CP_TRACE_PACKET_TOO_BIG: kind = .packetTooBig(mtu: reply.mtu)
        case CP_TRACE_PARAM_PROBLEM: kind = .parameterProblem
        default: return nil
        }
        self.from = from
        self.kernelNanoseconds = kernelNanoseconds
        self.userNanoseconds = userNanoseconds
        var labels: [MPLSLabel] = []
        withUnsafeBytes(of: reply.mpls) { raw in
            let entries = raw.bindMemory(to: cp_trace_mpls_entry.self)
            for index in 0..<min(Int(reply.mpls_count), entries.count) {
                let entry = entries[index]
                labels.append(MPLSLabel(label: entry.label, trafficClass: entry.tc, bottomOfStack: entry.s != 0, ttl: entry.ttl))
            }
        }
        mpls = labels
        quotedTTL = reply.has_quote != 0 ? Int(reply.quote.ttl) : nil
        quote = reply.has_quote != 0 ? QuotedProbeHeader(reply.quote) : nil
    }
}
