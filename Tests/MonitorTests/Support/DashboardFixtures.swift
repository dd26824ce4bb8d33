import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport

/// A run as the dashboard shows it: a ping with loss, average and highest RTT, optionally a
/// three-hop trace whose second hop is an MPLS router, and a diagnosis naming hop 2.
func dashboardRun(target: String, timestamp: Date, rttMilliseconds: Double, lossPercent: Double = 0,
                  score: Double? = nil, withTrace: Bool = false, explanation: String = "Loss starts at hop 2 and carries on to the destination") -> RunReport {
    let whole = Date(timeIntervalSince1970: timestamp.timeIntervalSince1970.rounded(.down))
    let ping = ProbeReport(name: "ping", status: lossPercent > 5 ? .crit : .ok, details: [
        "target_ip": .string("192.0.2.7"), "packets_sent": .int(20), "packets_received": .int(Int(20 - lossPercent / 5)),
        "packet_loss": .double(lossPercent), "latency_avg_ms": .double(rttMilliseconds),
        "latency_max_ms": .double(rttMilliseconds * 1.6), "latency_min_ms": .double(rttMilliseconds * 0.8),
    ])
    var diagnosis: [Diagnosis] = []
    if lossPercent > 0 {
        diagnosis.append(Diagnosis(component: "ISP Access", confidence: 0.8, explanation: explanation,
                                   suggestedAction: "Call the ISP with the hop's address",
                                   evidence: [Evidence(probe: "traceroute", hop: 2, detail: "\(lossPercent)% loss from hop 2")]))
    }
    let trace: TraceResult? = withTrace ? sampleTrace(target: target, lossPercent: lossPercent) : nil
    let report = RunReport(target: target, timestamp: whole, probes: [ping],
                           score: score ?? min(100, lossPercent * 2 + rttMilliseconds / 10), diagnosis: diagnosis, trace: trace)
    // As the store gives it back.
    return try! RunReport.decoder.decode(RunReport.self, from: StoredRun.encoder.encode(report))
}

func sampleTrace(target: String, lossPercent: Double) -> TraceResult {
    func hop(_ ttl: Int, _ address: String, loss: Double, rtt: Double, labels: [[MPLSLabel]] = [], destination: Bool = false) -> TraceHop {
        TraceHop(ttl: ttl, addresses: [HopAddress(address: IPAddress(address)!, replies: 3)], sent: 3, received: loss > 0 ? 2 : 3,
                 lossPercent: loss, lastMilliseconds: rtt, avgMilliseconds: rtt, bestMilliseconds: rtt * 0.9, worstMilliseconds: rtt * 1.2,
                 mplsStacks: labels, unreachable: [], isDestination: destination)
    }
    return TraceResult(
        target: target, address: IPAddress("192.0.2.7")!, method: .icmp, paris: true, rounds: 3,
        hops: [hop(1, "10.0.0.1", loss: 0, rtt: 0.4),
               hop(2, "10.0.1.1", loss: lossPercent, rtt: 8.2,
                   labels: [[MPLSLabel(label: 16001, trafficClass: 0, bottomOfStack: true, ttl: 1)]]),
               hop(3, "192.0.2.7", loss: lossPercent, rtt: 9.1, destination: true)],
        stop: .destinationReached, durationMilliseconds: 3000)
}

/// Fills `store` with `days` of runs of `target` every `every` seconds up to `now`: the RTT
/// swings daily around 20 ms with seeded noise, and one hour in each six loses 10 %; the last
/// hour's runs carry a trace.
func fillDashboardHistory(_ store: any RunStore, target: String, now: Date, days: Double, every seconds: Double,
                          seed: UInt64 = 19) async throws -> [RunReport] {
    var random = SeededRandom(seed: seed)
    var runs: [RunReport] = []
    var time = now.timeIntervalSince1970 - days * 86400
    while time <= now.timeIntervalSince1970 {
        let phase = time.truncatingRemainder(dividingBy: 86400) / 86400 * 2 * Double.pi
        let rtt = 20 + 6 * sin(phase) + Double(random.next() % 1000) / 200
        let lossy = Int(time / 3600) % 6 == 0
        runs.append(dashboardRun(target: target, timestamp: Date(timeIntervalSince1970: time), rttMilliseconds: (rtt * 1000).rounded() / 1000,
                                 lossPercent: lossy ? 10 : 0, withTrace: now.timeIntervalSince1970 - time < 3600))
        time += seconds
    }
    var start = 0
    while start < runs.count {
        try await store.insert(Array(runs[start..<min(start + 2000, runs.count)]))
        start += 2000
    }
    return runs
}
