import ISPCheckerResults

extension DiagnosisComponent {
    /// Informational: the path crosses a carrier-grade NAT (and the client's own NAT: double NAT).
    public static let carrierGradeNAT = "CGNAT"
}

extension DiagnosisEngine {
    // MARK: Path MTU

    /// Large packets vanish on the path and no router says why (RFC 2923 §2.1): the path MTU
    /// probe lost a size that the path should carry, and the kernel learnt no smaller MTU from a
    /// "fragmentation needed" (RFC 1191) or "packet too big" (RFC 8201). Located at the first hop
    /// that answers small pings but not large ones.
    static func pathMTUBlackHole(_ context: AnalysisContext) -> [Diagnosis] {
        guard let mtu = context.probes(named: ProbeName.pathMTU).lazy.compactMap(\.measurement.pathMTU).first,
              mtu.blackHole, let lost = mtu.smallestLostSize else { return [] }
        let largest = mtu.pathMTU.map { "\($0)" } ?? "unknown"
        var evidence: [Evidence] = []
        let component: String
        let explanation: String
        if let hop = mtu.firstHopLost {
            component = DiagnosisComponent.forHop(hop, accessHops: context.thresholds.path.accessHops, beyond: DiagnosisComponent.peeringTransit)
            let address = mtu.firstHopLostAddress.map { " (\($0))" } ?? ""
            let before = mtu.lastHopReached.map { ttl in "hop \(ttl)" + (mtu.lastHopReachedAddress.map { " (\($0))" } ?? "") } ?? "the client"
            evidence.append(Evidence(probe: ProbeName.pathMTU, hop: hop,
                                     detail: "\(lost)-byte packets reach \(before) but not hop \(hop)\(address), which answers small pings"))
            explanation = "Path MTU black hole at hop \(hop)\(address): packets larger than \(largest) bytes vanish on the link into it, and no \"fragmentation needed\" / \"packet too big\" comes back. Small packets pass, so ping and traceroute look fine while large transfers stall"
        } else {
            component = DiagnosisComponent.upstream
            explanation = "Path MTU black hole: packets larger than \(largest) bytes vanish on the way to \(context.target), and no \"fragmentation needed\" / \"packet too big\" comes back; no hop could be told apart"
        }
        evidence.append(Evidence(probe: ProbeName.pathMTU,
                                 detail: "largest packet that crosses the path: \(largest) bytes; \(lost) bytes lost with DF set; the kernel learnt no smaller MTU"))
        let clamp = mtu.pathMTU.map { " (TCP MSS \($0 - 40) for IPv4, \($0 - 60) for IPv6)" } ?? ""
        let action = component == DiagnosisComponent.localNetwork
            ? "Lower the MTU of your router's WAN link to \(largest) bytes or turn on MSS clamping\(clamp), and let ICMP \"fragmentation needed\" / \"packet too big\" through its firewall"
            : "Report the black hole at hop \(mtu.firstHopLost.map(String.init) ?? "?") to its operator with this evidence: that router must send \"fragmentation needed\" / \"packet too big\" (or its filter must let them through); meanwhile clamp TCP MSS on your router\(clamp)"
        return [Diagnosis(component: component, confidence: mtu.firstHopLost == nil ? 0.7 : 0.9, explanation: explanation,
                          suggestedAction: action, evidence: evidence)]
    }

    // MARK: NAT

    /// A carrier-grade (or double) NAT past the customer edge (hop 1), found two ways:
    /// - a hop answers from the shared address space 100.64.0.0/10 (RFC 6598), which only
    ///   carrier-grade NATs use;
    /// - routers from some hop on quote our probe with another source address (and port) than
    ///   it left with (`TraceHop.quoteRewrite`): a NAT before that hop that, unlike Linux
    ///   conntrack (RFC 5508 §4.1), does not translate the quote back (Dublin traceroute's
    ///   method). Its translated address may be public, so only the quote shows it.
    /// With a private address at hop 1 (the client's own router NATs too) it is double NAT. A
    /// note, not a fault: traffic flows; only inbound connections (port forwarding, hosting,
    /// some games and VPNs) cannot reach the client. A translation at hop 1 or before (the home
    /// router, a VM's or container's NAT) is expected and says nothing.
    static func carrierGradeNAT(_ context: AnalysisContext) -> [Diagnosis] {
        guard let trace = context.trace else { return [] }
        let quoted = quotedTranslation(trace)
        let gateway = trace.hops.first { $0.ttl == 1 }?.addresses.first?.address
        let doubleNAT = gateway?.isPrivateIPv4 == true
        let action = "None needed for browsing. For inbound connections (port forwarding, hosting, some games and VPNs) ask the ISP for a public IPv4 address, or use IPv6"
        var evidence: [Evidence] = []
        let explanation: String
        let confidence: Double
        if trace.address.family == .ipv4,
           let hop = trace.hops.first(where: { $0.ttl >= 2 && $0.addresses.contains { $0.address.isSharedAddressSpace } }),
           let shared = hop.addresses.first(where: { $0.address.isSharedAddressSpace })?.address {
            evidence.append(Evidence(probe: ProbeName.traceroute, hop: hop.ttl,
                                     detail: "hop \(hop.ttl) answers from \(shared), in 100.64.0.0/10 (RFC 6598 shared address space)"))
            explanation = doubleNAT
                ? "Double NAT: your router translates addresses, and hop \(hop.ttl) (\(shared)) is the ISP's carrier-grade NAT; your public IPv4 address is shared with other customers"
                : "Carrier-grade NAT at hop \(hop.ttl) (\(shared)): your public IPv4 address is shared with other customers"
            confidence = doubleNAT ? 0.9 : 0.85
            evidence += quoted?.evidence ?? []
        } else if let quoted {
            evidence += quoted.evidence
            let location = quoted.before.map { "between hop \($0.ttl)\(Self.addressSuffix($0)) and hop \(quoted.first.ttl)\(Self.addressSuffix(quoted.first))" }
                ?? "before hop \(quoted.first.ttl)\(Self.addressSuffix(quoted.first))"
            let how = "routers from hop \(quoted.first.ttl) onward quote our probe with source \(quoted.rewrite.quotedEndpoint) instead of \(quoted.rewrite.sentEndpoint) (Dublin traceroute's method)"
            if trace.address.family == .ipv6 {
                explanation = "IPv6 address translation (NAT66 / NPTv6) \(location): \(how)"
            } else if doubleNAT {
                explanation = "Double NAT: your router translates addresses, and the ISP translates again \(location) (a carrier-grade NAT): \(how). Your public IPv4 address (\(quoted.rewrite.quotedSource)) may be shared with other customers"
            } else {
                explanation = "Carrier-grade NAT \(location): \(how). Your public IPv4 address (\(quoted.rewrite.quotedSource)) may be shared with other customers"
            }
            confidence = 0.85
        } else {
            return []
        }
        if doubleNAT, let gateway {
            evidence.append(Evidence(probe: ProbeName.traceroute, hop: 1, detail: "hop 1 (your router) answers from \(gateway), a private address: it translates too"))
        }
        return [Diagnosis(component: DiagnosisComponent.carrierGradeNAT, confidence: confidence, explanation: explanation,
                          suggestedAction: action, evidence: evidence, informational: true)]
    }

    /// The first hop past the customer edge whose quotes show an address or port translation,
    /// the last answering hop before it (where the NAT is, or on the link after it), and the
    /// evidence. Nil when no hop shows one, when the first that does is hop 2 or nearer (the
    /// client's own router or host translates: expected), or when as many answering hops from
    /// there on quote our probe as sent as quote it translated (one path of several: no claim).
    static func quotedTranslation(_ trace: TraceResult) -> (first: TraceHop, before: TraceHop?, rewrite: HopQuoteRewrite, evidence: [Evidence])? {
        let hops = trace.hops.sorted { $0.ttl < $1.ttl }
        guard let index = hops.firstIndex(where: { !($0.quoteRewrite?.fields.isDisjoint(with: .translation) ?? true) }),
              let rewrite = hops[index].quoteRewrite else { return nil }
        let first = hops[index]
        guard first.ttl >= 3 else { return nil }
        let beyond = hops[index...].filter { $0.received > 0 }
        let translated = beyond.filter { !($0.quoteRewrite?.fields.isDisjoint(with: .translation) ?? true) }.count
        guard translated * 2 > beyond.count else { return nil }
        let before = hops[..<index].last { $0.received > 0 }
        var evidence: [Evidence] = []
        if let before {
            evidence.append(Evidence(probe: ProbeName.traceroute, hop: before.ttl,
                                     detail: "hop \(before.ttl)\(addressSuffix(before)) quotes our probe as sent, from \(rewrite.sentEndpoint)"))
        }
        let fields = QuoteRewrite.names.filter { rewrite.fields.contains($0.0) }.map(\.1).joined(separator: ", ")
        evidence.append(Evidence(probe: ProbeName.traceroute, hop: first.ttl,
                                 detail: "hop \(first.ttl)\(addressSuffix(first)) quotes our probe from \(rewrite.quotedEndpoint), not \(rewrite.sentEndpoint) (\(rewrite.answers) of \(first.received) answers; rewritten: \(fields)); \(translated) of \(beyond.count) answering hops from there on quote it translated"))
        return (first, before, rewrite, evidence)
    }

    static func addressSuffix(_ hop: TraceHop) -> String {
        hop.addresses.first.map { " (\($0.address))" } ?? ""
    }
}

extension IPAddress {
    /// 100.64.0.0/10, the shared address space of carrier-grade NAT (RFC 6598).
    var isSharedAddressSpace: Bool { family == .ipv4 && bytes.count == 4 && bytes[0] == 100 && bytes[1] & 0xc0 == 64 }

    /// 10/8, 172.16/12, 192.168/16 (RFC 1918).
    var isPrivateIPv4: Bool {
        guard family == .ipv4, bytes.count == 4 else { return false }
        return bytes[0] == 10 || (bytes[0] == 172 && bytes[1] & 0xf0 == 16) || (bytes[0] == 192 && bytes[1] == 168)
    }
}
