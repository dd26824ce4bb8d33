import Foundation
import ISPChecker
import TestSupport
import Testing

/// `isp-checker lab` and `isp-checker run` as a NOC engineer runs them: the built binary, a
/// real lab with one fault, the diagnosis it prints, its exit status, and its JSON.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct RunCLILabTests {
    /// Runs one lab scenario through the CLI and decodes the report it wrote. Realistic: `isp-checker
    /// lab` builds the realistic lab by default (kernel ICMP limits, checksum offload), where the
    /// verdict users see must be right.
    func labReport(_ scenario: String) throws -> (status: Int32, report: RunReport, json: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-run-\(scenario)-\(getpid()).json").path
        defer { unlink(file) }
        let result = try run(cliPath, ["lab", "--scenario", scenario, "--json", "--output", file], check: false)
        let json = try String(contentsOfFile: file, encoding: .utf8)
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(json.utf8))
        #expect(result.stdout.contains("\"probes\""), "the report is printed too: \(result.stderr)")
        // What the CLI writes, to the file and to stdout, is what docs/report.schema.json documents.
        #expect(try ReportSchema.violations(ofJSON: Data(result.stdout.utf8)) == [], "lab --json on stdout")
        let violations = try ReportSchema.violations(ofJSON: Data(json.utf8))
        #expect(violations.isEmpty, "\(scenario): \(violations)")
        return (result.status, report, json)
    }

    func faults(_ report: RunReport) -> [Diagnosis] { report.diagnosis.filter { !$0.informational } }

    @Test func aHealthyLabHasNoFaultAndExitsZero() throws {
        let (status, report, _) = try labReport("healthy")
        #expect(status == 0)
        #expect(faults(report).isEmpty, "\(report.diagnosis)")
        #expect(report.score < 20)
        #expect(report.severity == .p4)
        #expect(report.probes.map(\.name) == ["ping", "traceroute", "dns", "http"])
        #expect(report.probes.allSatisfy { $0.status == .ok }, "\(report.probes)")
        #expect(report.trace?.rounds == 10, "no loss, no follow-up trace")
    }

    @Test func transitLossIsPeeringTransitAtTheHopWhereItStarts() throws {
        let (status, report, _) = try labReport("transit-loss")
        #expect(status == 2)
        let fault = try #require(faults(report).first)
        #expect(fault.component == "Peering/Transit")
        #expect(fault.evidence.first?.hop == 4, "\(fault.evidence)")
        #expect(report.score >= 30 && report.score <= 80, "runbook band for loss: \(report.score)")
        // Ping lost packets, so every hop was pinged to locate the loss (echo replies are not
        // thinned by the routers' ICMP limits, unlike a second trace's answers): 100 echoes each,
        // none lost before hop 4, some from hop 4 on.
        #expect(report.trace?.rounds == 10)
        let hops = try #require(report.trace?.hops)
        #expect(hops.allSatisfy { $0.echoSent == 100 }, "\(hops.map { ($0.ttl, $0.echoSent ?? -1) })")
        #expect(hops.filter { $0.ttl < 4 }.allSatisfy { $0.echoReceived == 100 }, "\(hops.map { ($0.ttl, $0.echoReceived ?? -1) })")
        #expect(hops.filter { $0.ttl >= 4 }.allSatisfy { ($0.echoReceived ?? 100) < 100 }, "\(hops.map { ($0.ttl, $0.echoReceived ?? -1) })")
    }

    @Test func aRateLimitedHopIsANoteNotAFault() throws {
        let (status, report, _) = try labReport("rate-limited-hop")
        #expect(status == 0)
        #expect(faults(report).isEmpty, "\(report.diagnosis)")
        let note = try #require(report.diagnosis.first { $0.informational })
        #expect(note.component == "ICMP Rate Limiting")
        #expect(note.evidence.contains { $0.hop == 2 })
    }

    @Test func transitLatencyIsFoundAtTheHopWhereTheRoundTripTimeSteps() throws {
        let (status, report, _) = try labReport("transit-latency")
        #expect(status == 1)
        let fault = try #require(faults(report).first)
        #expect(fault.component == "Transit")
        #expect(fault.evidence.contains { $0.hop == 4 }, "\(fault.evidence)")
        #expect(report.score >= 40 && report.score <= 70, "runbook band for high latency: \(report.score)")
    }

    @Test func aDeadResolverWithIPFineIsDNSAndSaysToSwitchResolvers() throws {
        let (status, report, _) = try labReport("dns-down")
        #expect(status == 2)
        let fault = try #require(faults(report).first)
        #expect(fault.component == "DNS")
        #expect(fault.suggestedAction.contains("resolver"))
        #expect(report.probe("ping")?.status == .ok)
        #expect(report.probe("dns")?.status == .crit)
        #expect(report.probe("dns")?.details["outcome"] == .string("timeout"))
        #expect(report.score > 60, "runbook: DNS critical scores above 60, got \(report.score)")
    }

    @Test func anOutageIsUpstreamWithTheRunbooksConfidence() throws {
        let (status, report, _) = try labReport("outage")
        #expect(status == 2)
        let fault = try #require(faults(report).first)
        #expect(fault.component == "Upstream")
        #expect(abs(fault.confidence - 0.98) < 0.001)
        #expect(report.score == 100)
        #expect(report.severity == .p1)
    }

    @Test func aSavedReportReplaysToTheSameVerdict() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-replay-\(getpid()).json").path
        defer { unlink(file) }
        _ = try run(cliPath, ["lab", "--scenario", "transit-loss", "--json", "--output", file], check: false)
        let saved = try RunReport.decoder.decode(RunReport.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        let replay = try run(cliPath, ["run", "--mode", "replay", "--input", file, "--json"], check: false)
        #expect(replay.status == 2, "\(replay.stderr)")
        #expect(try ReportSchema.violations(ofJSON: Data(replay.stdout.utf8)) == [])
        let again = try RunReport.decoder.decode(RunReport.self, from: Data(replay.stdout.utf8))
        #expect(again.mode == .replay)
        #expect(again.id == saved.id)
        #expect(again.score == saved.score)
        #expect(again.diagnosis.map(\.component) == saved.diagnosis.map(\.component))
    }

    @Test func badArgumentsAreUsageErrorsNotTraces() throws {
        let cases: [([String], String)] = [
            (["run"], "needs --target"),
            (["run", "--target", "10.99.1.2", "--count", "0"], "--count"),
            (["run", "--mode", "replay"], "needs --input"),
            (["run", "--mode", "sideways", "--target", "x"], "sideways"),
            (["lab", "--scenario", "no-such-fault"], "unknown scenario"),
        ]
        for (arguments, message) in cases {
            let result = try run(cliPath, arguments, check: false)
            #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack dump"))
        }
        let missing = try run(cliPath, ["run", "--mode", "replay", "--input", "/nonexistent/report.json"], check: false)
        #expect(missing.status == 66, "\(missing.stderr)")
        #expect(missing.stderr.contains("/nonexistent/report.json"))
    }
}
