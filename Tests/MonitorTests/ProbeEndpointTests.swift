import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport
import Testing

/// `GET /probe` over real loopback sockets: the tcp and dns probers need no engine, so these
/// run unprivileged against listeners of their own on 127.0.0.1.
@Suite("GET /probe", .serialized)
struct ProbeEndpointTests {
    private func withMonitor(_ probe: ProbeEndpoint, apiKey: String? = nil, _ body: (InProcessMonitor) async throws -> Void) async throws {
        try await withStore(.sqlite) { store, _ in
            let monitor = try await InProcessMonitor(store: store, apiKey: apiKey, probe: probe)
            do { try await body(monitor) } catch { await monitor.stop(); throw error }
            await monitor.stop()
        }
    }

    /// A module that asks a resolver at the target which never answers (a bound UDP socket nobody reads).
    static let silentDNS = ProbeModule(prober: .dns, timeout: .seconds(20), queryName: "never.lab")

    /// Value of an unlabelled sample, or of the sample whose label set contains `labels`.
    private func sample(_ text: String, _ name: String, _ labels: [String] = []) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
            let head = line.split(separator: " ").dropLast().joined(separator: " ")
            guard head == name || head.hasPrefix(name + "{"), labels.allSatisfy({ head.contains($0) }) else { continue }
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    @Test("tcp module to a listening port: probe_success 1, the tcp probe's series; to a closed one: probe_success 0")
    func tcpProbeSucceedsAndFails() async throws {
        let listener = try LoopbackListener(.tcp)
        defer { listener.close() }
        let closed = try freeLoopbackPort()
        try await withMonitor(ProbeEndpoint(engine: nil)) { monitor in
            let up = try await httpGet(port: monitor.port, "/probe?target=127.0.0.1:\(listener.port)&module=tcp")
            #expect(up.status == 200, "\(up.text)")
            #expect(up.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(sample(up.text, "probe_success") == 1, "\(up.text)")
            #expect((sample(up.text, "probe_duration_seconds") ?? -1) >= 0)
            #expect(sample(up.text, "isp_checker_probe_status", [#"probe="tcp""#, #"status="ok""#]) == 1, "\(up.text)")
            #expect(sample(up.text, "isp_checker_probe_details", [#"target="127.0.0.1:\#(listener.port)""#, #"key="connect_ms""#]) != nil)
            #expect(!up.text.contains("isp_checker_score"), "only the check module is scored")

            let down = try await httpGet(port: monitor.port, "/probe?target=127.0.0.1:\(closed)&module=tcp")
            #expect(down.status == 200)
            #expect(sample(down.text, "probe_success") == 0, "\(down.text)")
            #expect(sample(down.text, "isp_checker_probe_status", [#"probe="tcp""#, #"status="crit""#]) == 1)
            // Each answer comes from a registry of its own: nothing of one probe is in the next.
            #expect(!down.text.contains("\(listener.port)"), "\(down.text)")
        }
    }

    @Test("missing target, missing module, unknown module, a target the module cannot read: 400 saying which")
    func badRequestsAre400() async throws {
        try await withMonitor(ProbeEndpoint(engine: nil)) { monitor in
            let noTarget = try await httpGet(port: monitor.port, "/probe?module=tcp")
            #expect(noTarget.status == 400)
            #expect(noTarget.text.contains("target parameter is missing"), "\(noTarget.text)")
            let noModule = try await httpGet(port: monitor.port, "/probe?target=127.0.0.1:1")
            #expect(noModule.status == 400)
            #expect(noModule.text.contains("module parameter is missing"), "\(noModule.text)")
            let unknown = try await httpGet(port: monitor.port, "/probe?target=127.0.0.1:1&module=http_2xx")
            #expect(unknown.status == 400)
            #expect(unknown.text.contains("unknown module 'http_2xx'") && unknown.text.contains("check, dns, http, icmp, tcp, trace"), "\(unknown.text)")
            let unreadable = try await httpGet(port: monitor.port, "/probe?target=127.0.0.1&module=tcp")
            #expect(unreadable.status == 400)
            #expect(unreadable.text.contains("host:port"), "\(unreadable.text)")
        }
    }

    @Test("a prober that needs the engine, on a monitor without one: 503 saying how to start it")
    func noEngineIs503() async throws {
        try await withMonitor(ProbeEndpoint(engine: nil)) { monitor in
            let reply = try await httpGet(port: monitor.port, "/probe?target=127.0.0.1&module=icmp")
            #expect(reply.status == 503)
            #expect(reply.text.contains("CAP_NET_RAW"), "\(reply.text)")
        }
    }

    @Test("with an API key, /probe needs it like /api/*")
    func apiKeyGuardsProbe() async throws {
        let listener = try LoopbackListener(.tcp)
        defer { listener.close() }
        try await withMonitor(ProbeEndpoint(engine: nil), apiKey: "sesame") { monitor in
            let path = "/probe?target=127.0.0.1:\(listener.port)&module=tcp"
            #expect(try await httpGet(port: monitor.port, path).status == 401)
            let keyed = try await httpGet(port: monitor.port, path, headers: ["X-API-Key": "sesame"])
            #expect(keyed.status == 200)
            #expect(sample(keyed.text, "probe_success") == 1)
        }
    }

    @Test("Prometheus's scrape timeout header bounds the probe: a resolver that never answers gives probe_success 0 in time")
    func scrapeTimeoutBoundsTheProbe() async throws {
        let resolver = try LoopbackListener(.udp)
        defer { resolver.close() }
        let probe = ProbeEndpoint(modules: ["silent": Self.silentDNS], engine: nil, timeout: .seconds(30))
        try await withMonitor(probe) { monitor in
            let started = ContinuousClock.now
            let reply = try await httpGet(port: monitor.port, "/probe?target=127.0.0.1:\(resolver.port)&module=silent",
                                          headers: [ProbeEndpoint.scrapeTimeoutHeader: "2"])
            let elapsed = ContinuousClock.now - started
            #expect(reply.status == 200)
            #expect(sample(reply.text, "probe_success") == 0, "\(reply.text)")
            // 2 s less the 0.5 s offset; far below the module's 20 s.
            let duration = try #require(sample(reply.text, "probe_duration_seconds"))
            #expect(duration >= 1.4 && duration < 5, "\(duration)")
            #expect(elapsed < .seconds(10), "\(elapsed)")
            // The probe ends with the request: its slot is free again.
            #expect(try await eventually(timeout: .seconds(10)) { probe.runningProbes == 0 })
        }
    }

    @Test("the deadline: the configured timeout, or the scrape timeout less 0.5 s when shorter")
    func deadlines() {
        let probe = ProbeEndpoint(engine: nil, timeout: .seconds(10))
        #expect(probe.deadline(scrapeTimeoutHeader: nil) == .seconds(10))
        #expect(probe.deadline(scrapeTimeoutHeader: "4") == .milliseconds(3500))
        #expect(probe.deadline(scrapeTimeoutHeader: "60") == .seconds(10))
        #expect(probe.deadline(scrapeTimeoutHeader: "0.6") == .milliseconds(300))
        #expect(probe.deadline(scrapeTimeoutHeader: "soon") == .seconds(10))
        #expect(probe.deadline(scrapeTimeoutHeader: "-1") == .seconds(10))
    }

    @Test("over the concurrency limit: 503 at once; the slot is back when the running probe ends")
    func concurrencyLimit() async throws {
        let resolver = try LoopbackListener(.udp)
        defer { resolver.close() }
        let listener = try LoopbackListener(.tcp)
        defer { listener.close() }
        let probe = ProbeEndpoint(modules: ["silent": Self.silentDNS, "tcp": ProbeModule(prober: .tcp)], engine: nil,
                                  concurrency: 1, timeout: .seconds(3))
        try await withMonitor(probe) { monitor in
            let port = monitor.port
            let slow = Task { try await httpGet(port: port, "/probe?target=127.0.0.1:\(resolver.port)&module=silent") }
            #expect(try await eventually(timeout: .seconds(5)) { probe.runningProbes == 1 })
            let refused = try await httpGet(port: port, "/probe?target=127.0.0.1:\(listener.port)&module=tcp")
            #expect(refused.status == 503)
            #expect(refused.text.contains("http.probe_concurrency"), "\(refused.text)")
            #expect(refused.headers["retry-after"] == "1")
            let first = try await slow.value
            #expect(sample(first.text, "probe_success") == 0)
            #expect(try await eventually(timeout: .seconds(10)) { probe.runningProbes == 0 })
            let after = try await httpGet(port: port, "/probe?target=127.0.0.1:\(listener.port)&module=tcp")
            #expect(sample(after.text, "probe_success") == 1, "\(after.text)")
        }
    }

    @Test("/probe's isp_checker_* series carry the same names and help as /metrics'")
    func seriesMatchMetrics() throws {
        let report = RunReport(target: "t.invalid", probes: [
            ProbeReport(name: "ping", status: .warn, details: ["latency_avg_ms": .double(160), "loss_percent": .double(0)]),
        ], score: 12, diagnosis: [])
        let metrics = MonitorMetrics()
        metrics.record(report)
        let exported = String(decoding: metrics.render(), as: UTF8.self)
        let probed = String(decoding: ProbeSeries.render(report: report, success: true, duration: .milliseconds(1500), scored: true),
                            as: UTF8.self)
        let relevant = { (text: String) in
            Set(text.split(separator: "\n").filter { ["isp_checker_score", "isp_checker_probe_status", "isp_checker_probe_details"]
                .contains(where: $0.replacingOccurrences(of: "# HELP ", with: "").replacingOccurrences(of: "# TYPE ", with: "").hasPrefix) })
        }
        #expect(relevant(probed) == relevant(exported))
        #expect(sample(probed, "probe_duration_seconds") == 1.5)
        #expect(sample(probed, "isp_checker_score") == 12)
    }
}

/// A socket bound on 127.0.0.1 that is never read: TCP connections complete in its backlog,
/// UDP datagrams wait unanswered.
final class LoopbackListener: Sendable {
    enum Kind { case tcp, udp }
    let fd: Int32
    let port: Int

    init(_ kind: Kind) throws {
        let descriptor = socket(AF_INET, Int32(kind == .tcp ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError.failed("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0, kind == .udp || listen(descriptor, 16) == 0 else {
            Glibc.close(descriptor)
            throw HarnessError.failed("bind/listen: errno \(errno)")
        }
        fd = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(fd) }
}
