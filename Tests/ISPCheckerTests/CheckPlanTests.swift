import ISPChecker
import Testing

/// What a check of a target is, as `run` and the monitor both build it. Nothing is sent: the
/// plan only yields options.
@Suite struct CheckPlanTests {
    @Test func aNameIsPingedTracedAndResolvedThroughTheRunbooksResolvers() throws {
        let plan = CheckPlan(host: "example.net")
        let options = try plan.healthCheckOptions()
        #expect(options.target == "example.net")
        #expect(options.pingCount == 10)
        #expect(options.pingInterval == .milliseconds(200))
        #expect(options.pingTimeout == .seconds(1))
        #expect(options.trace == HealthCheckOptions.defaultTrace)
        #expect(options.family == .any)
        #expect(options.additionalProbes.map(\.name) == ["dns"])
        let dns = try #require(try plan.dnsProbe())
        #expect(dns.name == "example.net")
        #expect(dns.options.resolvers == DNSResolverAddress.runbookDefault)
        #expect(dns.options.networkNamespace == nil)
        #expect(try plan.httpProbe() == nil)
        #expect(plan.probeTarget == ProbeTarget("example.net", class: .normal))
    }

    @Test(arguments: ["192.0.2.1", "2001:db8::1"])
    func anAddressHasNoDNSProbe(_ host: String) throws {
        let plan = CheckPlan(host: host)
        #expect(plan.dnsQueryName == nil)
        #expect(try plan.dnsProbe() == nil)
        #expect(try plan.healthCheckOptions().additionalProbes.isEmpty)
    }

    @Test func theDNSNameIsResolvedInsteadOfTheHost() throws {
        let plan = CheckPlan(host: "192.0.2.1", dnsName: "check.lab")
        #expect(try plan.dnsProbe()?.name == "check.lab")
        #expect(CheckPlan(host: "web.lab", dnsName: "check.lab").dnsQueryName == "check.lab")
    }

    @Test func noDNSTurnsTheDNSProbeOffEvenWithAName() throws {
        let plan = CheckPlan(host: "example.net", dnsName: "check.lab", probesDNS: false, resolvers: ["not a resolver"])
        #expect(plan.dnsQueryName == nil)
        // Nothing is checked for a probe that does not run.
        #expect(try plan.healthCheckOptions().additionalProbes.isEmpty)
    }

    @Test func resolversAreQueriedInTheOrderGiven() throws {
        let plan = CheckPlan(host: "example.net", resolvers: ["10.0.0.53", "[fd00::53]:5353"])
        let resolvers = try #require(try plan.dnsProbe()).options.resolvers
        #expect(resolvers == [try DNSResolverAddress(parsing: "10.0.0.53"), try DNSResolverAddress(parsing: "[fd00::53]:5353")])
        #expect(resolvers.map(\.port) == [53, 5353])
    }

    @Test func aBadResolverIsAnInvalidResolverError() {
        #expect { try CheckPlan(host: "example.net", resolvers: ["10.0.0.53", "resolver.lab"]).healthCheckOptions() } throws: { error in
            if case ProbeError.invalidResolver("resolver.lab", _) = error { return true }
            return false
        }
    }

    @Test func aBadDNSNameIsRefusedBeforeAnythingIsSent() {
        #expect(throws: ProbeError.emptyName) { try CheckPlan(host: "192.0.2.1", dnsName: " ").healthCheckOptions() }
        #expect { try CheckPlan(host: "192.0.2.1", dnsName: "a..b").healthCheckOptions() } throws: { error in
            if case ProbeError.malformedName = error { return true }
            return false
        }
    }

    @Test func aURLAddsAnHTTPProbeInTheCheck() throws {
        let plan = CheckPlan(host: "192.0.2.1", url: "https://192.0.2.1/health", family: .ipv4, networkNamespace: "ispc-lab")
        let options = try plan.healthCheckOptions()
        #expect(options.additionalProbes.map(\.name) == ["http"])
        #expect(options.family == .ipv4)
        let http = try #require(try plan.httpProbe())
        #expect(http.url == "https://192.0.2.1/health")
        #expect(http.options.timeout == .seconds(5))
        #expect(http.options.family == .ipv4)
        #expect(http.options.networkNamespace == "ispc-lab")
    }

    @Test func dnsComesBeforeHTTP() throws {
        let options = try CheckPlan(host: "example.net", url: "http://example.net/").healthCheckOptions()
        #expect(options.additionalProbes.map(\.name) == ["dns", "http"])
    }

    @Test func aBadURLIsRefused() {
        #expect { try CheckPlan(host: "192.0.2.1", url: "ftp://192.0.2.1/").healthCheckOptions() } throws: { error in
            if case ProbeError.unsupportedScheme("ftp", _) = error { return true }
            return false
        }
        #expect { try CheckPlan(host: "192.0.2.1", url: "http://").healthCheckOptions() } throws: { error in
            if case ProbeError.malformedURL = error { return true }
            return false
        }
    }

    @Test func theNamespaceIsWhereDNSAndHTTPRun() throws {
        let plan = CheckPlan(host: "example.net", url: "http://example.net/", networkNamespace: "ispc-lab")
        #expect(try plan.dnsProbe()?.options.networkNamespace == "ispc-lab")
        #expect(try plan.httpProbe()?.options.networkNamespace == "ispc-lab")
    }

    @Test func everyWaitFollowsFromTheProbeTimeout() {
        let timeouts = CheckPlan.Timeouts.default
        #expect(timeouts.probe == .seconds(1))
        #expect(timeouts.dnsPerResolver == .seconds(1))
        #expect(timeouts.http == .seconds(5))
        // A resolver gets at least half a second, HTTP at least five.
        let short = CheckPlan.Timeouts(probe: .milliseconds(200))
        #expect(short.dnsPerResolver == .milliseconds(500))
        #expect(short.http == .seconds(5))
        let long = CheckPlan.Timeouts(probe: .seconds(3))
        #expect(long.dnsPerResolver == .seconds(3))
        #expect(long.http == .seconds(15))
    }

    @Test func theTimeoutsReachEveryProbe() throws {
        var trace = HealthCheckOptions.defaultTrace
        trace.method = .icmp
        trace.timeout = .seconds(9)
        let plan = CheckPlan(host: "example.net", url: "http://example.net/", trace: trace,
                             timeouts: CheckPlan.Timeouts(probe: .seconds(2), dnsPerResolver: .seconds(3), http: .seconds(4)))
        let options = try plan.healthCheckOptions()
        #expect(options.pingTimeout == .seconds(2))
        #expect(options.trace?.timeout == .seconds(2))
        #expect(options.trace?.method == .icmp)
        #expect(try plan.dnsProbe()?.options.timeoutPerResolver == .seconds(3))
        #expect(try plan.httpProbe()?.options.timeout == .seconds(4))
    }

    @Test func withoutATraceTheCheckHasNone() throws {
        let options = try CheckPlan(host: "192.0.2.1", pingCount: 3, pingInterval: .milliseconds(50), trace: nil).healthCheckOptions()
        #expect(options.trace == nil)
        #expect(options.pingCount == 3)
        #expect(options.pingInterval == .milliseconds(50))
    }

    @Test func theClassIsTheScheduledTargets() {
        #expect(CheckPlan(host: "10.0.0.1", targetClass: .critical).probeTarget == ProbeTarget("10.0.0.1", class: .critical))
    }
}
