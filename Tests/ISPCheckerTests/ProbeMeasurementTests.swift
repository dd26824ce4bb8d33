import FoundationEssentials
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerResults

/// What analysis reads of an entry is the same whether the entry came from a probe's typed result
/// or from a saved report's details, so a replayed run grades and scores like the live one.
@Suite struct ProbeMeasurementTests {
    private func roundTrip(_ report: ProbeReport) throws -> ProbeReport {
        try JSONDecoder().decode(ProbeReport.self, from: JSONEncoder().encode(report))
    }

    private func attempt(_ resolver: String, _ outcome: ServiceOutcome, latency: Int64? = 12_345_678) throws -> DNSResolverAttempt {
        DNSResolverAttempt(resolver: DNSResolverAddress(address: try #require(IPAddress(resolver))), outcome: outcome,
                           latencyNanoseconds: latency, transport: .udp, truncatedOverUDP: false)
    }

    @Test func aPingsTypedAndDecodedMeasurementsAgree() throws {
        let probes = (0..<3).map { index in
            PingProbe(index: index, sequence: UInt16(index), status: index == 2 ? .timedOut : .received,
                      rttNanoseconds: index == 2 ? nil : 10_123_456 + Int64(index) * 1_000_000)
        }
        let ping = PingResult(target: "t", address: try #require(IPAddress("192.0.2.1")), socketKind: .raw, probes: probes)
        let live = ProbeReport(ping: ping)
        let measured = try #require(live.measurement.ping)
        #expect(measured.lossPercent == 33.333)
        #expect(try roundTrip(live).measurement == live.measurement)
        #expect(try roundTrip(live) == live)
    }

    @Test func serviceEntriesAgreeTypedAndDecoded() throws {
        let dns = DNSResult(name: "a.example", type: .a, attempts: [try attempt("192.0.2.53", .timeout, latency: nil),
                                                                    try attempt("192.0.2.54", .ok)],
                            failoverOnNXDOMAIN: false).report
        #expect(dns.measurement.dns?.failedResolvers == ["192.0.2.53"])
        #expect(dns.measurement.dns?.resolver == "192.0.2.54")
        let tcp = TCPResult(host: "h", port: 443, address: try #require(IPAddress("192.0.2.2")), outcome: .refused,
                            connectNanoseconds: 2_500_000).report
        #expect(tcp.measurement == .tcp(.init(outcome: .known(.refused), connectMilliseconds: 2.5)))
        for report in [dns, tcp] {
            #expect(try roundTrip(report).measurement == report.measurement)
            #expect(HealthThresholds.default.grade(try roundTrip(report)) == HealthThresholds.default.grade(report))
        }
    }

    @Test func anOutcomeThisVersionDoesNotKnowIsNeverOK() {
        let dns = ProbeReport(name: ProbeName.dns, status: .ok, details: ["outcome": .string("quantum_flux")])
        #expect(dns.measurement.outcome == .unrecognized("quantum_flux"))
        #expect(HealthThresholds.default.grade(dns) == .warn)
        let http = ProbeReport(name: ProbeName.http, status: .ok, details: ["outcome": .string("quantum_flux")])
        #expect(HealthThresholds.default.grade(http) == .crit)
        let tcp = ProbeReport(name: ProbeName.tcp, status: .ok, details: ["outcome": .string("OK")])
        #expect(HealthThresholds.default.grade(tcp) == .crit, "outcomes are case-sensitive words of the runbook")
    }

    @Test func settingDetailsSetsTheMeasurement() {
        var report = ProbeReport(name: ProbeName.ping, status: .ok, details: ["packet_loss": .int(0)])
        #expect(HealthThresholds.default.grade(report) == .ok)
        report.details["packet_loss"] = .int(50)
        #expect(report.measurement.ping?.lossPercent == 50)
        #expect(HealthThresholds.default.grade(report) == .crit)
    }

    @Test func critOutcomesAreTyped() {
        var thresholds = HealthThresholds.default
        thresholds.dns.critOutcomes = [.servfail]
        let timeout = ProbeReport(name: ProbeName.dns, status: .ok, details: ["outcome": .string("timeout")])
        let servfail = ProbeReport(name: ProbeName.dns, status: .ok, details: ["outcome": .string("servfail")])
        #expect(thresholds.grade(timeout) == .warn)
        #expect(thresholds.grade(servfail) == .crit)
    }
}
