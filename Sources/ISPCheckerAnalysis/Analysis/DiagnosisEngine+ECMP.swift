import ISPCheckerResults

extension DiagnosisEngine {
    // MARK: ECMP

    /// Loss on some of the parallel paths only (the ECMP probe): flows through one next hop of a
    /// load-balanced hop lose probes, flows through the other(s) do not. Located at the hop where
    /// the lossy path branches off: that router or its onward link loses, not the routers every
    /// path shares (the clean paths cross those too). Connections hashed onto that path suffer,
    /// the others do not, which is why the loss seems to come and go between applications.
    static func ecmpPathLoss(_ context: AnalysisContext) -> [Diagnosis] {
        guard let ecmp = context.probes(named: ProbeName.ecmp).lazy.compactMap(\.measurement.ecmp).first,
              ecmp.spread == .partial, let hop = ecmp.lossyHop, let paths = ecmp.paths, let lossy = ecmp.lossyPaths else { return [] }
        let address = ecmp.lossyHopAddress.map { " (\($0))" } ?? ""
        let lossText = ecmp.lossyLossPercent.map { "\(format($0)) %" } ?? "part"
        let counted = ecmp.lossySent.flatMap { sent in ecmp.lossyReceived.map { " (\(sent - $0) of \(sent) probes)" } } ?? ""
        let clean = ecmp.cleanPathAddresses.isEmpty ? "the other path" + (paths - lossy > 1 ? "s" : "")
            : "flows through " + ecmp.cleanPathAddresses.joined(separator: ", ")
        let cleanLoss = ecmp.cleanLossPercent.map { " (\(format($0)) % loss)" } ?? ""
        let oneOf = lossy == 1 ? "one of \(paths)" : "\(lossy) of \(paths)"
        let component = DiagnosisComponent.forHop(hop, accessHops: context.thresholds.path.accessHops, beyond: DiagnosisComponent.peeringTransit)
        var evidence = [Evidence(probe: ProbeName.ecmp, hop: hop,
                                 detail: "flows through hop \(hop)\(address) lose \(lossText) of their probes to \(context.target)\(counted); \(clean) lose none\(cleanLoss)")]
        evidence += ecmp.pathSummaries.map { Evidence(probe: ProbeName.ecmp, detail: $0) }
        if let ping = context.pingLossPercent {
            evidence.append(Evidence(probe: ProbeName.ping, detail: "\(format(ping)) % packet loss to \(context.target) (ping's one flow takes one of the paths)"))
        }
        let before = hop > 1 ? "hop \(hop - 1)" : "your router"
        return [Diagnosis(component: component, confidence: 0.92,
                          explanation: "Loss on \(oneOf) parallel paths at hop \(hop)\(address): the load balancer at \(before) spreads connections over \(paths) paths, and those through hop \(hop)\(address) lose \(lossText) of their packets while \(clean) do not. Only the connections hashed onto that path suffer.",
                          suggestedAction: component == DiagnosisComponent.localNetwork
                              ? "Check the link or device at hop \(hop)\(address) of your network; take it out of the load balancing until fixed"
                              : "Report to the ISP that the path through hop \(hop)\(address) of its load-balanced (ECMP) hop loses packets, with this per-path evidence: they can take that next hop or its link out of the group",
                          evidence: evidence)]
    }
}
