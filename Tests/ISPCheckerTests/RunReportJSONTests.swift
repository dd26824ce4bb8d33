import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// The run report's JSON: the runbook's snake_case keys, a snake_case trace, and a lossless round trip.
@Suite struct RunReportJSONTests {
    func sample() -> RunReport {
        let trace = Fixture.trace((1...5).map { Fixture.hop($0, ms: 5, loss: $0 >= 4 ? 30 : 0, destination: $0 == 5) })
        return Fixture.analyze([Fixture.ping(loss: 30, avg: 185.3), Fixture.dns(outcome: "ok")], trace: trace)
    }

    func json(_ report: RunReport) throws -> [String: Any] {
        let data = try RunReport.encoder.encode(report)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func topLevelKeysAreTheDocumentedOnes() throws {
        let object = try json(sample())
        #expect(Set(object.keys) == ["schema_version", "id", "target", "timestamp", "mode", "probes", "score", "severity", "diagnosis", "trace"])
        #expect(object["schema_version"] as? Int == 1)
        #expect(object["mode"] as? String == "live")
        #expect(object["severity"] as? String == "P2")
        #expect((object["timestamp"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func probesAndDiagnosisUseTheRunbookKeys() throws {
        let object = try json(sample())
        let probes = try #require(object["probes"] as? [[String: Any]])
        let ping = try #require(probes.first { $0["name"] as? String == "ping" })
        #expect(ping["status"] as? String == "crit")
        let details = try #require(ping["details"] as? [String: Any])
        #expect(details["latency_avg_ms"] as? Double == 185.3)
        #expect(details["packet_loss"] as? Double == 30)
        let diagnosis = try #require((object["diagnosis"] as? [[String: Any]])?.first)
        #expect(diagnosis["component"] as? String == "Peering/Transit")
        #expect(diagnosis["suggested_action"] as? String == "Escalate to ISP with traceroute evidence")
        #expect(diagnosis["suggestedAction"] == nil)
        let evidence = try #require((diagnosis["evidence"] as? [[String: Any]])?.first)
        #expect(evidence["probe"] as? String == "traceroute")
        #expect(evidence["hop"] as? Int == 4)
    }

    @Test func theTraceInTheReportIsSnakeCase() throws {
        let trace = try #require(try json(sample())["trace"] as? [String: Any])
        #expect(trace["duration_ms"] != nil)
        #expect(trace["durationMilliseconds"] == nil)
        #expect(trace["stop"] as? String == "destination_reached")
        #expect(trace["method"] as? String == "udp")
        let hop = try #require((trace["hops"] as? [[String: Any]])?.last)
        #expect(Set(hop.keys).isSuperset(of: ["ttl", "addresses", "sent", "received", "packet_loss", "latency_avg_ms", "is_destination", "mpls_stacks", "unreachable"]))
        #expect(hop["isDestination"] == nil)
        #expect(hop["is_destination"] as? Bool == true)
    }

    /// Traces of every shape: clean, TCP with an unreachable stop, MPLS labels, echo counts, names.
    func traces() -> [TraceResult] {
        var unreachable = Fixture.trace([Fixture.hop(1, ms: 1), Fixture.hop(2, ms: 2, unreachable: UnreachableCode(family: .ipv6, code: 1))],
                                        stop: .unreachable(UnreachableCode(family: .ipv6, code: 1)))
        unreachable.method = .tcp(port: 443)
        var labelled = Fixture.trace([Fixture.hop(1, ms: 1), Fixture.hop(2, ms: nil), Fixture.hop(3, ms: 3, destination: true)])
        labelled.method = .icmp
        labelled.hops[0].mplsStacks = [[MPLSLabel(label: 16005, trafficClass: 5, bottomOfStack: true, ttl: 1)]]
        labelled.hops[0].addresses[0].name = "r1.lab"
        labelled.hops[2].echoSent = 10
        labelled.hops[2].echoReceived = 9
        return [Fixture.cleanTrace(), unreachable, labelled, Fixture.trace([Fixture.hop(1, ms: nil)], stop: .maxHopsReached)]
    }

    /// One JSON dialect: `trace --json` and `sweep --trace --json` write a trace exactly as the
    /// run report's `trace` (docs/trace.schema.json is report.schema.json's `$defs/trace`).
    @Test func aTraceResultsOwnJSONIsTheRunReportsTrace() throws {
        func canonical(_ object: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        for trace in traces() {
            let report = RunReport(target: "t", timestamp: Date(timeIntervalSince1970: 0), probes: [], score: 0, trace: trace)
            let inReport = try #require(try json(report)["trace"])
            let own = try JSONSerialization.jsonObject(with: try RunReport.encoder.encode(trace))
            #expect(try canonical(own) == canonical(inReport))
            #expect(try RunReport.decoder.decode(TraceResult.self, from: try RunReport.encoder.encode(trace)) == trace)
        }
    }

    @Test func aTraceWithAnUnknownMethodOrStopIsNotDecoded() throws {
        let good = try #require(try JSONSerialization.jsonObject(with: try RunReport.encoder.encode(Fixture.cleanTrace())) as? [String: Any])
        for (key, value) in [("method", "sctp"), ("stop", "destinationReached")] {
            var bad = good
            bad[key] = value
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(TraceResult.self, from: try JSONSerialization.data(withJSONObject: bad)) }
        }
    }

    @Test func aReportRoundTripsThroughJSON() throws {
        var report = sample()
        report.timestamp = Date(timeIntervalSince1970: 1_800_000_000)   // ISO 8601 keeps whole seconds
        let decoded = try RunReport.decoder.decode(RunReport.self, from: try RunReport.encoder.encode(report))
        #expect(decoded == report)
    }

    @Test func unreachableAndTCPTracesRoundTrip() throws {
        var trace = Fixture.trace([Fixture.hop(1, ms: 1, unreachable: UnreachableCode(family: .ipv4, code: 0))],
                                  stop: .unreachable(UnreachableCode(family: .ipv4, code: 0)))
        trace.method = .tcp(port: 443)
        let report = RunReport(target: "t", timestamp: Date(timeIntervalSince1970: 0), probes: [], score: 0, trace: trace)
        let data = try RunReport.encoder.encode(report)
        #expect(String(decoding: data, as: UTF8.self).contains("\"mark\" : \"!N\""))
        #expect(try RunReport.decoder.decode(RunReport.self, from: data) == report)
    }

    @Test func aNewerSchemaVersionIsRefusedWithAnUpgradeHint() throws {
        let text = #"{"schema_version": 2, "id": "x", "target": "t", "timestamp": "2027-01-15T08:00:00Z", "mode": "live", "probes": [], "score": 0, "severity": "P4", "diagnosis": []}"#
        #expect(throws: DecodingError.self) { try RunReport.decoder.decode(RunReport.self, from: Data(text.utf8)) }
    }

    @Test func reanalyzingASavedReportRescoresItAsReplay() throws {
        let saved = sample()
        let data = try RunReport.encoder.encode(saved)
        let loaded = try RunReport.decoder.decode(RunReport.self, from: data)
        let same = HealthAnalyzer().reanalyze(loaded)
        #expect(same.mode == .replay)
        #expect(same.id == saved.id)
        #expect(same.score == saved.score)
        #expect(same.diagnosis == saved.diagnosis)
        // Looser thresholds: 30 % loss is now a warning, and the score drops.
        let lenient = HealthAnalyzer(thresholds: HealthThresholds(ping: .init(lossWarnPercent: 20, lossCritPercent: 50))).reanalyze(loaded)
        #expect(lenient.probe("ping")?.status == .warn)
        #expect(lenient.score < saved.score)
    }
}
