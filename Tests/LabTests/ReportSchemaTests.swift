import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// Run-report JSON conforms to docs/report.schema.json, and the check is real: JSON that
/// breaks the schema is caught. Needs python3 with jsonschema, not root.
@Suite struct ReportSchemaTests {
    static let target = "10.99.5.2"

    func hop(_ ttl: Int, ms: Double?, destination: Bool = false, unreachable: UnreachableCode? = nil, mpls: Bool = false) -> TraceHop {
        let answered = ms != nil
        return TraceHop(ttl: ttl, addresses: answered ? [HopAddress(address: IPAddress("10.99.\(ttl).2")!, replies: 3, name: ttl == 1 ? "r1.lab" : nil)] : [],
                        sent: 3, received: answered ? 3 : 0, lossPercent: answered ? 0 : 100,
                        lastMilliseconds: ms, avgMilliseconds: ms, bestMilliseconds: ms, worstMilliseconds: ms, stdevMilliseconds: answered ? 0 : nil,
                        mplsStacks: mpls ? [[MPLSLabel(label: 16005, trafficClass: 0, bottomOfStack: true, ttl: 1)]] : [],
                        unreachable: unreachable.map { [$0] } ?? [], isDestination: destination, clock: answered ? .pcap : nil)
    }

    func trace(_ hops: [TraceHop], stop: TraceStop, method: TraceMethod = .udp) -> TraceResult {
        TraceResult(target: Self.target, address: IPAddress(Self.target)!, method: method, paris: true, rounds: 3, hops: hops, stop: stop, durationMilliseconds: 12.5)
    }

    func ping(loss: Double, avg: Double?) -> ProbeReport {
        var details: [String: DetailValue] = ["target_ip": .string(Self.target), "packets_sent": .int(10),
                                              "packets_received": .int(Int(10 - loss / 10)), "packet_loss": .double(loss), "clock": .string("pcap")]
        if let avg { details["latency_avg_ms"] = .double(avg) }
        return ProbeReport(name: "ping", status: .ok, details: details, error: loss == 100 ? "100% packet loss" : nil)
    }

    func reports() -> [RunReport] {
        let analyzer = HealthAnalyzer()
        let healthy = trace((1...4).map { hop($0, ms: Double($0)) } + [hop(5, ms: 5, destination: true, mpls: true)], stop: .destinationReached, method: .tcp(port: 443))
        let dark = trace([hop(1, ms: 0.4)] + (2...6).map { hop($0, ms: nil) }, stop: .maxHopsReached)
        let unreachable = trace([hop(1, ms: 0.4, unreachable: UnreachableCode(family: .ipv4, code: 0))], stop: .unreachable(UnreachableCode(family: .ipv4, code: 0)))
        let dns = ProbeReport(name: "dns", status: .crit, details: ["query": .string("dest.lab"), "outcome": .string("timeout"),
                                                                   "failed_resolvers": .strings(["10.99.9.9"])], error: "timeout: no nameservers responded")
        let http = ProbeReport(name: "http", status: .ok, details: ["url": .string("http://dest.lab/"), "status_code": .int(503), "outcome": .string("http_error"), "ttfb_ms": .double(12.5)])
        return [
            analyzer.analyze(target: Self.target, probes: [ping(loss: 0, avg: 5), ProbeReport(trace: healthy)], trace: healthy),
            analyzer.analyze(target: Self.target, probes: [ping(loss: 100, avg: nil), ProbeReport(trace: dark), dns], trace: dark),
            analyzer.analyze(target: Self.target, probes: [ping(loss: 100, avg: nil), ProbeReport(trace: unreachable)], trace: unreachable),
            analyzer.analyze(target: Self.target, probes: [ping(loss: 0, avg: 5), dns, http], trace: nil),
            analyzer.analyze(target: Self.target, probes: [], trace: nil),
        ]
    }

    @Test func everyKindOfReportConformsToTheSchema() throws {
        for report in reports() {
            let violations = try ReportSchema.violations(of: report)
            #expect(violations.isEmpty, "\(report.diagnosis.first?.component ?? "no diagnosis"): \(violations)")
        }
    }

    @Test func replayedReportsConformToo() throws {
        for report in reports() {
            let replayed = HealthAnalyzer().reanalyze(try RunReport.decoder.decode(RunReport.self, from: try RunReport.encoder.encode(report)))
            #expect(try ReportSchema.violations(of: replayed).isEmpty)
        }
    }

    @Test func jsonThatBreaksTheSchemaIsCaught() throws {
        let data = try RunReport.encoder.encode(reports()[1])
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // camelCase where the runbook wants snake_case, a score out of range, an unknown component.
        var diagnosis = try #require(object["diagnosis"] as? [[String: Any]])
        diagnosis[0]["suggestedAction"] = diagnosis[0].removeValue(forKey: "suggested_action")
        diagnosis[0]["component"] = "Somewhere"
        object["diagnosis"] = diagnosis
        object["score"] = 140
        let violations = try ReportSchema.violations(ofJSON: try JSONSerialization.data(withJSONObject: object))
        #expect(violations.contains { $0.hasPrefix("score:") })
        #expect(violations.contains { $0.hasPrefix("diagnosis/0/component:") })
        #expect(violations.contains { $0.hasPrefix("diagnosis/0:") && $0.contains("suggested_action") })
    }

    /// What `isp-checker ping --json` prints, built from the library's types as the CLI builds it.
    struct PingOutput: Encodable {
        var ping: PingResult
        var engine: EngineStatus
    }

    func pingJSON() throws -> Data {
        let probes = [PingProbe(index: 0, sequence: 7, status: .received, rttNanoseconds: 812_000, clock: .pcap, replyTTL: 61),
                      PingProbe(index: 1, sequence: 8, status: .timedOut),
                      PingProbe(index: 2, sequence: 9, status: .sendFailed, error: "Network is unreachable")]
        let ping = PingResult(target: "dest.lab", address: IPAddress(Self.target)!, socketKind: .raw, probes: probes)
        let engine = EngineStatus(sockets: [.ipv4: .raw, .ipv6: .datagram], captureDevice: "any", bestClock: .pcap, capabilitiesDropped: true)
        return try RunReport.encoder.encode(PingOutput(ping: ping, engine: engine))
    }

    @Test func pingJSONConformsToItsSchema() throws {
        #expect(try JSONSchema.violations(of: try pingJSON(), schema: "ping") == [])
    }

    /// The check of every `--json` can fail: a camelCase key (the dialect before snake_case),
    /// a key no schema knows, a value out of range are each caught.
    @Test func aWrongKeyInPingJSONIsCaught() throws {
        var object = try #require(try JSONSerialization.jsonObject(with: try pingJSON()) as? [String: Any])
        var ping = try #require(object["ping"] as? [String: Any])
        ping["lossPercent"] = ping.removeValue(forKey: "loss_percent")
        var probes = try #require(ping["probes"] as? [[String: Any]])
        probes[0]["rttMs"] = 0.812
        probes[0]["reply_ttl"] = 300
        ping["probes"] = probes
        object["ping"] = ping
        let violations = try JSONSchema.violations(of: try JSONSerialization.data(withJSONObject: object), schema: "ping")
        #expect(violations.contains { $0.hasPrefix("ping:") && $0.contains("'loss_percent' is a required property") }, "\(violations)")
        #expect(violations.contains { $0.hasPrefix("ping:") && $0.contains("lossPercent") }, "\(violations)")
        #expect(violations.contains { $0.hasPrefix("ping/probes/0:") && $0.contains("rttMs") }, "\(violations)")
        #expect(violations.contains { $0.hasPrefix("ping/probes/0/reply_ttl:") }, "\(violations)")
    }

    /// A schema that `$ref`s another (trace.schema.json is report.schema.json's trace) checks
    /// through the reference: a camelCase hop key in a trace is caught too.
    @Test func aCamelCaseKeyInATraceIsCaughtThroughTheReference() throws {
        let trace = trace([hop(1, ms: 0.4), hop(2, ms: 1, destination: true)], stop: .destinationReached)
        let data = try RunReport.encoder.encode(trace)
        #expect(try JSONSchema.violations(of: data, schema: "trace") == [])
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var hops = try #require(object["hops"] as? [[String: Any]])
        hops[1]["isDestination"] = hops[1].removeValue(forKey: "is_destination")
        object["hops"] = hops
        let violations = try JSONSchema.violations(of: try JSONSerialization.data(withJSONObject: object), schema: "trace")
        #expect(violations.contains { $0.hasPrefix("hops/1:") && $0.contains("isDestination") }, "\(violations)")
    }
}
