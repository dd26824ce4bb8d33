import ISPCheckerResults

/// The diagnosis rules, in the order they are tried. Each looks at the graded probes and the
/// path analysis and may add entries; a rule that explains the whole run (the gateway is down,
/// everything fails) stops the fault rules after it. Faults come out most confident first (rule
/// order among equals), informational notes (rate limiting, baseline) after them.
enum DiagnosisEngine {
    static func diagnose(_ context: AnalysisContext) -> (diagnosis: [Diagnosis], completeOutage: Bool) {
        guard !context.probes.isEmpty else {
            return ([Diagnosis(component: DiagnosisComponent.measurement, confidence: 1,
                               explanation: "No probe ran, so nothing is known about the connection",
                               suggestedAction: "Run at least a ping and a traceroute to the target", informational: true)], false)
        }
        var faults: [Diagnosis] = []
        var notes: [Diagnosis] = []
        var completeOutage = false

        let portal = captivePortal(context)
        faults += portal
        if portal.isEmpty, let local = localNetworkDown(context) {
            faults.append(local)
            completeOutage = context.probes.allSatisfy { $0.status == .crit }
        } else if portal.isEmpty, let outage = completeOutageRule(context) {
            faults.append(outage)
            completeOutage = true
        } else {
            // Loss on some parallel paths only explains the trace's and ping's loss (each took
            // one path): it replaces the single-path loss rules.
            let parallel = ecmpPathLoss(context)
            if parallel.isEmpty { faults += pathLoss(context, notes: &notes) } else { faults += parallel }
            faults += latency(context)
            faults += unreachableFromRouter(context)
            faults += destinationService(context)
            if parallel.isEmpty { faults += lossWithoutLocation(context) }
            faults += pathMTUBlackHole(context)
            faults += bufferbloat(context)
        }
        faults += dns(context, completeOutage: completeOutage)
        faults += dnsInterception(context)
        faults = faults.map { insideTunnel($0, path: context.path) }
        notes = rateLimiting(context) + notes + carrierGradeNAT(context)

        return (ordered(faults) + notes, completeOutage)
    }

    /// Most confident first; equal confidence keeps rule order (a stable sort).
    static func ordered(_ faults: [Diagnosis]) -> [Diagnosis] {
        faults.enumerated().sorted { lhs, rhs in
            lhs.element.confidence != rhs.element.confidence ? lhs.element.confidence > rhs.element.confidence : lhs.offset < rhs.offset
        }.map(\.element)
    }

    // MARK: Rules

    /// The gateway (hop 1) does not answer and nothing beyond it does, and no probe reaches the target.
    static func localNetworkDown(_ context: AnalysisContext) -> Diagnosis? {
        guard let path = context.path, !path.gatewayAnswered, path.farthestAnsweringTTL == nil, !context.ipReachable else { return nil }
        var evidence = [Evidence(probe: ProbeName.traceroute, hop: 1, detail: "the gateway (hop 1) did not answer any probe, nor did any hop beyond it")]
        if let loss = context.pingLossPercent { evidence.append(Evidence(probe: ProbeName.ping, detail: "\(format(loss)) % packet loss to \(context.target)")) }
        return Diagnosis(component: DiagnosisComponent.localNetwork, confidence: 0.9,
                         explanation: "The local gateway does not answer: nothing leaves the local network",
                         suggestedAction: "Check the local router or modem, its cables or Wi-Fi link, and restart it", evidence: evidence)
    }

    /// Every probe fails and the trace gets no answer past the ISP's access network.
    static func completeOutageRule(_ context: AnalysisContext) -> Diagnosis? {
        guard !context.ipReachable, context.ping != nil || context.trace != nil,
              context.probes.allSatisfy({ $0.status == .crit }), context.nothingAnswersPastAccess else { return nil }
        var evidence = context.probes.map { probe in
            Evidence(probe: probe.name, detail: probe.error ?? "status \(probe.status.rawValue)")
        }
        var location = ""
        if let path = context.path {
            if let unreachable = path.unreachable {
                evidence.append(Evidence(probe: ProbeName.traceroute, hop: unreachable.ttl, detail: "hop \(unreachable.ttl) answered destination unreachable \(unreachable.code)"))
                location = ": hop \(unreachable.ttl) has no way onward (\(unreachable.code))"
            } else {
                // A TTL is at most 255 (decoded reports are checked); min keeps a report built in
                // code with an absurd TTL from overflowing.
                let dark = min(path.farthestAnsweringTTL ?? 0, 255) + 1
                evidence.append(Evidence(probe: ProbeName.traceroute, hop: dark, detail: "no answer from hop \(dark) onward"))
                location = path.farthestAnsweringTTL.map { ": the path goes dark after hop \($0)" } ?? ""
            }
        }
        return Diagnosis(component: DiagnosisComponent.upstream, confidence: 0.98,
                         explanation: "Complete connectivity failure detected\(location)",
                         suggestedAction: "Verify ISP status and local network equipment", evidence: evidence)
    }

    /// Loss that begins at hop N and persists to the destination, confirmed end to end.
    static func pathLoss(_ context: AnalysisContext, notes: inout [Diagnosis]) -> [Diagnosis] {
        guard let path = context.path, let loss = path.persistentLoss else { return [] }
        let accessHops = context.thresholds.path.accessHops
        let n = loss.startTTL
        if loss.total && context.ipReachable {
            notes.append(Diagnosis(component: DiagnosisComponent.icmpRateLimiting, confidence: 0.7,
                                   explanation: "Hops from \(n) on do not answer the traceroute probes, yet \(context.target) is reachable: they filter these probes",
                                   suggestedAction: "None needed; try another trace method (-M tcp or -M icmp)",
                                   evidence: [Evidence(probe: ProbeName.traceroute, hop: n, detail: "no answer from hop \(n) onward")], informational: true))
            return []
        }
        guard context.endToEndLossConfirmed else {
            // The trace's last hops lose answers but the target does not lose pings: they limit
            // the ICMP errors (or echo replies) they send.
            notes.append(Diagnosis(component: DiagnosisComponent.icmpRateLimiting, confidence: 0.8,
                                   explanation: "Hops \(n) to \(path.hops.last?.ttl ?? n) answer only part of the traceroute probes while ping reaches \(context.target) with \(format(context.pingLossPercent ?? 0)) % loss: they limit ICMP, this is not packet loss",
                                   suggestedAction: "None needed; use ping or TCP probes for loss toward these hops",
                                   evidence: [Evidence(probe: ProbeName.traceroute, hop: n, detail: "\(format(loss.startLossPercent)) % of probes unanswered at hop \(n)")],
                                   informational: true))
            return []
        }
        let lossDetail = loss.byEcho
            ? "echo requests to each hop: \(format(loss.startLossPercent)) % lost from hop \(n) on, \(format(loss.lastLossPercent)) % at the last hop"
            : "\(format(loss.startLossPercent)) % loss from hop \(n), \(format(loss.lastLossPercent)) % at the last hop"
        var evidence = [Evidence(probe: ProbeName.traceroute, hop: n, detail: lossDetail)]
        if let pingLoss = context.pingLossPercent { evidence.append(Evidence(probe: ProbeName.ping, detail: "\(format(pingLoss)) % packet loss to \(context.target)")) }
        if loss.byEcho, let before = path.hops.last(where: { $0.ttl < n && ($0.echoReceived ?? 0) > 0 }),
           let sent = before.echoSent, let received = before.echoReceived {
            evidence.append(Evidence(probe: ProbeName.traceroute, hop: before.ttl,
                                     detail: "hop \(before.ttl) before it: \(format(Double(sent - received) * 100 / Double(sent))) % of its echo requests lost"))
        } else if let before = path.hops.last(where: { $0.ttl < n && $0.received > 0 }) {
            evidence.append(Evidence(probe: ProbeName.traceroute, hop: before.ttl, detail: "hop \(before.ttl) before it: \(format(before.lossPercent)) % loss"))
        }
        let component = DiagnosisComponent.forHop(n, accessHops: accessHops, beyond: DiagnosisComponent.peeringTransit)
        if loss.total {
            if context.expectedDestinationTTL == n {
                return [Diagnosis(component: DiagnosisComponent.destination, confidence: 0.8,
                                  explanation: "The path answers up to hop \(n - 1), and \(context.target) (hop \(n) in earlier runs) does not answer",
                                  suggestedAction: "Contact the target's operator; the path up to it works",
                                  evidence: evidence + [Evidence(probe: ProbeName.traceroute, hop: n, detail: "earlier runs reached the target at hop \(n)")])]
            }
            return [Diagnosis(component: component, confidence: 0.75,
                              explanation: "No answer from hop \(n) onward: traffic to \(context.target) is dropped at hop \(n) (or the target itself is down)",
                              suggestedAction: action(forLossAt: component), evidence: evidence)]
        }
        let confidence = context.pingLossPercent == nil ? 0.7 : 0.9
        return [Diagnosis(component: component, confidence: confidence,
                          explanation: "Significant packet loss detected at hop \(n), persisting to the destination",
                          suggestedAction: action(forLossAt: component), evidence: evidence)]
    }

    /// End-to-end latency above the warn threshold, located by the RTT step between two hops.
    static func latency(_ context: AnalysisContext) -> [Diagnosis] {
        guard context.endToEndLatencyHigh else { return [] }
        let latency = context.pingLatencyMilliseconds ?? context.trace?.hops.last?.avgMilliseconds ?? 0
        let endToEnd = Evidence(probe: context.ping != nil ? ProbeName.ping : ProbeName.traceroute,
                                detail: "average latency \(format(latency)) ms to \(context.target)")
        guard let path = context.path else {
            return [Diagnosis(component: DiagnosisComponent.transit, confidence: 0.4,
                              explanation: "High latency to \(context.target); no traceroute to locate it",
                              suggestedAction: "Run a traceroute to find the hop where the latency appears", evidence: [endToEnd])]
        }
        guard let step = path.latencyStep else {
            return [Diagnosis(component: DiagnosisComponent.transit, confidence: 0.5,
                              explanation: "High latency detected in transit path, increasing progressively without one step",
                              suggestedAction: "Investigate transit provider performance", evidence: [endToEnd])]
        }
        let component = DiagnosisComponent.forHop(step.ttl, accessHops: context.thresholds.path.accessHops, beyond: DiagnosisComponent.transit)
        let from = step.previousTTL == 0 ? "the client" : "hop \(step.previousTTL)"
        let evidence = [Evidence(probe: ProbeName.traceroute, hop: step.ttl,
                                 detail: "RTT rises by \(format(step.riseMilliseconds)) ms at hop \(step.ttl) (\(format(step.fromMilliseconds)) ms at \(from), at least \(format(step.toMilliseconds)) ms from hop \(step.ttl) on)"),
                        endToEnd]
        let explanation = component == DiagnosisComponent.transit
            ? "High latency detected in transit path at hop \(step.ttl)"
            : "High latency starts at hop \(step.ttl), in the \(component == DiagnosisComponent.localNetwork ? "local network" : "ISP's access network")"
        let action = switch component {
        case DiagnosisComponent.localNetwork: "Check the local link (Wi-Fi, a saturated uplink, bufferbloat) and the gateway's load"
        case DiagnosisComponent.ispAccess: "Report the latency on the access line to the ISP with traceroute evidence"
        default: "Investigate transit provider performance"
        }
        return [Diagnosis(component: component, confidence: 0.8, explanation: explanation, suggestedAction: action, evidence: evidence)]
    }

    /// The trace ended with a router's destination-unreachable and the target does not answer.
    static func unreachableFromRouter(_ context: AnalysisContext) -> [Diagnosis] {
        guard let path = context.path, let unreachable = path.unreachable, !context.pingReachesTarget else { return [] }
        let evidence = [Evidence(probe: ProbeName.traceroute, hop: unreachable.ttl, detail: "hop \(unreachable.ttl) answered destination unreachable \(unreachable.code)")]
        let hostGone = [1, 3, 9, 10, 13].contains(unreachable.code.code) && unreachable.code.family == .ipv4
            || [1, 3].contains(unreachable.code.code) && unreachable.code.family == .ipv6
        if hostGone && unreachable.ttl > 1 + context.thresholds.path.accessHops {
            return [Diagnosis(component: DiagnosisComponent.destination, confidence: 0.8,
                              explanation: "The router before \(context.target) (hop \(unreachable.ttl)) reports it unreachable (\(unreachable.code)): the target is down or refuses traffic",
                              suggestedAction: "Contact the target's operator; the path up to it works", evidence: evidence)]
        }
        let component = DiagnosisComponent.forHop(unreachable.ttl, accessHops: context.thresholds.path.accessHops, beyond: DiagnosisComponent.peeringTransit)
        return [Diagnosis(component: component, confidence: 0.85,
                          explanation: "Hop \(unreachable.ttl) has no route to \(context.target) (\(unreachable.code))",
                          suggestedAction: action(forLossAt: component), evidence: evidence)]
    }

    /// The network reaches the target, but its TCP or HTTP service fails.
    static func destinationService(_ context: AnalysisContext) -> [Diagnosis] {
        let failing = (context.probes(named: ProbeName.http) + context.probes(named: ProbeName.tcp)).filter { $0.status == .crit }
        guard !failing.isEmpty, context.pingReachesTarget || context.trace?.destinationReached == true else { return [] }
        var evidence = failing.map { probe in
            let what = probe.measurement.http?.statusCode.map { "HTTP \($0)" } ?? probe.measurement.outcome?.description ?? "failed"
            return Evidence(probe: probe.name, detail: probe.error.map { "\(what): \($0)" } ?? what)
        }
        if let loss = context.pingLossPercent { evidence.append(Evidence(probe: ProbeName.ping, detail: "ping reaches the target with \(format(loss)) % loss")) }
        if let last = context.trace?.hops.last, context.trace?.destinationReached == true {
            evidence.append(Evidence(probe: ProbeName.traceroute, hop: last.ttl, detail: "the trace reached the target at hop \(last.ttl)"))
        }
        return [Diagnosis(component: DiagnosisComponent.destination, confidence: 0.85,
                          explanation: "The network reaches \(context.target) but its service fails",
                          suggestedAction: "Contact the service's operator; the connection itself works", evidence: evidence)]
    }

    /// Ping loses packets but no hop of a trace (or no trace) says where.
    static func lossWithoutLocation(_ context: AnalysisContext) -> [Diagnosis] {
        guard let loss = context.pingLossPercent, loss >= context.thresholds.ping.lossWarnPercent, context.pingReachesTarget,
              context.path?.persistentLoss == nil else { return [] }
        let hasTrace = context.path != nil
        return [Diagnosis(component: DiagnosisComponent.upstream, confidence: hasTrace ? 0.5 : 0.4,
                          explanation: hasTrace ? "Packet loss to \(context.target), but no hop of the traceroute shows it" : "Packet loss to \(context.target); no traceroute to locate it",
                          suggestedAction: hasTrace ? "Run a longer traceroute (more rounds) to find the hop where the loss starts" : "Run a traceroute to find the hop where the loss starts",
                          evidence: [Evidence(probe: ProbeName.ping, detail: "\(format(loss)) % packet loss")])]
    }

    /// DNS fails while the network carries packets: the resolver is the problem.
    static func dns(_ context: AnalysisContext, completeOutage: Bool) -> [Diagnosis] {
        guard !completeOutage else { return [] }
        let dnsProbes = context.probes(named: ProbeName.dns)
        if let failed = dnsProbes.first(where: { $0.status == .crit }) {
            var evidence = [Evidence(probe: ProbeName.dns, detail: failed.error ?? failed.measurement.outcome?.description ?? "crit")]
            // A lossy path loses DNS datagrams too: then the resolver is a suspect, not the cause.
            let reachable = context.ipReachable && !context.endToEndLossConfirmed
            if reachable { evidence.append(Evidence(probe: context.pingReachesTarget ? ProbeName.ping : ProbeName.traceroute, detail: "IP connectivity to \(context.target) works")) }
            if context.ipReachable && !reachable, let loss = context.pingLossPercent {
                evidence.append(Evidence(probe: ProbeName.ping, detail: "\(format(loss)) % packet loss on the path may also lose DNS queries"))
            }
            let confidence = reachable ? 0.95 : (context.ping == nil && context.trace == nil ? 0.6 : 0.5)
            return [Diagnosis(component: DiagnosisComponent.dns, confidence: confidence,
                              explanation: reachable ? "DNS resolution failure detected while IP connectivity works" : "DNS resolution failure detected",
                              suggestedAction: reachable ? "Switch to alternative DNS resolvers"
                                  : "Fix the packet loss first; if DNS still fails, switch to alternative DNS resolvers",
                              evidence: evidence)]
        }
        if let partial = dnsProbes.first(where: { $0.status == .warn && $0.measurement.dns?.failedResolvers.isEmpty == false }),
           let measured = partial.measurement.dns {
            let failed = measured.failedResolvers
            let answered = measured.resolver ?? "another resolver"
            return [Diagnosis(component: DiagnosisComponent.dns, confidence: 0.6,
                              explanation: "Resolver \(failed.joined(separator: ", ")) failed; \(answered) answered",
                              suggestedAction: "Switch to alternative DNS resolvers",
                              evidence: [Evidence(probe: ProbeName.dns, detail: "failed resolvers: \(failed.joined(separator: ", "))")])]
        }
        return []
    }

    /// Loss at an intermediate hop that later hops do not share: the router limits the ICMP
    /// errors it sends. A note, never the fault.
    static func rateLimiting(_ context: AnalysisContext) -> [Diagnosis] {
        guard let path = context.path else { return [] }
        return path.nonPersistentLossHops.map { hop in
            let later = path.hops.first { $0.ttl > hop.ttl && $0.lossPercent < hop.lossPercent }
            let laterText = later.map { "; hop \($0.ttl) after it lost \(format($0.lossPercent)) %" } ?? ""
            let silent = hop.received == 0
            return Diagnosis(component: DiagnosisComponent.icmpRateLimiting, confidence: silent ? 0.8 : 0.9,
                             explanation: silent
                                ? "Hop \(hop.ttl) never answers traceroute probes but forwards traffic: it does not send (or limits) ICMP errors; not packet loss"
                                : "Hop \(hop.ttl) answered \(hop.received) of \(hop.sent) probes but later hops lose none of theirs: the router limits the ICMP errors it sends; not packet loss",
                             suggestedAction: "None needed: traffic through hop \(hop.ttl) is not lost",
                             evidence: [Evidence(probe: ProbeName.traceroute, hop: hop.ttl, detail: "\(format(hop.lossPercent)) % unanswered at hop \(hop.ttl)\(laterText)")],
                             informational: true)
        }
    }

    // MARK: MPLS

    /// A fault located at a hop inside an MPLS tunnel says so in its evidence: the hop's own
    /// replies quote a label stack (RFC 4950), or the nearest answering hops on both sides of
    /// it do. Inside a tunnel a router's time-exceeded travels on to the tunnel's end before it
    /// comes back (RFC 3032 §2.3.2), so its RTT and loss include the rest of the tunnel, and the
    /// routers to look at are the tunnel's ends, not only the hop.
    static func insideTunnel(_ diagnosis: Diagnosis, path: PathAnalysis?) -> Diagnosis {
        guard !diagnosis.informational, let path,
              let ttl = diagnosis.evidence.first(where: { $0.probe == ProbeName.traceroute && $0.hop != nil })?.hop,
              let detail = tunnelEvidence(at: ttl, hops: path.hops) else { return diagnosis }
        var tunnelled = diagnosis
        tunnelled.evidence.append(Evidence(probe: ProbeName.traceroute, hop: ttl, detail: detail))
        return tunnelled
    }

    /// "hop 4 is inside an MPLS tunnel (labels 16001/24)", or with the labels of the hops on both
    /// sides; nil when neither the hop nor both of its answering neighbours carry labels.
    static func tunnelEvidence(at ttl: Int, hops: [TraceHop]) -> String? {
        // Each stack outermost label first, "/" between its entries; distinct stacks seen at one
        // hop (ECMP, rounds) joined by "or".
        func labels(_ hop: TraceHop) -> String {
            hop.mplsStacks.map { $0.map { "\($0.label)" }.joined(separator: "/") }.joined(separator: " or ")
        }
        if let hop = hops.first(where: { $0.ttl == ttl }), !hop.mplsStacks.isEmpty {
            return "hop \(ttl) is inside an MPLS tunnel (labels \(labels(hop)))"
        }
        guard let before = hops.last(where: { $0.ttl < ttl && $0.received > 0 }), !before.mplsStacks.isEmpty,
              let after = hops.first(where: { $0.ttl > ttl && $0.received > 0 }), !after.mplsStacks.isEmpty else { return nil }
        return "hop \(ttl) is inside an MPLS tunnel (labels \(labels(before)) at hop \(before.ttl), \(labels(after)) at hop \(after.ttl))"
    }

    // MARK: Wording

    static func action(forLossAt component: String) -> String {
        switch component {
        case DiagnosisComponent.localNetwork: return "Check the local network: Wi-Fi signal, cables and the gateway"
        case DiagnosisComponent.ispAccess: return "Report the loss on the access line to the ISP with traceroute evidence"
        default: return "Escalate to ISP with traceroute evidence"
        }
    }

    /// A number for a sentence: at most one decimal, none when whole.
    /// Never traps: a value no `Int` holds (1e300, infinity, NaN) is written as a Double.
    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        guard rounded == rounded.rounded(), let whole = Int(exactly: rounded) else { return String(rounded) }
        return String(whole)
    }
}
