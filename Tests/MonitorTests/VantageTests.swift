import Foundation
import ISPChecker
import ISPCheckerConfig
@testable import ISPCheckerMonitor
import Testing

/// Vantage points (issue 21): the config key, the report field, the history column and its
/// API filter, the metric label.
@Suite("Vantage")
struct VantageTests {
    let base = Date(timeIntervalSince1970: 1_796_000_000)

    @Test("vantage: and lease: are read from the file; a bad vantage or lease is refused at its line")
    func configuration() throws {
        let configuration = try MonitorConfiguration.load(yaml: "vantage: office-berlin\nlease: 20s\ntargets:\n  - host: 10.99.5.2\n")
        #expect(configuration.vantage == "office-berlin")
        #expect(configuration.lease == .seconds(20))
        let plain = try MonitorConfiguration.load(yaml: "targets:\n  - host: 10.99.5.2\n")
        #expect(plain.vantage == nil && plain.lease == nil)
        do {
            _ = try MonitorConfiguration.load(yaml: "targets:\n  - host: 10.99.5.2\nvantage: \"office berlin\"\nlease: 1s\n")
            Issue.record("a vantage with a space and a 1 s lease were accepted")
        } catch {
            #expect(error.problems.map(\.key).sorted() == ["lease", "vantage"])
            #expect(error.problems.first { $0.key == "vantage" }?.line == 3)
        }
    }

    @Test("host=/DIR in the PostgreSQL URL is the server's Unix socket (libpq's form); a relative one is refused")
    func unixSocketURL() throws {
        let url = try PostgresURL("postgres://checker@localhost:5433/runs?host=/run/pg")
        #expect(url.unixSocketPath == "/run/pg/.s.PGSQL.5433")
        #expect(try PostgresURL("postgres://checker@db.example/runs").unixSocketPath == nil)
        #expect(throws: RunStoreError.self) { try PostgresURL("postgres://checker@localhost/runs?host=run/pg") }
    }

    @Test("the host-name default is a valid vantage")
    func hostDefault() {
        #expect(MonitorConfiguration.isValidVantage(MonitorVantage.hostDefault))
        #expect(MonitorVantage.sanitized("box.example.net") == "box")
        #expect(MonitorVantage.sanitized("we ird") == "we-ird")
        #expect(MonitorVantage.sanitized("") == "localhost")
    }

    @Test("the report carries vantage when set and omits it otherwise")
    func reportField() throws {
        var report = sampleRun(1, timestamp: base)
        #expect(!String(decoding: try RunReport.encoder.encode(report), as: UTF8.self).contains("vantage"))
        report.vantage = "office-berlin"
        let json = try RunReport.encoder.encode(report)
        #expect(String(decoding: json, as: UTF8.self).contains("\"vantage\" : \"office-berlin\""))
        #expect(try RunReport.decoder.decode(RunReport.self, from: json) == report)
    }

    @Test("the history keeps each run's vantage and filters by it", arguments: Backend.availableCases)
    func storeFilter(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            var berlin = sampleRun(1, target: "t.invalid", timestamp: base)
            berlin.vantage = "office-berlin"
            var paris = sampleRun(2, target: "t.invalid", timestamp: base.addingTimeInterval(1))
            paris.vantage = "office-paris"
            let none = sampleRun(3, target: "t.invalid", timestamp: base.addingTimeInterval(2))
            try await store.insert([berlin, paris, none])
            let onlyBerlin = try await store.runs(matching: RunQuery(target: "t.invalid", vantage: "office-berlin"))
            #expect(onlyBerlin.total == 1)
            #expect(try onlyBerlin.runs.first?.report() == berlin)
            #expect(try await store.runs(matching: RunQuery(vantage: "office-paris")).runs.map(\.id) == [paris.id])
            #expect(try await store.runs(matching: RunQuery(target: "t.invalid")).total == 3)
        }
    }

    @Test("GET /api/v1/runs?vantage= lists that vantage's runs only")
    func apiFilter() async throws {
        try await withStore(.sqlite) { store, _ in
            let monitor = try await InProcessMonitor(store: store)
            do {
                var berlin = sampleRun(1, target: "t.invalid", timestamp: base)
                berlin.vantage = "office-berlin"
                var paris = sampleRun(2, target: "t.invalid", timestamp: base.addingTimeInterval(1))
                paris.vantage = "office-paris"
                monitor.submit(berlin)
                monitor.submit(paris)
                #expect(try await monitor.waitForStoredRuns(2))
                let reply = try await httpGet(port: monitor.port, "/api/v1/runs?vantage=office-paris")
                #expect(reply.status == 200)
                let runs = try #require(try reply.json()["runs"] as? [[String: Any]])
                #expect(runs.compactMap { $0["id"] as? String } == [paris.id])
                #expect(runs.first?["vantage"] as? String == "office-paris")
            } catch {
                await monitor.stop()
                throw error
            }
            await monitor.stop()
        }
    }

    @Test("a target checked from two vantages gets their combined verdict on its dashboard page; from one, none")
    func dashboardVerdict() async throws {
        try await withStore(.sqlite) { store, _ in
            let monitor = try await InProcessMonitor(store: store)
            do {
                var berlin = sampleRun(1, target: "t.invalid", timestamp: base)
                berlin.vantage = "office-berlin"
                var paris = sampleRun(2, target: "t.invalid", timestamp: base.addingTimeInterval(1))
                paris.vantage = "office-paris"
                var alone = sampleRun(3, target: "u.invalid", timestamp: base)
                alone.vantage = "office-berlin"
                for run in [berlin, paris, alone] { monitor.submit(run) }
                #expect(try await monitor.waitForStoredRuns(3))
                let verdict = CrossVantageVerdict.combine(target: "t.invalid", runs: [berlin, paris])
                let page = try await httpGet(port: monitor.port, "/targets/t.invalid")
                #expect(page.status == 200)
                let section = try #require(page.text.firstRange(of: "<section class=\"vantages\">").map { page.text[$0.lowerBound...] })
                #expect(section.contains("<td>office-berlin</td>") && section.contains("<td>office-paris</td>"), "\(section.prefix(600))")
                #expect(verdict.vantages.count == 2)
                #expect(section.contains(verdict.faultyVantages.isEmpty ? "no vantage sees a fault" : "Vantages: "), "\(section.prefix(300))")
                let single = try await httpGet(port: monitor.port, "/targets/u.invalid")
                #expect(single.status == 200 && !single.text.contains("class=\"vantages\""))
            } catch {
                await monitor.stop()
                throw error
            }
            await monitor.stop()
        }
    }

    @Test("with a vantage, the per-target series carry it as a label")
    func metricLabel() {
        let metrics = MonitorMetrics(vantage: "office-berlin")
        metrics.record(sampleRun(1, target: "t.invalid", timestamp: base))
        metrics.setCircuitBreakerState(.closed, target: "t.invalid")
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains("isp_checker_score{target=\"t.invalid\",vantage=\"office-berlin\"}"))
        #expect(text.contains("isp_checker_runs_total{target=\"t.invalid\",vantage=\"office-berlin\"}"))
        #expect(text.contains("isp_checker_circuit_breaker_state{target=\"t.invalid\",vantage=\"office-berlin\"}"))
        #expect(text.contains("isp_checker_probe_status{target=\"t.invalid\",vantage=\"office-berlin\",probe=\"ping\""))
        let plain = String(decoding: { let m = MonitorMetrics(); m.record(sampleRun(1, target: "t.invalid", timestamp: base)); return m.render() }(), as: UTF8.self)
        #expect(plain.contains("isp_checker_score{target=\"t.invalid\"}"))
    }

    @Test("the monitor service stamps its vantage on every run it records")
    func serviceStamps() async throws {
        let directory = try makeTemporaryDirectory("mn-vantage")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteRunStore(path: "\(directory)/runs.sqlite")
        let metrics = MonitorMetrics(vantage: "office-berlin")
        let recorder = RunRecorder(store: store, metrics: metrics)
        let service = MonitorService(runs: DemoRunSource(targets: ["t.invalid"], count: 1, interval: .zero), recorder: recorder,
                                     metrics: metrics, state: MonitorState(), vantage: "office-berlin")
        await service.handle(sampleRun(1, target: "t.invalid", timestamp: base))
        let stored = try await store.runs(matching: RunQuery(vantage: "office-berlin"))
        #expect(stored.total == 1)
        #expect(try stored.runs.first?.report().vantage == "office-berlin")
    }
}
