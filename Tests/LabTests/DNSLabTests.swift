import Foundation
import ISPChecker
import TestSupport
import Testing

/// The dns probe against real dnsmasq and unbound servers, a dropped resolver and an
/// unreachable network, through the CLI in the client namespace.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct DNSLabTests {
    typealias Output = ServiceJSON<DNSResult>

    @Test func answeringResolverGivesRecordsLatencyAndOk() throws {
        let lab = try ServiceLab("svdns1", servers: [.dnsmasq])
        defer { lab.stop() }
        let output = try lab.cli(["dns", "www.lab", "-r", ServiceLab.good, "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        let json = try Output(output)
        let report = try #require(json.report)
        #expect(report.name == "dns")
        #expect(report.status == .ok)
        #expect(report.strings("answers") == ["10.1.2.3"])
        #expect(report.string("resolver") == ServiceLab.good)
        #expect(report.string("rcode") == "NOERROR")
        #expect(report.string("outcome") == "ok")
        #expect(report.string("type") == "A")
        #expect(report.strings("failed_resolvers") == [])
        #expect((report.number("latency_ms") ?? 0) > 0)
        #expect(report.error == nil)
        #expect(json.result?.answer?.transport == .udp)
    }

    @Test func resolverOverIPv6WithAndWithoutAPortAnswers() throws {
        let lab = try ServiceLab("svdns10", servers: [.dnsmasq])
        defer { lab.stop() }
        for resolver in [ServiceLab.good6, "[\(ServiceLab.good6)]:53"] {
            let output = try lab.cli(["dns", "www.lab", "-r", resolver, "--json"])
            #expect(output.status == 0, "\(resolver): \(output.stderr)")
            let report = try #require(try Output(output).report)
            #expect(report.strings("answers") == ["10.1.2.3"])
            #expect(report.string("resolver") == ServiceLab.good6)
        }
    }

    @Test(arguments: [("a.nx.svtest", "nxdomain", "NXDOMAIN"), ("a.rf.svtest", "refused_query", "REFUSED"), ("a.sf.svtest", "servfail", "SERVFAIL")])
    func resolverErrorCodesAreReportedAndCritical(name: String, outcome: String, rcode: String) throws {
        let lab = try ServiceLab("svdns2", servers: [.dnsmasq, .unbound])
        defer { lab.stop() }
        let output = try lab.cli(["dns", name, "-r", ServiceLab.rcodes, "-W", "3", "--json"])
        #expect(output.status == 2, "\(output.stderr)")
        let report = try #require(try Output(output).report)
        #expect(report.status == .crit)
        #expect(report.string("outcome") == outcome)
        #expect(report.string("rcode") == rcode)
        #expect(report.strings("answers") == [])
        #expect(report.error != nil)
    }

    @Test func droppedResolverTimesOutAndUnreachableNetworkIsItsOwnOutcome() throws {
        let lab = try ServiceLab("svdns3", servers: [])
        defer { lab.stop() }
        let dropped = try Output(try lab.cli(["dns", "www.lab", "-r", ServiceLab.dropped, "-W", "0.5", "--json"])).report
        #expect(dropped?.status == .crit)
        #expect(dropped?.string("outcome") == "timeout")
        #expect(dropped?.error == "timeout: no nameservers responded")
        #expect(dropped?.strings("failed_resolvers") == [ServiceLab.dropped])

        let unreachable = try Output(try lab.cli(["dns", "www.lab", "-r", ServiceLab.unreachable, "-W", "2", "--json"])).result
        let attempt = try #require(unreachable?.attempts.first)
        #expect(attempt.outcome == .networkUnreachable)
        // The ICMP error arrives long before the timeout would.
        #expect((attempt.latencyNanoseconds ?? .max) < 1_000_000_000)
    }

    @Test func failoverReachesTheNextResolverAndNamesEveryOneThatFailed() throws {
        let lab = try ServiceLab("svdns4", servers: [.dnsmasq, .unbound])
        defer { lab.stop() }
        let output = try lab.cli(["dns", "www.lab", "-r", ServiceLab.dropped, "-r", ServiceLab.rcodes, "-r", ServiceLab.good,
                                  "-W", "0.5", "--json"])
        #expect(output.status == 1, "\(output.stderr)")
        let json = try Output(output)
        let report = try #require(json.report)
        #expect(report.status == .warn)
        #expect(report.string("resolver") == ServiceLab.good)
        #expect(report.strings("failed_resolvers") == [ServiceLab.dropped, ServiceLab.rcodes])
        #expect(report.strings("resolver_outcomes") == ["\(ServiceLab.dropped)=timeout", "\(ServiceLab.rcodes)=refused_query", "\(ServiceLab.good)=ok"])
        #expect(report.strings("answers") == ["10.1.2.3"])
        #expect(json.result?.answeredBy?.description == ServiceLab.good)
    }

    @Test func servfailAlsoFailsOverAndNoAnswerAnywhereIsCritical() throws {
        let lab = try ServiceLab("svdns5", servers: [.dnsmasq, .unbound])
        defer { lab.stop() }
        // unbound SERVFAILs, dnsmasq refuses: nobody answers, and the SERVFAIL is the outcome.
        let output = try lab.cli(["dns", "a.sf.svtest", "-r", ServiceLab.rcodes, "-r", ServiceLab.good, "-W", "3", "--json"])
        #expect(output.status == 2)
        let report = try #require(try Output(output).report)
        #expect(report.status == .crit)
        #expect(report.string("outcome") == "servfail")
        #expect(report.string("rcode") == "SERVFAIL")
        #expect(report.strings("resolver_outcomes") == ["\(ServiceLab.rcodes)=servfail", "\(ServiceLab.good)=refused_query"])
        #expect(report.string("resolver") == nil)
    }

    @Test func truncatedAnswerIsFetchedAgainOverTCP() throws {
        let lab = try ServiceLab("svdns6", servers: [.dnsmasq])
        defer { lab.stop() }
        // 100 A records are 1.6 kB: over 1232 bytes of EDNS, so the UDP answer is truncated.
        let output = try lab.cli(["dns", "big.lab", "-r", ServiceLab.good, "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        let json = try Output(output)
        #expect(json.report?.string("transport") == "tcp")
        #expect(json.report?.details["truncated"] == .bool(true))
        #expect(Set(json.report?.strings("answers") ?? []) == Set((1...100).map { "10.5.0.\($0)" }))
        #expect(json.result?.answer?.truncatedOverUDP == true)
    }

    @Test func smallAnswerWithoutEDNSStaysOnUDPAndAnyTypeByNumberWorks() throws {
        let lab = try ServiceLab("svdns7", servers: [.dnsmasq])
        defer { lab.stop() }
        let plain = try Output(try lab.cli(["dns", "www.lab", "-r", ServiceLab.good, "--edns-size", "0", "--json"]))
        #expect(plain.report?.string("transport") == "udp")
        // Type 1 by number is A; type 28 (AAAA) of a v4-only name is NOERROR with no answers.
        let byNumber = try Output(try lab.cli(["dns", "www.lab", "-t", "1", "-r", ServiceLab.good, "--json"]))
        #expect(byNumber.report?.strings("answers") == ["10.1.2.3"])
        let aaaa = try Output(try lab.cli(["dns", "www.lab", "-t", "28", "-r", ServiceLab.good, "--json"]))
        #expect(aaaa.report?.string("type") == "AAAA")
        #expect(aaaa.report?.string("rcode") == "NOERROR")
        #expect(aaaa.report?.strings("answers") == [])
    }

    @Test func bulkNamesFileIsProbedInOrderWithTypesFromTheCSV() throws {
        let lab = try ServiceLab("svdns8", servers: [.dnsmasq])
        defer { lab.stop() }
        let file = lab.directory + "/names.csv"
        try "name,type\n# comment\nwww.lab,A\nnosuch.lab\nwww.lab,AAAA\n".write(toFile: file, atomically: true, encoding: .utf8)
        let output = try lab.cli(["dns", "--targets", file, "-r", ServiceLab.good, "--concurrency", "2", "--json"])
        #expect(output.status == 2, "NXDOMAIN is crit: \(output.stderr)")
        let bulk = try BulkJSON<DNSResult>(output)
        #expect(bulk.results.map(\.target) == ["www.lab", "nosuch.lab", "www.lab"])
        #expect(bulk.results.map { $0.report?.string("outcome") } == ["ok", "nxdomain", "ok"])
        #expect(bulk.results.map { $0.report?.string("type") } == ["A", "A", "AAAA"])
    }

    @Test func libraryProbeEntersTheNamespaceOnItsOwnThreadAndCancelsAtOnce() async throws {
        let lab = try ServiceLab("svdns9", servers: [.dnsmasq])
        defer { lab.stop() }
        let good = try DNSResolverAddress(parsing: ServiceLab.good)
        let probe = DNSProbe(options: DNSProbeOptions(resolvers: [good], networkNamespace: lab.lab.client))
        let result = try await probe.query("www.lab")
        #expect(result.answers == ["10.1.2.3"])

        let slow = DNSProbe(options: DNSProbeOptions(resolvers: [try DNSResolverAddress(parsing: ServiceLab.dropped)],
                                                     timeoutPerResolver: .seconds(30), networkNamespace: lab.lab.client))
        let task = Task { try await slow.query("www.lab") }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        task.cancel()
        await #expect(throws: ProbeError.cancelled) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(10), "cancellation ends the 30 s wait")
    }
}
