import CProbe
import Testing
import TestSupport
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// The receive loop attributes an ICMP error to a trace probe only through what the error quotes.
/// Truncated and lying quotes must never crash the parser nor point at the wrong probe.
@Suite struct TraceMatchingTests {
    let identity = TraceFlowIdentity(udpPort: 41_000, tcpPort: 42_000, tcpSequenceSalt: 0x1234_0000, echoIdentifier: 0x4242)
    let source = IPAddress("10.99.1.1")!
    let target = IPAddress("10.99.5.2")!
    let router = IPAddress("10.99.3.2")!

    /// One of our UDP probes as it would leave: IPv4 header, UDP header with the checksum the
    /// kernel computes (Paris: it encodes the probe id), and the probe payload.
    func udpProbe(id: UInt16, sport: UInt16 = 41_000, ttl: UInt8 = 3) -> [UInt8] {
        var payload = [UInt8](repeating: 0, count: 24)
        var length = 0
        var src = source.raw, dst = target.raw
        #expect(cp_trace_build_udp(AF_INET, &src, &dst, sport, 33434, id, 24, &payload, payload.count, &length) == 0)
        let udpLength = 8 + length
        var udp: [UInt8] = [UInt8(sport >> 8), UInt8(sport & 0xff), 0x82, 0x9a, UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0]
        udp += payload.prefix(length)
        let checksum = cp_trace_udp_checksum_for(id)
        udp[6] = UInt8(checksum >> 8)
        udp[7] = UInt8(checksum & 0xff)
        return ipv4Header(protocol: 17, ttl: ttl, from: source, to: target, payloadLength: udp.count) + udp
    }

    func ipv4Header(protocol proto: UInt8, ttl: UInt8, from: IPAddress, to: IPAddress, payloadLength: Int) -> [UInt8] {
        let total = 20 + payloadLength
        var header: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0x12, 0x34, 0, 0, ttl, proto, 0, 0]
        header += from.bytes + to.bytes
        let sum = cp_inet_checksum(header, header.count, 0)
        header[10] = UInt8(sum >> 8)
        header[11] = UInt8(sum & 0xff)
        return header
    }

    /// A time-exceeded message from `router` quoting the first `quoteLength` bytes of `probe`,
    /// with correct outer lengths and checksum: what an honest router that quotes little sends.
    func timeExceeded(quoting probe: [UInt8], quoteLength: Int) -> [UInt8] {
        var icmp: [UInt8] = [11, 0, 0, 0, 0, 0, 0, 0] + probe.prefix(quoteLength)
        let sum = cp_inet_checksum(icmp, icmp.count, 0)
        icmp[2] = UInt8(sum >> 8)
        icmp[3] = UInt8(sum & 0xff)
        return ipv4Header(protocol: 1, ttl: 62, from: router, to: source, payloadLength: icmp.count) + icmp
    }

    /// A parsed quote of a TCP SYN from `sport` with sequence number `seq`.
    func tcpQuote(sport: UInt16, seq: UInt32) -> cp_trace_packet {
        var tcp = cp_trace_packet()
        tcp.has_transport = 1
        tcp.proto = 6
        tcp.sport = sport
        tcp.tcp_seq = seq
        return tcp
    }

    /// A parsed quote of an IPv4 echo request with identifier `ident` and sequence number `seq`.
    func echoQuote(ident: UInt16, seq: UInt16) -> cp_trace_packet {
        var echo = cp_trace_packet()
        echo.has_transport = 1
        echo.proto = 1
        echo.icmp_type = 8
        echo.icmp_ident = ident
        echo.icmp_seq = seq
        return echo
    }

    func key(for message: [UInt8]) -> TraceProbeKey? {
        var reply = cp_trace_reply()
        guard cp_trace_parse_icmp(AF_INET, 1, message, message.count, nil, nil, &reply) == 0, reply.has_quote != 0 else { return nil }
        return TraceProbeKey.matching(reply.quote, family: .ipv4, identity: identity)
    }

    @Test func aFullQuoteIsAttributedToItsProbe() {
        for id: UInt16 in [0, 1, 7, 4000, 0xfffd] {
            #expect(key(for: timeExceeded(quoting: udpProbe(id: id), quoteLength: 52)) == TraceProbeKey(family: .ipv4, method: .udp, probeID: id))
        }
    }

    @Test func aQuoteWhoseChecksumDisagreesWithItsPayloadIsNotOurs() {
        // A forger who saw the probe quotes it back with another checksum (another probe id):
        // the payload still names the real probe, so the two disagree and neither is believed.
        var probe = udpProbe(id: 321)
        for forged: UInt16 in [cp_trace_udp_checksum_for(322), cp_trace_udp_checksum_for(321) &+ 20_000, 0x1111] {
            probe[26] = UInt8(forged >> 8)
            probe[27] = UInt8(forged & 0xff)
            #expect(key(for: timeExceeded(quoting: probe, quoteLength: 52)) == nil, "checksum \(forged)")
            // Quoted without the payload, the checksum alone names the probe (RFC 792 minimum).
            var id: UInt16 = 0
            if cp_trace_udp_probe_id_from_checksum(forged, &id) == 0 {
                #expect(key(for: timeExceeded(quoting: probe, quoteLength: 28)) == TraceProbeKey(family: .ipv4, method: .udp, probeID: id))
            }
        }
    }

    /// `probe` as a NAT that does not translate quotes back leaves it: source address (and
    /// port) rewritten, the UDP checksum recomputed for them, payload untouched.
    func translated(_ probe: [UInt8], to address: IPAddress, sport: UInt16? = nil) -> [UInt8] {
        var packet = probe
        packet.replaceSubrange(12..<16, with: address.bytes)
        packet[10] = 0; packet[11] = 0
        let sum = cp_inet_checksum(Array(packet[0..<20]), 20, 0)
        packet[10] = UInt8(sum >> 8); packet[11] = UInt8(sum & 0xff)
        if let sport { packet[20] = UInt8(sport >> 8); packet[21] = UInt8(sport & 0xff) }
        packet[26] = 0; packet[27] = 0
        var src = address.raw, dst = target.raw
        let udp = Array(packet[20...])
        let checksum = cp_trace_l4_checksum(&src, &dst, 17, udp, udp.count)
        packet[26] = UInt8(checksum >> 8); packet[27] = UInt8(checksum & 0xff)
        return packet
    }

    func translatedKey(for message: [UInt8]) -> TraceProbeKey? {
        var reply = cp_trace_reply()
        guard cp_trace_parse_icmp(AF_INET, 1, message, message.count, nil, nil, &reply) == 0, reply.has_quote != 0 else { return nil }
        return TraceProbeKey.matchingTranslated(reply.quote, family: .ipv4, identity: identity)
    }

    @Test func aQuoteWhoseAddressANATRewroteIsStillItsProbe() {
        // Address-only translation: our port, a checksum the new pseudo-header explains.
        let quote = translated(udpProbe(id: 777), to: IPAddress("198.51.100.7")!)
        #expect(key(for: timeExceeded(quoting: quote, quoteLength: quote.count)) == TraceProbeKey(family: .ipv4, method: .udp, probeID: 777))
    }

    @Test func aQuoteWhosePortANATRewroteMatchesOnlyAsATranslation() {
        let quote = translated(udpProbe(id: 778), to: IPAddress("198.51.100.7")!, sport: 41_000 ^ 0x2000)
        let message = timeExceeded(quoting: quote, quoteLength: quote.count)
        #expect(key(for: message) == nil)
        // The receive loop then hands it only to a trace whose source is not 198.51.100.7.
        #expect(translatedKey(for: message) == TraceProbeKey(family: .ipv4, method: .udp, probeID: 778))
        // Our own port is never a translation; a checksum that the quote does not explain
        // (a forger's) is nobody's; nor is a quote cut before the whole datagram.
        #expect(translatedKey(for: timeExceeded(quoting: udpProbe(id: 778), quoteLength: 52)) == nil)
        var forged = quote
        forged[27] ^= 0x40
        #expect(translatedKey(for: timeExceeded(quoting: forged, quoteLength: forged.count)) == nil)
        #expect(key(for: timeExceeded(quoting: forged, quoteLength: forged.count)) == nil)
        #expect(translatedKey(for: timeExceeded(quoting: quote, quoteLength: 40)) == nil)
    }

    @Test func everyTruncationGivesTheRightProbeOrNone() {
        let probe = udpProbe(id: 1234)
        let right = TraceProbeKey(family: .ipv4, method: .udp, probeID: 1234)
        for length in 0...probe.count {
            let attributed = key(for: timeExceeded(quoting: probe, quoteLength: length))
            #expect(attributed == nil || attributed == right, "quote of \(length) bytes gave \(String(describing: attributed))")
            // Under 8 transport bytes there is no port or checksum to match on.
            if length < 28 { #expect(attributed == nil, "quote of \(length) bytes") }
        }
        // A router quoting exactly the RFC 792 minimum (IP header + 8 bytes) still identifies it.
        #expect(key(for: timeExceeded(quoting: probe, quoteLength: 28)) == right)
    }

    @Test func truncatedMessagesNeverCrashOrMisattribute() {
        let message = timeExceeded(quoting: udpProbe(id: 99), quoteLength: 52)
        for length in 0..<message.count {
            let attributed = key(for: Array(message.prefix(length)))
            #expect(attributed == nil || attributed == TraceProbeKey(family: .ipv4, method: .udp, probeID: 99))
        }
    }

    @Test func lyingQuotedHeadersAreNotAttributed() {
        let probe = udpProbe(id: 555)
        func lying(_ edit: (inout [UInt8]) -> Void) -> TraceProbeKey? {
            var quoted = probe
            edit(&quoted)
            return key(for: timeExceeded(quoting: quoted, quoteLength: quoted.count))
        }
        #expect(lying { $0[0] = 0x65 } == nil)                          // version 6 in an IPv4 quote
        #expect(lying { $0[0] = 0x4f } == nil)                          // IHL 60 bytes, past the quote
        #expect(lying { $0[9] = 6 } == nil)                             // claims TCP: ports are not our TCP port
        #expect(lying { $0[20] = 0x10; $0[21] = 0x00 } == nil)          // another source port: someone else's probe
        #expect(lying { $0[7] = 0x10 } == nil)                          // fragment offset 128: no transport header here
        let overstated = lying { $0[2] = 0x05; $0[3] = 0xdc }           // total length 1500, 52 bytes present
        #expect(overstated == nil || overstated == TraceProbeKey(family: .ipv4, method: .udp, probeID: 555))
    }

    @Test func randomCorruptionNeverPointsAtAnotherProbe() {
        var generator = SeededRandom(seed: 0x15bc_4ec4)
        let probe = udpProbe(id: 3210)
        let right = TraceProbeKey(family: .ipv4, method: .udp, probeID: 3210)
        // Corrupt only the IP headers (outer and quoted): the fields that say where the quote
        // lies. The transport bytes that carry the probe id are left alone, so any attribution
        // other than 3210 would be a parser that misread the layout.
        let headerOffsets = Array(0..<20) + Array(28..<48)
        for _ in 0..<20_000 {
            var message = timeExceeded(quoting: probe, quoteLength: 52)
            for _ in 0...Int(generator.next() % 3) {
                let offset = headerOffsets[Int(generator.next() % UInt64(headerOffsets.count))]
                message[offset] = UInt8(truncatingIfNeeded: generator.next())
            }
            let attributed = key(for: message)
            #expect(attributed == nil || attributed == right)
        }
    }

    @Test func foreignTrafficIsNeverOurs() {
        // Another traceroute on the host uses another source port.
        #expect(key(for: timeExceeded(quoting: udpProbe(id: 5, sport: 33000), quoteLength: 52)) == nil)
        // A TCP quote with our port but without our sequence-number salt.
        var tcp = tcpQuote(sport: identity.tcpPort!, seq: 0x9999_0005)
        #expect(TraceProbeKey.matching(tcp, family: .ipv4, identity: identity) == nil)
        tcp.tcp_seq = identity.tcpSequenceSalt | 5
        #expect(TraceProbeKey.matching(tcp, family: .ipv4, identity: identity) == TraceProbeKey(family: .ipv4, method: .tcp, probeID: 5))
        // An echo request quote with someone else's identifier.
        var echo = echoQuote(ident: 0x1111, seq: 9)
        #expect(TraceProbeKey.matching(echo, family: .ipv4, identity: identity) == nil)
        echo.icmp_ident = 0x4242
        #expect(TraceProbeKey.matching(echo, family: .ipv4, identity: identity) == TraceProbeKey(family: .ipv4, method: .icmp, probeID: 9))
    }

    /// An engine that traces with ICMP only has no UDP or TCP probe ports: no UDP or TCP quote
    /// is its probe (not even one from port 0), while its echo requests still are.
    @Test func anICMPOnlyIdentityOwnsNoUDPOrTCPProbe() {
        let icmpOnly = TraceFlowIdentity(udpPort: nil, tcpPort: nil, tcpSequenceSalt: 0, echoIdentifier: 0x4242)
        var reply = cp_trace_reply()
        let message = timeExceeded(quoting: udpProbe(id: 5), quoteLength: 52)
        #expect(cp_trace_parse_icmp(AF_INET, 1, message, message.count, nil, nil, &reply) == 0 && reply.has_quote != 0)
        #expect(TraceProbeKey.matching(reply.quote, family: .ipv4, identity: identity) != nil)
        #expect(TraceProbeKey.matching(reply.quote, family: .ipv4, identity: icmpOnly) == nil)
        #expect(TraceProbeKey.matchingTranslated(reply.quote, family: .ipv4, identity: icmpOnly) == nil)
        #expect(TraceProbeKey.matching(tcpQuote(sport: 0, seq: 5), family: .ipv4, identity: icmpOnly) == nil)
        #expect(TraceProbeKey.matching(echoQuote(ident: 0x4242, seq: 9), family: .ipv4, identity: icmpOnly) == TraceProbeKey(family: .ipv4, method: .icmp, probeID: 9))
    }

    @Test func anErrorAboutAPingIsNotAHop() throws {
        // Pings and ICMP traces share the echo identifier; a quote of a ping request (payload
        // magic "ISPC") must not be attributed to a trace probe with the same sequence number.
        var ping = [UInt8](repeating: 0, count: 64)
        var length = 0
        #expect(cp_echo_build(AF_INET, 0x4242, 9, 0xdead_beef, 56, &ping, ping.count, &length) == 0)
        let pingPacket = ipv4Header(protocol: 1, ttl: 1, from: source, to: target, payloadLength: length) + ping.prefix(length)
        #expect(key(for: timeExceeded(quoting: pingPacket, quoteLength: pingPacket.count)) == nil)

        var probe = [UInt8](repeating: 0, count: 64)
        var src = source.raw, dst = target.raw
        #expect(cp_trace_build_icmp_echo(AF_INET, &src, &dst, 0x4242, 9, 0x1234, 24, &probe, probe.count, &length) == 0)
        let probePacket = ipv4Header(protocol: 1, ttl: 1, from: source, to: target, payloadLength: length) + probe.prefix(length)
        #expect(key(for: timeExceeded(quoting: probePacket, quoteLength: probePacket.count)) == TraceProbeKey(family: .ipv4, method: .icmp, probeID: 9))
        // An RFC 792 minimum quote (no payload) cannot tell them apart and is taken as the trace's.
        #expect(key(for: timeExceeded(quoting: probePacket, quoteLength: 28)) == TraceProbeKey(family: .ipv4, method: .icmp, probeID: 9))
    }
}

/// A trace's events carry only the probe id, so the ids a trace uses in two methods (a UDP
/// trace's echo estimate) must differ: the registry skips the ids it is told to avoid.
@Suite struct TraceRegistryTests {
    @Test func allocationSkipsOutstandingAndAvoidedIDs() throws {
        var registry = TraceRegistry()
        let route = TraceRoute(destination: try #require(IPAddress("192.0.2.1")), sink: AsyncStream.makeStream(of: TraceEvent.self).continuation)
        registry.nextID[.udp] = 10
        #expect(registry.allocate(.ipv4, .udp, route: route) == 11)
        #expect(registry.allocate(.ipv4, .udp, route: route, avoiding: [12, 13]) == 14)
        // Another method has ids of its own, and avoids what it is told to.
        registry.nextID[.icmp] = 10
        #expect(registry.allocate(.ipv4, .icmp, route: route, avoiding: [11, 14]) == 12)
        // The UDP space wraps below the checksum-encodable maximum.
        registry.nextID[.udp] = UInt16(CP_TRACE_UDP_MAX_PROBE_ID)
        #expect(registry.allocate(.ipv4, .udp, route: route, avoiding: [0]) == 1)
    }
}
