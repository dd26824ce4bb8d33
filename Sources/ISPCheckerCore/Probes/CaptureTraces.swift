import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// One flow of a capture, as `run --mode replay` lists it when the capture holds several.
public struct CaptureFlow: Sendable, Equatable {
    public enum Kind: String, Sendable { case ping, trace }
    public var kind: Kind
    /// How the probes travelled (a ping is `.icmp`).
    public var method: TraceMethod
    public var source: IPAddress
    public var destination: IPAddress
    /// Requests (ping) or probes (trace) the capture holds for the flow.
    public var probes: Int
    /// Capture time of the first request or probe, in nanoseconds since 1970.
    public var firstNanoseconds: Int64
}

/// A ping flow of a capture: the result and where it came from.
public struct CapturedPing: Sendable {
    public var source: IPAddress
    public var firstNanoseconds: Int64
    public var result: PingResult
    /// The requests carry our ping magic (`isp-checker` sent them).
    var isOurs = false
    /// Capture time of each request, in `result.probes` order.
    var sentNanoseconds: [Int64] = []

    public var flow: CaptureFlow {
        CaptureFlow(kind: .ping, method: .icmp, source: source, destination: result.address,
                    probes: result.probes.count, firstNanoseconds: firstNanoseconds)
    }
}

/// A traceroute rebuilt from a capture: the result and where it came from.
public struct CapturedTrace: Sendable {
    public var source: IPAddress
    public var firstNanoseconds: Int64
    /// Every probe of the flow in the capture, including those past the destination.
    public var probes: Int
    public var result: TraceResult

    public var flow: CaptureFlow {
        CaptureFlow(kind: .trace, method: result.method, source: source, destination: result.address,
                    probes: probes, firstNanoseconds: firstNanoseconds)
    }
}

/// Everything a capture replays to: its ping flows and its traceroutes.
public struct CaptureContents: Sendable {
    public var pings: [CapturedPing]
    public var traces: [CapturedTrace]

    /// Every flow, in the order its first packet appears.
    public var flows: [CaptureFlow] {
        (traces.map(\.flow) + pings.map(\.flow)).sorted { $0.firstNanoseconds < $1.firstNanoseconds }
    }
}

extension CaptureReplay {
    /// The ping flows and traceroutes in `path` (see ``contents(from:)``).
    public static func contents(fromCapture path: String) throws(ProbeError) -> CaptureContents {
        try contents(from: ReplayFile(path: path))
    }

    /// The ping flows and traceroutes of a capture already opened (and checked) as a `ReplayFile`.
    ///
    /// A traceroute is every probe from one source to one destination by one method (UDP, TCP,
    /// or ICMP echo with one identifier): tools vary ports, sequence numbers and checksums from
    /// probe to probe, so those tell the probes of a flow apart, not the flows. Each probe's IP
    /// TTL (hop limit) is its hop; its answer is the ICMP error that quotes it, or the
    /// destination's echo reply or TCP SYN-ACK/RST, timed by the capture (clock `pcap`). A flow
    /// counts as a traceroute when its probes left with more than one TTL or a router answered
    /// one with time exceeded; an echo flow that is not one is a ping.
    /// - Throws: `ProbeError.unreadableCapture` when the file cannot be opened or is not a
    ///   pcap/pcapng capture of a supported link type.
    public static func contents(from file: ReplayFile) throws(ProbeError) -> CaptureContents {
        let path = file.path
        var capture: OpaquePointer?
        var message = [CChar](repeating: 0, count: 512)
        let opened = cp_capture_open_offline_fd(file.descriptor, nil, &capture, &message, message.count)
        guard opened == 0, let capture else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .unreadableCapture(path: path, reason: text.isEmpty ? ProbeError.describe(errno: -opened) : text)
        }
        defer { cp_capture_close(capture) }

        var echoes = EchoFlows()
        var traces = TraceFlows()
        var frame = cp_frame()
        while true {
            let next = cp_capture_next(capture, &frame)
            if next == -ENODATA { break }
            if next < 0 { throw .unreadableCapture(path: path, reason: ProbeError.describe(errno: -next)) }
            if next == 0 { continue }
            guard frame.family != 0, let l3 = frame.l3 else { continue }
            echoes.read(frame, l3: l3)
            traces.read(frame, l3: l3)
        }
        let found = traces.results()
        // An echo flow that turned out to be a traceroute (traceroute -I, mtr) is no ping.
        let traceEchoes = Set(found.compactMap(\.echoFlow))
        let pings = echoes.results().filter { $0.key.map { !traceEchoes.contains($0) } ?? true }.map(\.ping)
        return CaptureContents(pings: pings, traces: found.map(\.trace))
    }
}

/// The key an echo flow has in both `EchoFlows` and `TraceFlows`.
struct EchoFlowKey: Hashable {
    var requester: IPAddress
    var target: IPAddress
    var ident: UInt16
}

/// Probes and answers of every candidate traceroute flow of a capture, paired once read.
struct TraceFlows {
    /// How far apart a probe and its answer may be: well past any tool's wait (traceroute's 5 s,
    /// mtr's and ours), so that an answer a tool still counted is never lost here.
    static let answerWindowNanoseconds: Int64 = 60 * 1_000_000_000

    enum Method: UInt8, Hashable { case udp = 17, tcp = 6, icmp = 1 }

    /// One flow: a source, a destination, a method (and for ICMP the echo identifier).
    struct FlowKey: Hashable {
        var source: IPAddress
        var destination: IPAddress
        var method: Method
        var ident: UInt16
    }

    /// What tells one probe of a flow from the others: ports (ICMP: identifier and sequence).
    struct PortKey: Hashable {
        var first: UInt16
        var second: UInt16
    }

    struct Answer {
        var nanoseconds: Int64
        var from: IPAddress
        var kind: TraceAnswer.Kind
        var mpls: [MPLSLabel]
        /// The MPLS stack in front of the answer's IP header on the wire, where the capture was
        /// made on a labelled link (`cp_frame.mplsLabels`); empty elsewhere.
        var wireMPLS: [MPLSLabel] = []
    }

    struct Probe {
        var ttl: Int
        var sentNanoseconds: Int64
        var ports: PortKey
        /// UDP checksum, ICMP checksum; 0 for TCP.
        var checksum: UInt16
        var tcpSequence: UInt32
        /// IPv4 identification; 0 for IPv6.
        var ipID: UInt16
        var answer: Answer?
    }

    struct Flow {
        var probes: [Probe] = []
        var byPorts: [PortKey: [Int]] = [:]
        var ttls: Set<Int> = []
        var timeExceeded = false
        var lastNanoseconds: Int64 = 0
    }

    var order: [FlowKey] = []
    var flows: [FlowKey: Flow] = [:]

    mutating func read(_ frame: cp_frame, l3: UnsafePointer<UInt8>) {
        var packet = cp_trace_packet()
        guard cp_trace_parse_probe(l3, frame.l3_len, &packet) == 0, let family = IPFamily(posix: packet.family),
              let source = IPAddress(packet.src), let destination = IPAddress(packet.dst) else { return }
        let icmpProto = UInt8(family == .ipv4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)
        switch packet.proto {
        case UInt8(IPPROTO_UDP):
            guard packet.has_ports != 0, !isFragmentTail(packet) else { return }
            probe(packet, source: source, destination: destination, method: .udp, at: frame.ts_ns)
        case UInt8(IPPROTO_TCP):
            var segment = cp_trace_tcp_reply()
            guard cp_trace_parse_tcp(frame.family, 1, l3, frame.l3_len, nil, nil, &segment) == 0 else { return }
            let flags = segment.flags
            if flags & UInt8(CP_TRACE_TCP_SYN) != 0 && flags & UInt8(CP_TRACE_TCP_ACK) == 0 && flags & UInt8(CP_TRACE_TCP_RST) == 0 {
                probe(packet, source: source, destination: destination, method: .tcp, at: frame.ts_ns)
            } else if segment.checksum_state != CP_TRACE_CHECKSUM_WRONG {
                tcpAnswer(segment, from: source, to: destination, at: frame.ts_ns, wire: frame.mpls_count > 0 ? frame.mplsLabels : [])
            }
        case icmpProto:
            let request = UInt8(family == .ipv4 ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST)
            if packet.has_transport != 0 && packet.icmp_type == request {
                // Our own pings share their identifier with our ICMP traces: a request that
                // carries the ping magic is a ping, never a hop probe.
                var info = cp_echo_info()
                if cp_echo_parse(frame.family, 1, l3, frame.l3_len, nil, nil, &info) == 0 { return }
                probe(packet, source: source, destination: destination, method: .icmp, at: frame.ts_ns)
                return
            }
            var reply = cp_trace_reply()
            guard cp_trace_parse_icmp(frame.family, 1, l3, frame.l3_len, nil, nil, &reply) == 0 else { return }
            icmpAnswer(reply, from: source, at: frame.ts_ns, wire: frame.mpls_count > 0 ? frame.mplsLabels : [])
        default:
            return
        }
    }

    private func isFragmentTail(_ packet: cp_trace_packet) -> Bool {
        packet.is_fragment != 0 && packet.has_transport == 0
    }

    private mutating func probe(_ packet: cp_trace_packet, source: IPAddress, destination: IPAddress, method: Method, at nanoseconds: Int64) {
        let ports: PortKey
        var checksum: UInt16 = 0
        switch method {
        case .udp:
            ports = PortKey(first: packet.sport, second: packet.dport)
            if packet.has_transport != 0 { checksum = packet.udp_checksum }
        case .tcp:
            ports = PortKey(first: packet.sport, second: packet.dport)
        case .icmp:
            ports = PortKey(first: packet.icmp_ident, second: packet.icmp_seq)
            checksum = packet.icmp_checksum
        }
        let key = FlowKey(source: source, destination: destination, method: method, ident: method == .icmp ? packet.icmp_ident : 0)
        if flows[key] == nil {
            order.append(key)
            flows[key] = Flow()
        }
        let ttl = Int(packet.ttl)
        // A SYN sent again with the same ports, sequence number and TTL is the kernel
        // retransmitting a connect() probe (mtr -T): the same probe, not one more.
        if method == .tcp, let earlier = flows[key]!.byPorts[ports],
           earlier.contains(where: { flows[key]!.probes[$0].tcpSequence == packet.tcp_seq && flows[key]!.probes[$0].ttl == ttl }) {
            return
        }
        flows[key]!.byPorts[ports, default: []].append(flows[key]!.probes.count)
        flows[key]!.probes.append(Probe(ttl: ttl, sentNanoseconds: nanoseconds, ports: ports, checksum: checksum,
                                        tcpSequence: packet.tcp_seq, ipID: packet.ip_id, answer: nil))
        flows[key]!.ttls.insert(ttl)
        flows[key]!.lastNanoseconds = max(flows[key]!.lastNanoseconds, nanoseconds)
    }

    private mutating func icmpAnswer(_ reply: cp_trace_reply, from: IPAddress, at nanoseconds: Int64, wire: [MPLSLabel]) {
        guard let answer = TraceAnswer(reply, from: from, kernelNanoseconds: nanoseconds, userNanoseconds: nanoseconds, replyTTL: nil) else { return }
        let found = Answer(nanoseconds: nanoseconds, from: from, kind: answer.kind, mpls: answer.mpls, wireMPLS: wire)
        if reply.kind == CP_TRACE_ECHO_REPLY {
            // The destination's own answer: from the probe's destination back to its source.
            guard reply.has_outer != 0, let requester = IPAddress(reply.outer_dst) else { return }
            let key = FlowKey(source: requester, destination: from, method: .icmp, ident: reply.echo_ident)
            attach(found, to: key, ports: PortKey(first: reply.echo_ident, second: reply.echo_seq), refine: { _ in true })
            return
        }
        let quote = reply.quote
        guard reply.has_quote != 0, let source = IPAddress(quote.src), let destination = IPAddress(quote.dst) else { return }
        let ports: PortKey
        let method: Method
        var refine: (Probe) -> Bool
        switch Int(quote.proto) {
        case IPPROTO_UDP:
            guard quote.has_ports != 0 else { return }
            method = .udp
            ports = PortKey(first: quote.sport, second: quote.dport)
            let hasChecksum = quote.has_transport != 0
            let checksum = quote.udp_checksum
            refine = { !hasChecksum || $0.checksum == checksum }
        case IPPROTO_TCP:
            guard quote.has_ports != 0 else { return }
            method = .tcp
            ports = PortKey(first: quote.sport, second: quote.dport)
            let hasSequence = quote.has_transport != 0
            let sequence = quote.tcp_seq
            refine = { !hasSequence || $0.tcpSequence == sequence }
        case IPPROTO_ICMP, IPPROTO_ICMPV6:
            let request = UInt8(quote.family == AF_INET ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST)
            guard quote.has_transport != 0, quote.icmp_type == request else { return }
            method = .icmp
            ports = PortKey(first: quote.icmp_ident, second: quote.icmp_seq)
            let checksum = quote.icmp_checksum
            refine = { $0.checksum == checksum }
        default:
            return
        }
        if quote.family == AF_INET {
            let ipID = quote.ip_id
            let previous = refine
            refine = { previous($0) && $0.ipID == ipID }
        }
        let key = FlowKey(source: source, destination: destination, method: method, ident: method == .icmp ? quote.icmp_ident : 0)
        if answer.kind == .timeExceeded, flows[key] != nil { flows[key]!.timeExceeded = true }
        attach(found, to: key, ports: ports, refine: refine)
    }

    private mutating func tcpAnswer(_ segment: cp_trace_tcp_reply, from: IPAddress, to requester: IPAddress, at nanoseconds: Int64, wire: [MPLSLabel]) {
        // A SYN-ACK or RST(-ACK) acknowledges the SYN's sequence number + 1 (RFC 9293 §3.10.7.3).
        guard segment.flags & UInt8(CP_TRACE_TCP_ACK) != 0,
              segment.flags & UInt8(CP_TRACE_TCP_SYN | CP_TRACE_TCP_RST) != 0 else { return }
        let key = FlowKey(source: requester, destination: from, method: .tcp, ident: 0)
        let sequence = segment.ack &- 1
        let found = Answer(nanoseconds: nanoseconds, from: from, kind: .tcpReply(flags: segment.flags), mpls: [], wireMPLS: wire)
        attach(found, to: key, ports: PortKey(first: segment.dport, second: segment.sport), refine: { $0.tcpSequence == sequence })
    }

    /// Gives `answer` to the newest unanswered probe of `key` with these ports sent at most
    /// `answerWindowNanoseconds` before it. Probes whose other quoted fields (checksum, IPv4
    /// identification, TCP sequence) agree are preferred; only when none agrees (NAT, checksum
    /// offload rewrite them) do the ports alone decide. An answer to a probe already answered
    /// is a duplicate and changes nothing.
    private mutating func attach(_ answer: Answer, to key: FlowKey, ports: PortKey, refine: (Probe) -> Bool) {
        guard let flow = flows[key], let indices = flow.byPorts[ports] else { return }
        let inWindow = indices.filter { index in
            let sent = flow.probes[index].sentNanoseconds
            guard answer.nanoseconds >= sent else { return false }
            let (gap, overflow) = answer.nanoseconds.subtractingReportingOverflow(sent)
            return !overflow && gap <= Self.answerWindowNanoseconds
        }
        let strict = inWindow.filter { refine(flow.probes[$0]) }
        let candidates = strict.isEmpty ? inWindow : strict
        guard let chosen = candidates.last(where: { flow.probes[$0].answer == nil }) else { return }
        flows[key]!.probes[chosen].answer = answer
        flows[key]!.lastNanoseconds = max(flow.lastNanoseconds, answer.nanoseconds)
    }

    /// The flows that are traceroutes, as results; with the echo flow each ICMP one is.
    func results() -> [(trace: CapturedTrace, echoFlow: EchoFlowKey?)] {
        order.compactMap { key in
            guard let flow = flows[key], flow.ttls.count > 1 || flow.timeExceeded else { return nil }
            guard let result = Self.trace(key, flow) else { return nil }
            let echo = key.method == .icmp ? EchoFlowKey(requester: key.source, target: key.destination, ident: key.ident) : nil
            return (CapturedTrace(source: key.source, firstNanoseconds: flow.probes.first?.sentNanoseconds ?? 0,
                                  probes: flow.probes.count, result: result), echo)
        }
    }

    /// Why an answer ends the trace: the live trace's rule (`TraceAnswer.Kind.terminalStop`).
    static func terminalStop(_ answer: Answer, destination: IPAddress) -> TraceStop? {
        answer.kind.terminalStop(from: answer.from, destination: destination)
    }

    /// One flow's hops: from its lowest TTL up to the nearest TTL at which the destination (or an
    /// unreachable) answered, else up to the last of the TTLs probed without a gap (so a stray
    /// probe at the default TTL — our own distance estimate — does not stretch the path).
    /// Probes past that TTL went beyond the destination and do not count, as in a live trace.
    static func trace(_ key: FlowKey, _ flow: Flow) -> TraceResult? {
        let probes = flow.probes.sorted { $0.sentNanoseconds < $1.sentNanoseconds }
        guard let firstTTL = flow.ttls.min(), firstTTL >= 1 else { return nil }
        var contiguousEnd = firstTTL
        while flow.ttls.contains(contiguousEnd + 1) { contiguousEnd += 1 }
        var terminalTTL: Int?
        var stop = TraceStop.maxHopsReached
        for probe in probes where probe.ttl <= contiguousEnd {
            guard let answer = probe.answer, let probeStop = terminalStop(answer, destination: key.destination) else { continue }
            if terminalTTL.map({ probe.ttl < $0 }) ?? true {
                terminalTTL = probe.ttl
                stop = probeStop
            } else if probe.ttl == terminalTTL, probeStop == .destinationReached {
                stop = probeStop
            }
        }
        let lastTTL = terminalTTL ?? contiguousEnd
        var hops = (firstTTL...lastTTL).map { HopStatistics(ttl: $0) }
        for probe in probes where probe.ttl <= lastTTL {
            let slot = probe.ttl - firstTTL
            hops[slot].recordSent()
            guard let answer = probe.answer else { continue }
            var code: UnreachableCode?
            if case .unreachable(let value) = answer.kind { code = UnreachableCode(family: key.destination.family, code: value) }
            hops[slot].record(from: answer.from, rttNanoseconds: answer.nanoseconds - probe.sentNanoseconds, clock: .pcap,
                              mpls: answer.mpls, unreachableCode: code,
                              isDestination: terminalStop(answer, destination: key.destination) == .destinationReached)
            hops[slot].noteLabels(answer.wireMPLS)
        }
        let snapshots = hops.map(\.snapshot)
        // Method and flow from the probes that count (not a stray probe past the destination).
        let counted = probes.filter { $0.ttl <= lastTTL }
        let method: TraceMethod
        let paris: Bool
        switch key.method {
        case .udp:
            method = .udp
            paris = Set(counted.map(\.ports)).count == 1
        case .tcp:
            var ports: [UInt16: Int] = [:]
            for probe in counted { ports[probe.ports.second, default: 0] += 1 }
            method = .tcp(port: ports.max { $0.value < $1.value }?.key ?? 0)
            paris = Set(counted.map(\.ports)).count == 1
        case .icmp:
            method = .icmp
            paris = Set(counted.map(\.checksum)).count == 1
        }
        let first = probes.first?.sentNanoseconds ?? 0
        let (span, overflow) = flow.lastNanoseconds.subtractingReportingOverflow(first)
        return TraceResult(
            target: key.destination.description, address: key.destination, method: method, paris: paris,
            rounds: max(1, snapshots.map(\.sent).max() ?? 1), hops: snapshots, stop: stop,
            durationMilliseconds: overflow ? 0 : Double(max(0, span)) / 1_000_000)
    }
}

extension CaptureContents {
    /// What `run --mode replay` checks from a capture.
    public enum Choice: Sendable {
        /// A traceroute, a ping, or both, to one destination. Echo requests the capture holds to
        /// the trace's routers (as a live run sends when it locates loss) are counted in its hops.
        case chosen(ping: PingResult?, trace: TraceResult?)
        /// More than one candidate: these flows; pick one by destination (and method).
        case ambiguous([CaptureFlow])
        /// No ping nor traceroute to the target asked for; the capture holds these flows.
        case noFlow(to: String, flows: [CaptureFlow])
        /// No echo traffic nor traceroute at all.
        case empty
    }

    /// The ping and traceroute to check. With `target` (an address), the flows to it; with
    /// `method`, only traces by that method (a TCP trace matches whatever its port). Without a
    /// target, the capture must hold one destination's flows: one traceroute and its pings (to
    /// the destination or its hops), or a single ping flow.
    public func choose(target: String?, method: TraceMethod?) -> Choice {
        let candidates = method.map { wanted in traces.filter { Self.sameKind($0.result.method, wanted) } } ?? traces
        if let target {
            let address = IPAddress(target)
            func isTarget(_ destination: IPAddress, _ name: String) -> Bool { destination == address || name == target }
            let toTarget = candidates.filter { isTarget($0.result.address, $0.result.target) }
            let pingsToTarget = pings.filter { isTarget($0.result.address, $0.result.target) }
            if toTarget.count > 1 { return .ambiguous(toTarget.map(\.flow)) }
            guard !toTarget.isEmpty || !pingsToTarget.isEmpty else { return .noFlow(to: target, flows: flows) }
            return chosen(trace: toTarget.first, pingsTo: pingsToTarget)
        }
        guard !(candidates.isEmpty && pings.isEmpty) else { return .empty }
        if candidates.isEmpty {
            return pings.count == 1 ? .chosen(ping: pings[0].result, trace: nil) : .ambiguous(flows)
        }
        guard candidates.count == 1, let trace = candidates.first else { return .ambiguous(flows) }
        let hops = Set(trace.result.hops.flatMap { $0.addresses.map(\.address) })
        let toDestination = pings.filter { $0.result.address == trace.result.address }
        // Ours: one ping of the destination; the others go to the trace's routers.
        guard toDestination.count <= 1,
              pings.allSatisfy({ $0.result.address == trace.result.address || hops.contains($0.result.address) }) else {
            return .ambiguous(flows)
        }
        return chosen(trace: trace, pingsTo: toDestination)
    }

    private func chosen(trace: CapturedTrace?, pingsTo destination: [CapturedPing]) -> Choice {
        // Several pings of one destination: the longest.
        let ping = destination.max { $0.result.probes.count < $1.result.probes.count }
        guard var result = trace?.result, let source = trace?.source else { return .chosen(ping: ping?.result, trace: nil) }
        var echoesStart: Int64?
        for index in result.hops.indices where !result.hops[index].isDestination {
            guard let address = result.hops[index].addresses.first?.address,
                  let echo = pings.first(where: { $0.source == source && $0.result.address == address }) else { continue }
            result.hops[index].echoSent = echo.result.probes.count
            result.hops[index].echoReceived = echo.result.received
            if echo.isOurs { echoesStart = min(echoesStart ?? echo.firstNanoseconds, echo.firstNanoseconds) }
        }
        // A live run of ours pings every hop at once, the destination too, once its ping and
        // trace are done, with its ping's identifier: the destination's requests from then on
        // are the destination hop's echoes, not the ping's.
        guard let ping, ping.isOurs, let echoesStart, let destinationHop = result.hops.indices.last,
              result.hops[destinationHop].isDestination else { return .chosen(ping: ping?.result, trace: result) }
        let split = ping.sentNanoseconds.firstIndex { $0 >= echoesStart - Self.hopEchoLeadNanoseconds } ?? ping.sentNanoseconds.count
        guard split > 0, split < ping.result.probes.count else { return .chosen(ping: ping.result, trace: result) }
        let echoes = ping.result.probes[split...]
        result.hops[destinationHop].echoSent = echoes.count
        result.hops[destinationHop].echoReceived = echoes.filter { $0.status == .received }.count
        let own = PingResult(target: ping.result.target, address: ping.result.address, socketKind: ping.result.socketKind,
                             probes: Array(ping.result.probes[..<split]))
        return .chosen(ping: own, trace: result)
    }

    /// How much earlier than the first router's echo request the destination's may leave (the
    /// hops' pings start together).
    static let hopEchoLeadNanoseconds: Int64 = 10_000_000

    private static func sameKind(_ method: TraceMethod, _ wanted: TraceMethod) -> Bool {
        switch (method, wanted) {
        case (.udp, .udp), (.icmp, .icmp), (.tcp, .tcp): return true
        default: return false
        }
    }
}
