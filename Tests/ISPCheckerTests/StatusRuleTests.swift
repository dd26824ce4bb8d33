import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// The runbook's status rules, from a probe's details, under the default and changed thresholds.
@Suite struct StatusRuleTests {
    let rules = HealthThresholds.default

    @Test func pingIsOkUpTo150MillisecondsAndWarnAbove() {
        #expect(rules.pingStatus(lossPercent: 0, latencyAvgMilliseconds: 150) == .ok)
        #expect(rules.pingStatus(lossPercent: 0, latencyAvgMilliseconds: 150.1) == .warn)
        #expect(rules.pingStatus(lossPercent: 0, latencyAvgMilliseconds: nil) == .ok)
    }

    @Test func lossFromTwoToTenPercentIsWarnAndAboveTenCrit() {
        #expect(rules.pingStatus(lossPercent: 1.9, latencyAvgMilliseconds: 10) == .ok)
        #expect(rules.pingStatus(lossPercent: 2, latencyAvgMilliseconds: 10) == .warn)
        #expect(rules.pingStatus(lossPercent: 10, latencyAvgMilliseconds: 10) == .warn)
        #expect(rules.pingStatus(lossPercent: 10.1, latencyAvgMilliseconds: 10) == .crit)
        #expect(rules.pingStatus(lossPercent: 100, latencyAvgMilliseconds: nil) == .crit)
    }

    @Test func thresholdsAreConfigurable() {
        let strict = HealthThresholds(ping: .init(latencyWarnMilliseconds: 50, lossWarnPercent: 1, lossCritPercent: 5))
        #expect(strict.pingStatus(lossPercent: 0, latencyAvgMilliseconds: 60) == .warn)
        #expect(strict.pingStatus(lossPercent: 6, latencyAvgMilliseconds: 10) == .crit)
        #expect(strict.grade(Fixture.ping(loss: 0, avg: 60)) == .warn)
    }

    @Test func pingResultMapsToTheRunbookDetailKeysAndLossError() throws {
        let probes = (0..<10).map { index in
            PingProbe(index: index, outcome: EchoOutcome(sequence: UInt16(index), status: index < 3 ? .timedOut : .received,
                                                         rttNanoseconds: index < 3 ? nil : 185_300_000, clock: index < 3 ? nil : .pcap, ttl: 60))
        }
        let result = PingResult(target: "t", address: try #require(IPAddress("10.99.5.2")), socketKind: .raw, probes: probes)
        let report = ProbeReport(ping: result)
        #expect(report.name == "ping")
        #expect(report.status == .crit)
        #expect(report.error == nil)
        #expect(report.details["packets_sent"] == .int(10))
        #expect(report.details["packets_received"] == .int(7))
        #expect(report.details["packet_loss"] == .double(30))
        #expect(report.details["loss_percent"] == .double(30))
        #expect(report.details["latency_avg_ms"] == .double(185.3))
        #expect(report.details["target_ip"] == .string("10.99.5.2"))
        #expect(report.details["clock"] == .string("pcap"))
        #expect(Set(report.details.keys) == ["target_ip", "packets_sent", "packets_received", "packet_loss", "loss_percent", "latency_min_ms",
                                             "latency_avg_ms", "latency_max_ms", "latency_mdev_ms", "clock"])

        let silent = PingResult(target: "t", address: try #require(IPAddress("10.99.5.2")), socketKind: .raw,
                                probes: [PingProbe(index: 0, outcome: EchoOutcome(sequence: 0, status: .timedOut, rttNanoseconds: nil, clock: nil, ttl: nil))])
        #expect(ProbeReport(ping: silent).error == "100% packet loss")
        #expect(ProbeReport(ping: silent).details["latency_avg_ms"] == nil)
    }

    @Test func traceMapsToTracerouteWithCritWhenTheDestinationIsNotReached() {
        let reached = ProbeReport(trace: Fixture.cleanTrace())
        #expect(reached.name == "traceroute")
        #expect(reached.status == .ok)
        #expect(reached.details["hops"] == .int(5))
        #expect(reached.details["destination_reached"] == .bool(true))
        #expect(reached.details["stop"] == .string("destination_reached"))
        let lost = ProbeReport(trace: Fixture.trace([Fixture.hop(1, ms: 1), Fixture.hop(2, ms: nil), Fixture.hop(3, ms: nil)]))
        #expect(lost.status == .crit)
        #expect(lost.details["last_responding_hop"] == .int(1))
        #expect(lost.error == "destination not reached within 3 hops")
    }

    @Test func dnsIsCritOnTimeoutOrNXDOMAINForANameThatMustResolve() {
        #expect(rules.grade(Fixture.dns(outcome: "timeout")) == .crit)
        #expect(rules.grade(Fixture.dns(outcome: "nxdomain")) == .crit)
        #expect(rules.grade(Fixture.dns(outcome: "servfail")) == .crit)
        #expect(rules.grade(Fixture.dns(outcome: "nxdomain", extra: ["must_resolve": .bool(false)])) == .ok)
        #expect(rules.grade(Fixture.dns(outcome: "ok", extra: ["latency_ms": .double(12)])) == .ok)
    }

    @Test func dnsIsWarnWhenSlowOrWhenSomeResolversFailed() {
        #expect(rules.grade(Fixture.dns(outcome: "ok", extra: ["latency_ms": .double(450)])) == .warn)
        #expect(rules.grade(Fixture.dns(outcome: "ok", extra: ["failed_resolvers": .strings(["10.99.9.9"])])) == .warn)
        #expect(rules.grade(Fixture.dns(outcome: "ok", extra: ["failed_resolvers": .strings([])])) == .ok)
    }

    @Test func httpIsGradedByStatusCode() {
        #expect(rules.grade(Fixture.http(statusCode: 200)) == .ok)
        #expect(rules.grade(Fixture.http(statusCode: 404, outcome: "http_error")) == .warn)
        #expect(rules.grade(Fixture.http(statusCode: 503, outcome: "http_error")) == .crit)
        #expect(rules.grade(Fixture.http(statusCode: nil, outcome: "timeout")) == .crit)
        #expect(rules.grade(Fixture.http(statusCode: nil, outcome: "tls_error")) == .crit)
    }

    @Test func httpIsGradedByPhaseTimesAndCertificate() {
        #expect(rules.grade(Fixture.http(extra: ["ttfb_ms": .double(1500)])) == .warn)
        #expect(rules.grade(Fixture.http(extra: ["connect_ms": .double(400)])) == .warn)
        #expect(rules.grade(Fixture.http(extra: ["total_ms": .double(12_000)])) == .crit)
        #expect(rules.grade(Fixture.http(extra: ["cert_days_left": .int(5)])) == .warn)
        #expect(rules.grade(Fixture.http(extra: ["cert_days_left": .int(0)])) == .crit)
        #expect(rules.grade(Fixture.http(extra: ["ttfb_ms": .double(80), "total_ms": .double(120)])) == .ok)
    }

    @Test func tcpIsCritUnlessConnectedAndWarnWhenSlow() {
        #expect(rules.grade(Fixture.tcp(outcome: "refused")) == .crit)
        #expect(rules.grade(Fixture.tcp(outcome: "ok", connectMilliseconds: 20)) == .ok)
        #expect(rules.grade(Fixture.tcp(outcome: "ok", connectMilliseconds: 500)) == .warn)
    }

    @Test func aReportWithoutTheKeysKeepsItsStatus() {
        #expect(rules.grade(ProbeReport(name: "dns", status: .crit, error: "timeout: no nameservers responded")) == .crit)
        #expect(rules.grade(ProbeReport(name: "custom", status: .warn)) == .warn)
    }
}
