import Foundation
import TestSupport
import Testing

/// docs/alerts.yml is what users load into Prometheus: it must parse, and each alert must fire
/// on the series that should fire it (docs/alerts-test.yml) and on nothing else.
/// promtool comes with Debian's prometheus package (scripts/install-deps.sh).
@Suite struct AlertRulesTests {
    static let docs = repositoryRoot.appendingPathComponent("docs").path

    @Test func theAlertRulesPassPromtoolsCheck() throws {
        let result = try run("/usr/bin/promtool", ["check", "rules", "\(Self.docs)/alerts.yml"], check: false)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        // 10 from the runbook's thresholds, 4 latency SLO burn-rate alerts, 1 path change.
        #expect(result.stdout.contains("SUCCESS: 15 rules found"), "\(result.stdout)")
    }

    @Test func thePathChangeAlertFiresAfterAChangeAndNotOnASteadyPath() throws {
        let result = try run("/usr/bin/promtool", ["test", "rules", "\(Self.docs)/alerts-path-test.yml"], check: false)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test func theLatencySLOBurnRateAlertsFireOnASpentBudgetAndNotWithinIt() throws {
        let result = try run("/usr/bin/promtool", ["test", "rules", "\(Self.docs)/alerts-slo-test.yml"], check: false)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test func eachAlertFiresOnItsSignatureAndNotOnAHealthyTarget() throws {
        let result = try run("/usr/bin/promtool", ["test", "rules", "\(Self.docs)/alerts-test.yml"], check: false)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}

/// docs/grafana-dashboard.json: valid JSON whose every query is valid PromQL (promtool parses it
/// as a recording rule) and names only series the monitor exports.
@Suite struct GrafanaDashboardTests {
    static let exported: Set<String> = ["isp_checker_score", "isp_checker_probe_status", "isp_checker_probe_details",
                                        "isp_checker_api_requests_total", "isp_checker_circuit_breaker_state"]

    func expressions() throws -> [String] {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("docs/grafana-dashboard.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    @Test func everyPanelQueriesOnlyExportedSeries() throws {
        let queries = try expressions()
        #expect(queries.count >= 9)
        for query in queries {
            let names = query.matches(of: /isp_checker_[a-z_]+/).map { String($0.output) }
            #expect(!names.isEmpty, "\(query)")
            for name in names { #expect(Self.exported.contains(name), "\(name) in \(query)") }
        }
    }

    @Test func everyPanelQueryIsValidPromQL() throws {
        // Grafana fills $target in before Prometheus sees the query.
        let rules = try expressions().enumerated().map { index, query in
            "      - record: dashboard_query_\(index)\n        expr: '\(query.replacingOccurrences(of: "$target", with: ".*").replacingOccurrences(of: "'", with: "''"))'"
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-dashboard-rules-\(getpid()).yml").path
        try ("groups:\n  - name: dashboard\n    rules:\n" + rules.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        let result = try run("/usr/bin/promtool", ["check", "rules", file], check: false)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
