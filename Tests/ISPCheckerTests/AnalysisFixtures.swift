import Foundation
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// Hand-written probe results for the report, score and diagnosis tests: a path is a list of
/// hops with their loss and average RTT, the way an mtr report line reads.
enum Fixture {
    static let target = "10.99.5.2"

    /// One hop: `ms` nil means it never answered. `loss` in percent of `sent` probes.
    static func hop(_ ttl: Int, ms: Double?, loss: Double = 0, sent: Int = 10, destination: Bool = false,
                    unreachable: UnreachableCode? = nil) -> TraceHop {
        let received = ms == nil ? 0 : sent - Int((Double(sent) * loss / 100).rounded())
        let address = IPAddress(destination ? target : "10.99.\(ttl).2")!
        return TraceHop(ttl: ttl, addresses: received == 0 ? [] : [HopAddress(address: address, replies: received, name: nil)],
                        sent: sent, received: received, lossPercent: ms == nil ? 100 : loss,
                        lastMilliseconds: received == 0 ? nil : ms, avgMilliseconds: received == 0 ? nil : ms,
                        bestMilliseconds: received == 0 ? nil : ms.map { $0 * 0.95 }, worstMilliseconds: received == 0 ? nil : ms.map { $0 * 1.1 },
                        stdevMilliseconds: received == 0 ? nil : 0.1, mplsStacks: [], unreachable: unreachable.map { [$0] } ?? [],
                        isDestination: destination, clock: received == 0 ? nil : .pcap)
    }

    /// A trace whose last hop is the destination when it answered (and `stop` is not given).
    static func trace(_ hops: [TraceHop], stop: TraceStop? = nil) -> TraceResult {
        let reached = hops.last?.isDestination == true && (hops.last?.received ?? 0) > 0
        return TraceResult(target: target, address: IPAddress(target)!, method: .udp, paris: true, rounds: hops.first?.sent ?? 1,
                           hops: hops, stop: stop ?? (reached ? .destinationReached : .maxHopsReached), durationMilliseconds: 250)
    }

    /// A clean 4-router path to the destination at hop 5, with `ms` RTT at every hop from `from` on.
    static func cleanTrace(stepAt from: Int = 99, stepMilliseconds: Double = 0) -> TraceResult {
        trace((1...5).map { ttl in hop(ttl, ms: Double(ttl) * 0.5 + (ttl >= from ? stepMilliseconds : 0), destination: ttl == 5) })
    }

    static func ping(loss: Double = 0, avg: Double? = 12, sent: Int = 10) -> ProbeReport {
        let received = sent - Int((Double(sent) * loss / 100).rounded())
        var details: [String: DetailValue] = ["target_ip": .string(target), "packets_sent": .int(sent),
                                              "packets_received": .int(received), "packet_loss": .double(loss)]
        if received > 0, let avg { details["latency_avg_ms"] = .double(avg) }
        return ProbeReport(name: "ping", status: .ok, details: details, error: received == 0 ? "100% packet loss" : nil)
    }

    static func dns(outcome: String, error: String? = nil, extra: [String: DetailValue] = [:]) -> ProbeReport {
        ProbeReport(name: "dns", status: outcome == "ok" ? .ok : .crit,
                    details: ["query": .string("dest.lab"), "type": .string("A"), "outcome": .string(outcome)].merging(extra) { $1 },
                    error: error)
    }

    static func http(statusCode: Int? = 200, outcome: String = "ok", extra: [String: DetailValue] = [:]) -> ProbeReport {
        var details: [String: DetailValue] = ["url": .string("http://\(target)/"), "outcome": .string(outcome)]
        if let statusCode { details["status_code"] = .int(statusCode) }
        return ProbeReport(name: "http", status: .ok, details: details.merging(extra) { $1 })
    }

    static func tcp(outcome: String, connectMilliseconds: Double? = nil) -> ProbeReport {
        var details: [String: DetailValue] = ["host": .string(target), "port": .int(443), "outcome": .string(outcome)]
        if let connectMilliseconds { details["connect_ms"] = .double(connectMilliseconds) }
        return ProbeReport(name: "tcp", status: .ok, details: details)
    }

    static func analyze(_ probes: [ProbeReport], trace: TraceResult?, history: [RunReport] = [],
                        thresholds: HealthThresholds = .default, at timestamp: Date = Date(timeIntervalSince1970: 1_800_000_000)) -> RunReport {
        let traceProbe = trace.map { ProbeReport(trace: $0, thresholds: thresholds) }
        return HealthAnalyzer(thresholds: thresholds).analyze(target: target, probes: probes + (traceProbe.map { [$0] } ?? []),
                                                              trace: trace, history: history, timestamp: timestamp)
    }
}
