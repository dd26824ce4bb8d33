import ISPCheckerResults

extension DiagnosisEngine {
    // MARK: Bufferbloat

    /// Latency under load: a bulk flow raised the destination's RTT by at least
    /// `Bufferbloat.increaseWarnMilliseconds`, so a queue on the path fills while the line is
    /// busy and everything else waits behind it. Named after the hop that sends into the
    /// congested link: the first hop whose RTT rises with the destination's is past it.
    static func bufferbloat(_ context: AnalysisContext) -> [Diagnosis] {
        guard let bloat = context.probes(named: ProbeName.bufferbloat).lazy.compactMap(\.measurement.bufferbloat).first,
              let direction = bloat.worstDirection, let increase = bloat.worstIncreaseMilliseconds,
              increase >= ProbeMeasurement.Bufferbloat.increaseWarnMilliseconds else { return [] }
        let rise = format(increase)
        let rpm = bloat.responsivenessRPM.map { " Responsiveness under load: \(format($0.rounded())) RPM (round trips a minute; idle \(bloat.idleRPM.map { format($0.rounded()) } ?? "unknown"))." } ?? ""
        var evidence = [Evidence(probe: ProbeName.bufferbloat,
                                 detail: "RTT to \(context.target): \(bloat.idleMilliseconds.map { format($0) } ?? "?") ms idle, +\(rise) ms under \(direction.rawValue)")]
        for other in BufferbloatResult.Direction.allCases where other != direction {
            if let value = bloat.increaseMilliseconds(other) {
                evidence.append(Evidence(probe: ProbeName.bufferbloat, detail: "+\(format(value)) ms under \(other.rawValue)"))
            }
        }
        let rate = (direction == .upload ? bloat.uploadKilobitsPerSecond : bloat.downloadKilobitsPerSecond)
        let shape = rate.map { " (about \(format(($0 * 0.9 / 1000).rounded())) Mbit/s \(direction == .upload ? "up" : "down"), 90 % of the \(format(($0 / 1000).rounded())) Mbit/s measured)" } ?? ""
        guard let queueHop = bloat.queueHop, let riseHop = bloat.riseHop else {
            return [Diagnosis(component: DiagnosisComponent.upstream, confidence: 0.6,
                              explanation: "Latency rises by \(rise) ms under \(direction.rawValue): a queue on the path to \(context.target) fills while the line is busy (bufferbloat); no hop of the trace answered under load to say where.\(rpm)",
                              suggestedAction: "Enable smart queue management (SQM: fq_codel or cake) on your router, shaped just below the line's rate\(shape), and run the check again with a traceroute",
                              evidence: evidence)]
        }
        let riseAddress = bloat.riseHopAddress.map { " (\($0))" } ?? ""
        let queueAddress = bloat.queueHopAddress.map { " (\($0))" } ?? ""
        // The diagnosis's hop is the queue's: the hop that sends into the congested link (the
        // gateway's link itself when this host's own link is congested).
        evidence.insert(Evidence(probe: ProbeName.bufferbloat, hop: max(queueHop, 1),
                                 detail: "the RTT first rises at hop \(riseHop)\(riseAddress): the link from \(queueHop == 0 ? "this host" : "hop \(queueHop)\(queueAddress)") into it holds the queue"), at: 0)
        let component: String
        let place: String
        let action: String
        switch queueHop {
        case 0:
            component = DiagnosisComponent.localNetwork
            place = "on this host's own link to the gateway (Wi-Fi or the LAN)"
            action = "Use a wired link or a Wi-Fi access point with airtime fairness / fq_codel; on this host, use fq_codel or cake as its queue discipline"
        case 1:
            component = DiagnosisComponent.localNetwork
            place = "at hop 1\(queueAddress): your router's queue"
            action = "Enable smart queue management (SQM: cake or fq_codel) on your router, shaping to just below the line's rate\(shape)"
        default:
            component = DiagnosisComponent.forHop(queueHop, accessHops: context.thresholds.path.accessHops, beyond: DiagnosisComponent.transit)
            place = "at hop \(queueHop)\(queueAddress), \(component == DiagnosisComponent.ispAccess ? "in the ISP's access network" : "beyond the ISP's access network")"
            action = "Ask the operator of hop \(queueHop) to enable AQM (fq_codel, cake, PIE) on its queue towards hop \(queueHop + 1), with this evidence; meanwhile SQM (cake) on your router, shaped below the bottleneck's rate\(shape), takes the queue over"
        }
        let explanation = "Latency rises by \(rise) ms under \(direction.rawValue) \(place). The link from it to hop \(riseHop)\(riseAddress) keeps a standing queue while the line is busy (bufferbloat): calls, games and page loads wait behind bulk transfers.\(rpm)"
        return [Diagnosis(component: component, confidence: 0.85, explanation: explanation, suggestedAction: action, evidence: evidence)]
    }
}
