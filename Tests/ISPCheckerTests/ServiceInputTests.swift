import CServiceProbe
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// Bad input to the dns, http and tcp probes gives a typed error before anything is sent.
@Suite struct ServiceInputTests {
    @Test(arguments: ["", "  ", "\t"])
    func emptyDNSNameIsRejected(_ name: String) async {
        await #expect(throws: ProbeError.emptyName) {
            _ = try await DNSProbe(options: DNSProbeOptions(resolvers: [DNSResolverAddress(address: IPAddress("127.0.0.1")!)])).query(name)
        }
    }

    @Test(arguments: ["a..b", String(repeating: "x", count: 64) + ".net", "has space.net", "caf\u{e9}.net",
                      String(repeating: "abcdefghi.", count: 26)])
    func malformedDNSNameIsRejected(_ name: String) {
        #expect {
            _ = try DNSNameSyntax.validate(name)
        } throws: { error in
            if case ProbeError.malformedName = error { return true }
            return false
        }
    }

    @Test(arguments: ["example.net", "example.net.", "_dmarc.example.net", ".", "xn--caf-dma.net"])
    func validDNSNamesPass(_ name: String) throws {
        #expect(try DNSNameSyntax.validate(name) == name)
    }

    @Test(arguments: ["dns.google", "8.8.8", "10.0.0.1:0", "10.0.0.1:99999", "[fd00::1", "fd00::1]:53", "", "10.0.0.1:53:1"])
    func resolverThatIsNotAnIPAddressIsRejected(_ text: String) {
        #expect {
            _ = try DNSResolverAddress(parsing: text)
        } throws: { error in
            if case ProbeError.invalidResolver = error { return true }
            return false
        }
    }

    @Test func resolverAddressesParseWithAndWithoutPorts() throws {
        #expect(try DNSResolverAddress(parsing: "10.0.0.53").description == "10.0.0.53")
        #expect(try DNSResolverAddress(parsing: "10.0.0.53:5353").port == 5353)
        #expect(try DNSResolverAddress(parsing: "fd00::53").address.family == .ipv6)
        #expect(try DNSResolverAddress(parsing: "[fd00::53]:5353").description == "[fd00::53]:5353")
    }

    @Test func defaultResolversAreTheRunbooksFailoverOrder() {
        #expect(DNSProbeOptions.default.resolvers.map(\.description) == ["8.8.8.8", "1.1.1.1", "9.9.9.9", "208.67.222.222"])
    }

    @Test func noResolversIsAnInvalidArgument() async {
        await #expect {
            _ = try await DNSProbe(options: DNSProbeOptions(resolvers: [])).query("example.net")
        } throws: { error in
            if case ProbeError.invalidArgument(name: "resolvers", _) = error { return true }
            return false
        }
    }

    @Test(arguments: ["", "example.net", "http//example.net", "http://", "http://exa mple.net/", "https://-bad-.net/", "http://[fd00::1/"])
    func malformedURLIsRejected(_ url: String) {
        #expect {
            _ = try HTTPURLSyntax.validate(url)
        } throws: { error in
            if case ProbeError.malformedURL = error { return true }
            return false
        }
    }

    @Test(arguments: ["ftp://example.net/", "file:///etc/passwd", "gopher://example.net/", "ws://example.net/"])
    func unsupportedSchemeIsRejected(_ url: String) async {
        await #expect {
            _ = try await HTTPProbe().fetch(url)
        } throws: { error in
            if case ProbeError.unsupportedScheme = error { return true }
            return false
        }
    }

    @Test(arguments: ["http://example.net", "https://10.0.0.1:8443/path?q=1", "https://[fd00::1]/", "HTTP://Example.NET/"])
    func wellFormedURLsPass(_ url: String) throws {
        #expect(try HTTPURLSyntax.validate(url) == url)
    }

    @Test(arguments: ["", "10.0.0.1", "10.0.0.1:", "10.0.0.1:http", "fd00::1:443", "[fd00::1:443", ":443"])
    func malformedTCPTargetIsRejected(_ target: String) {
        #expect {
            _ = try TCPTarget.split(target)
        } throws: { error in
            if case ProbeError.malformedTarget = error { return true }
            return false
        }
    }

    @Test func tcpPortOutOfRangeIsAnInvalidArgument() async {
        await #expect {
            _ = try await TCPProbe().connect(host: "127.0.0.1", port: 0)
        } throws: { error in
            if case ProbeError.invalidArgument(name: "port", _) = error { return true }
            return false
        }
    }

    @Test func tcpTargetsSplitIntoHostAndPort() throws {
        #expect(try TCPTarget.split("example.net:443") == ("example.net", 443))
        #expect(try TCPTarget.split("[fd00::1]:443") == ("fd00::1", 443))
    }
}

extension ProbeReport {
    func string(_ key: String) -> String? { if case .string(let value)? = details[key] { return value }; return nil }
}

/// Record types, targets files, bulk concurrency and the wire format.
@Suite struct ServiceModelTests {
    @Test func recordTypesParseByNameAndByNumber() {
        #expect(DNSRecordType("AAAA") == .aaaa)
        #expect(DNSRecordType("txt") == .txt)
        #expect(DNSRecordType("65")?.rawValue == 65)
        #expect(DNSRecordType("TYPE65280")?.rawValue == 65280)
        #expect(DNSRecordType("NOPE") == nil)
        #expect(DNSRecordType(rawValue: 28).description == "AAAA")
        #expect(DNSRecordType(rawValue: 65280).description == "TYPE65280")
    }

    @Test func targetsFilesTakeOnePerLineOrCSVAndSkipCommentsAndHeaders() {
        let rows = ServiceTargets.parse("url,expected\n# a comment\n\nhttps://a.example/ , 204\nhttps://b.example/\n")
        #expect(rows == [ServiceTargets.Row(target: "https://a.example/", columns: ["204"]),
                         ServiceTargets.Row(target: "https://b.example/", columns: [])])
    }

    @Test func bulkRunKeepsInputOrderAndNeverExceedsItsBound() async {
        let counter = Locked((current: 0, highest: 0)) // pthread-based: TSan cannot see Mutex's futex
        let inputs = (0..<20).map(String.init)
        let outcomes = await ServiceBulk.run(inputs, maxConcurrent: 3) { (input: String) async throws(ProbeError) -> Int in
            counter.withLock { $0.current += 1; $0.highest = max($0.highest, $0.current) }
            try? await Task.sleep(for: .milliseconds(5))
            counter.withLock { $0.current -= 1 }
            if input == "7" { throw .emptyName }
            return Int(input)!
        }
        #expect(outcomes.map(\.target) == inputs)
        #expect(counter.withLock { $0.highest } <= 3)
        #expect(counter.withLock { $0.highest } >= 2)
        #expect(outcomes[7].result == .failure(.emptyName))
        #expect(outcomes.compactMap { try? $0.result.get() } == (0..<20).filter { $0 != 7 })
    }

    @Test func queryBuiltByLdnsParsesBackWithItsQuestion() {
        var wire = [UInt8](repeating: 0, count: 512)
        var length = 0
        #expect(cs_dns_build_query("example.net", 28, 0x1234, 1232, 1, &wire, wire.count, &length) == 0)
        #expect(wire[0] == 0x12 && wire[1] == 0x34)
        var info = cs_dns_response_info()
        var records = [CChar](repeating: 0, count: 64)
        var used = 0
        #expect(cs_dns_parse_response(wire, length, "EXAMPLE.net.", 28, &info, &records, records.count, &used) == 0)
        #expect(info.question_matches == 1)
        #expect(info.answer_count == 0)
        #expect(cs_dns_parse_response(wire, length, "example.org", 28, &info, &records, records.count, &used) == 0)
        #expect(info.question_matches == 0)
    }

    @Test func truncatedOrGarbageMessagesAreRejectedByTheParser() {
        var wire = [UInt8](repeating: 0, count: 512)
        var length = 0
        _ = cs_dns_build_query("example.net", 1, 7, 0, 1, &wire, wire.count, &length)
        var info = cs_dns_response_info()
        var records = [CChar](repeating: 0, count: 64)
        var used = 0
        for cut in [0, 5, 11, length - 1] {
            #expect(cs_dns_parse_response(wire, cut, "example.net", 1, &info, &records, records.count, &used) == -EBADMSG, "cut at \(cut)")
        }
        let garbage = [UInt8](repeating: 0xff, count: 64)
        #expect(cs_dns_parse_response(garbage, garbage.count, "example.net", 1, &info, &records, records.count, &used) == -EBADMSG)
    }

    private func attempt(_ address: String, _ outcome: ServiceOutcome, code: DNSResponseCode? = nil) -> DNSResolverAttempt {
        var value = DNSResolverAttempt(resolver: try! DNSResolverAddress(parsing: address), outcome: outcome,
                                       latencyNanoseconds: 1_000_000, transport: .udp, truncatedOverUDP: false)
        value.responseCode = code
        return value
    }

    @Test func dnsStatusIsOkFirstTimeWarnAfterFailoverCritOtherwise() {
        let first = DNSResult(name: "a", type: .a, attempts: [attempt("10.0.0.1", .ok, code: .noError)], failoverOnNXDOMAIN: false)
        #expect(first.status == .ok)
        let failover = DNSResult(name: "a", type: .a, attempts: [attempt("10.0.0.1", .timeout), attempt("10.0.0.2", .ok, code: .noError)],
                                 failoverOnNXDOMAIN: false)
        #expect(failover.status == .warn)
        #expect(failover.failedResolvers.map(\.description) == ["10.0.0.1"])
        let nx = DNSResult(name: "a", type: .a, attempts: [attempt("10.0.0.1", .nxdomain, code: .nameError)], failoverOnNXDOMAIN: false)
        #expect(nx.status == .crit)
        #expect(nx.answeredBy?.description == "10.0.0.1")
        let none = DNSResult(name: "a", type: .a, attempts: [attempt("10.0.0.1", .timeout), attempt("10.0.0.2", .timeout)],
                             failoverOnNXDOMAIN: false)
        #expect(none.status == .crit)
        #expect(none.report.error == "timeout: no nameservers responded")
        let mixed = DNSResult(name: "a", type: .a, attempts: [attempt("10.0.0.1", .timeout), attempt("10.0.0.2", .servfail, code: .serverFailure)],
                              failoverOnNXDOMAIN: false)
        #expect(mixed.outcome == .servfail)
        #expect(mixed.report.string("rcode") == "SERVFAIL")
    }

    @Test func everyReportOutcomeIsOneTheContractDocuments() {
        let documented: Set = ["ok", "timeout", "refused", "network_unreachable", "host_unreachable", "nxdomain", "servfail",
                               "refused_query", "tls_error", "http_error", "error"]
        #expect(Set(ServiceOutcome.allCases.map(\.rawValue)) == documented)
    }
}
