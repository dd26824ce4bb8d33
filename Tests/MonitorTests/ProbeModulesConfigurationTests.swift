import Foundation
import ISPChecker
import ISPCheckerConfig
import Testing

/// The `modules:` section of the monitor's configuration: the modules of `GET /probe`.
@Suite("Probe modules configuration")
struct ProbeModulesConfigurationTests {
    private func problems(_ yaml: String) -> ConfigurationError? {
        do { _ = try MonitorConfiguration.load(yaml: yaml); return nil } catch { return error }
    }

    @Test("without modules: the six built-in modules, each named after its prober")
    func builtInModulesByDefault() throws {
        let configuration = try MonitorConfiguration.load(yaml: "targets: []\n")
        #expect(Set(configuration.modules.keys) == ["icmp", "trace", "dns", "http", "tcp", "check"])
        for (name, module) in configuration.modules { #expect(module.prober.rawValue == name) }
        #expect(configuration.modules["icmp"]?.count == 10)
        #expect(configuration.modules["icmp"]?.interval == .milliseconds(200))
        #expect(configuration.modules["http"]?.timeout == .seconds(5))
    }

    @Test("a module adds to the built-ins or replaces one; the prober defaults to the module's name")
    func modulesAddAndReplace() throws {
        let configuration = try MonitorConfiguration.load(yaml: """
        modules:
          icmp_burst:
            prober: icmp
            count: 50
            interval: 20ms
            timeout: 500ms
            family: ipv4
          icmp:
            count: 3
          dns_lab:
            prober: dns
            query_name: check.lab
            query_type: AAAA
            timeout: 2s
          web:
            prober: http
            valid_status_codes: [200, 204]
        """)
        let burst = try #require(configuration.modules["icmp_burst"])
        #expect(burst == ProbeModule(prober: .icmp, count: 50, interval: .milliseconds(20), timeout: .milliseconds(500), family: .ipv4))
        #expect(configuration.modules["icmp"] == ProbeModule(prober: .icmp, count: 3))
        #expect(configuration.modules["dns_lab"] == ProbeModule(prober: .dns, timeout: .seconds(2), queryName: "check.lab", queryType: .aaaa))
        #expect(configuration.modules["web"]?.validStatusCodes == [200, 204])
        #expect(configuration.modules.count == 9)
    }

    @Test("a module without a prober whose name is not one: named, at the module's line")
    func moduleNeedsAProber() {
        let error = problems("modules:\n  fast:\n    count: 3\n")
        #expect(error?.problem(at: "modules.fast.prober")?.line == 2, "\(String(describing: error))")
        #expect(error?.problem(at: "modules.fast.prober")?.reason.contains("icmp, trace, dns, http, tcp, check") == true)
    }

    @Test("an unknown prober is refused at its line")
    func unknownProber() {
        let error = problems("modules:\n  x:\n    prober: udp\n")
        #expect(error?.problem(at: "modules.x.prober")?.line == 3, "\(String(describing: error))")
    }

    @Test("a key another prober reads is refused, listing the keys this prober takes")
    func keyOfAnotherProber() {
        let error = problems("modules:\n  t:\n    prober: tcp\n    count: 3\n")
        let problem = error?.problem(at: "modules.t.count")
        #expect(problem?.line == 4, "\(String(describing: error))")
        #expect(problem?.reason.contains("the tcp prober takes prober, timeout, family") == true, "\(String(describing: problem))")
    }

    @Test("values out of range, bad types and bad record types: every one reported, each at its line")
    func everyProblemAtItsLine() {
        let error = problems("""
        modules:
          a:
            prober: icmp
            count: 0
            interval: fast
          b:
            prober: dns
            query_type: NOPE
            resolvers: [not-an-address]
          c:
            prober: http
            valid_status_codes: [200, 999]
          d:
            prober: trace
            max_hops: 65
        """)
        #expect(error?.problem(at: "modules.a.count")?.line == 4, "\(String(describing: error))")
        #expect(error?.problem(at: "modules.a.interval")?.line == 5)
        #expect(error?.problem(at: "modules.b.query_type")?.line == 8)
        #expect(error?.problem(at: "modules.b.resolvers")?.line == 9)
        #expect(error?.problem(at: "modules.c.valid_status_codes")?.line == 12)
        #expect(error?.problem(at: "modules.d.max_hops")?.line == 15)
        #expect(error?.problems.count == 6, "\(String(describing: error))")
    }

    @Test("a module name that cannot go in a URL, and modules that are not a mapping, are refused")
    func badNamesAndShapes() {
        #expect(problems("modules:\n  \"a b\":\n    prober: icmp\n")?.problem(at: "modules.a b")?.line == 2)
        #expect(problems("modules: [icmp]\n")?.problem(at: "modules")?.line == 1)
    }

    @Test("the /probe bounds in http: read, and refused out of range")
    func probeBounds() throws {
        let configuration = try MonitorConfiguration.load(yaml: "http:\n  probe_concurrency: 3\n  probe_timeout: 15s\n")
        #expect(configuration.http.probeConcurrency == 3)
        #expect(configuration.http.probeTimeout == .seconds(15))
        let error = problems("http:\n  probe_concurrency: 0\n  probe_timeout: 2h\n")
        #expect(error?.problem(at: "http.probe_concurrency")?.line == 2, "\(String(describing: error))")
        #expect(error?.problem(at: "http.probe_timeout")?.line == 3)
    }

    @Test("a target's bad URL or resolver is named at its line when the file is loaded")
    func targetCheckPlanProblems() {
        let error = problems("targets:\n  - host: 10.0.0.1\n    url: ftp://x/\n  - host: 10.0.0.2\n    resolvers: [999.1.1.1]\n    dns_name: check.lab\n")
        #expect(error?.problem(at: "targets[0].url")?.line == 3, "\(String(describing: error))")
        #expect(error?.problem(at: "targets[1].resolvers")?.line == 5, "\(String(describing: error))")
    }

    @Test("line(of:in:) finds nested keys and list items")
    func keyLines() {
        let yaml = "store:\n  sqlite: /x\n  postgres_url_file: /y\ntargets:\n  - host: a\n  - host: b\n    url: http://b/\n"
        #expect(MonitorConfiguration.line(of: "store.postgres_url_file", in: yaml) == 3)
        #expect(MonitorConfiguration.line(of: "targets[1].url", in: yaml) == 7)
        #expect(MonitorConfiguration.line(of: "http.port", in: yaml) == nil)
    }
}

/// What a module accepts as a target, and the jitter of a ping.
@Suite("Probe modules")
struct ProbeModuleTests {
    @Test("each prober refuses a target it cannot read before sending anything")
    func targetValidation() {
        #expect(throws: ProbeError.self) { try ProbeModule(prober: .http).validate(target: "10.0.0.1") }
        #expect(throws: ProbeError.self) { try ProbeModule(prober: .tcp).validate(target: "10.0.0.1") }
        #expect(throws: ProbeError.self) { try ProbeModule(prober: .tcp).validate(target: "10.0.0.1:70000") }
        #expect(throws: ProbeError.self) { try ProbeModule(prober: .dns, queryName: "a.lab").validate(target: "not an address") }
        #expect(throws: ProbeError.self) { try ProbeModule(prober: .icmp).validate(target: "") }
        #expect(throws: ProbeError.self) { try ProbeModule(prober: .icmp).validate(target: "http://x/") }
        #expect(throws: Never.self) { try ProbeModule(prober: .http).validate(target: "http://10.0.0.1/") }
        #expect(throws: Never.self) { try ProbeModule(prober: .tcp).validate(target: "[fd00::1]:443") }
        #expect(throws: Never.self) { try ProbeModule(prober: .dns).validate(target: "check.lab") }
        #expect(throws: Never.self) { try ProbeModule(prober: .dns, queryName: "a.lab").validate(target: "10.0.0.53:5353") }
        #expect(throws: Never.self) { try ProbeModule(prober: .check).validate(target: "router.lab") }
    }
}
