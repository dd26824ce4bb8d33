// Benchmarks of the analysis path: grading, score and diagnosis of one run report, with and
// without a history for the baseline, and the report's JSON encoding. Pure computation: no
// packets, no privileges.
//
//   cd Benchmarks && swift package benchmark --target AnalysisBenchmarks
//
// Goal (issue 5): score + diagnosis of one report ≤ 50 µs.

import Benchmark
import Foundation
import ISPChecker

/// A run with something to find: ping with 30 % loss at 185 ms, an 8-hop trace whose loss starts
/// at hop 4 and persists, an ICMP rate limit at hop 2, a latency step at hop 5, and dns/http
/// probes. Built through the report's public JSON form, as a replay would load it.
func sampleReport(secondsAgo: Double = 0, latency: Double = 185.3) -> RunReport {
    let hops: [[String: Any]] = (1...8).map { ttl in
        let loss = ttl == 2 ? 60.0 : (ttl >= 4 ? 30.0 : 0)
        let ms = Double(ttl) * 0.7 + (ttl >= 5 ? 170 : 0)
        return ["ttl": ttl, "addresses": [["address": "10.99.\(ttl).2", "replies": Int(10 - loss / 10)]],
                "sent": 10, "received": Int(10 - loss / 10), "packet_loss": loss,
                "latency_last_ms": ms, "latency_avg_ms": ms, "latency_best_ms": ms * 0.97, "latency_worst_ms": ms * 1.1,
                "latency_stdev_ms": 0.4, "mpls_stacks": [[String: Any]](), "unreachable": [[String: Any]](),
                "is_destination": ttl == 8, "clock": "pcap"]
    }
    let timestamp = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: 1_800_000_000 - secondsAgo))
    let object: [String: Any] = [
        "schema_version": 1, "id": UUID().uuidString, "target": "10.99.8.2", "timestamp": timestamp, "mode": "live",
        "score": 0, "severity": "P4", "diagnosis": [[String: Any]](),
        "probes": [
            ["name": "ping", "status": "ok", "details": ["target_ip": "10.99.8.2", "packets_sent": 20, "packets_received": 14,
                                                        "packet_loss": 30, "latency_avg_ms": latency, "latency_max_ms": latency + 100]],
            ["name": "traceroute", "status": "crit", "details": ["hops": 8, "destination_reached": true, "stop": "destination_reached"]],
            ["name": "dns", "status": "ok", "details": ["query": "dest.lab", "outcome": "ok", "latency_ms": 4.2]],
            ["name": "http", "status": "ok", "details": ["url": "http://dest.lab/", "status_code": 200, "outcome": "ok", "ttfb_ms": 190]],
        ],
        "trace": ["target": "10.99.8.2", "address": "10.99.8.2", "method": "udp", "paris": true, "rounds": 10,
                  "stop": "destination_reached", "duration_ms": 1200.0, "hops": hops],
    ]
    do {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try RunReport.decoder.decode(RunReport.self, from: data)
    } catch {
        fatalError("the benchmark's sample report does not decode: \(error)")
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000
    )

    Benchmark(
        "HealthAnalyzer.reanalyze: grade + score + diagnosis, 4 probes, 8 hops",
        closure: { benchmark, report in
            let analyzer = HealthAnalyzer()
            for _ in benchmark.scaledIterations {
                blackHole(analyzer.reanalyze(report))
            }
        },
        setup: { () -> RunReport in
            let report = sampleReport()
            let analyzed = HealthAnalyzer().reanalyze(report)
            precondition(analyzed.faults.first?.component == DiagnosisComponent.peeringTransit && analyzed.faults.first?.hop == 4,
                         "the sample run should be diagnosed as Peering/Transit at hop 4, got \(analyzed.diagnosis)")
            return report
        }
    )

    Benchmark(
        "HealthAnalyzer.reanalyze with a 100-run history (baseline)",
        closure: { benchmark, input in
            let analyzer = HealthAnalyzer()
            for _ in benchmark.scaledIterations {
                blackHole(analyzer.reanalyze(input.report, history: input.history))
            }
        },
        setup: { () -> (report: RunReport, history: [RunReport]) in
            let history = (1...100).map { HealthAnalyzer().reanalyze(sampleReport(secondsAgo: Double($0) * 3600, latency: 20)) }
            return (sampleReport(), history)
        }
    )

    Benchmark(
        "RunReport JSON encoding (RunReport.encoder), 4 probes, 8 hops",
        closure: { benchmark, report in
            let encoder = RunReport.encoder
            for _ in benchmark.scaledIterations {
                blackHole(try encoder.encode(report))
            }
        },
        setup: { () -> RunReport in HealthAnalyzer().reanalyze(sampleReport()) }
    )
}
