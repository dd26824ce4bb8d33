import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport
import Testing

/// Path changes in the monitor's history, API and metrics (issue 20 item 8).
@Suite("Path changes in the monitor")
struct PathChangeTests {
    let base = Date(timeIntervalSince1970: 1_796_000_000)

    /// A run of `target` whose trace answers at hop 2 from `hop2` (nil: silent at hop 2).
    func run(_ index: Int, target: String = "lab.invalid", hop2: String?) -> RunReport {
        var report = dashboardRun(target: target, timestamp: base.addingTimeInterval(Double(index) * 60), rttMilliseconds: 10, withTrace: true)
        report.id = "run-\(target)-\(index)"
        if var trace = report.trace {
            trace.hops[1].addresses = hop2.map { [HopAddress(address: IPAddress($0)!, replies: 3)] } ?? []
            trace.hops[1].received = hop2 == nil ? 0 : 3
            report.trace = trace
        }
        return report
    }

    @Test("a run whose hop 2 moved is one stored change, also behind a silent hop; a retried insert adds none",
          arguments: Backend.availableCases)
    func storedOncePerChange(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let runs = [run(0, hop2: "10.0.1.1"), run(1, hop2: nil), run(2, hop2: "10.0.9.9"), run(3, hop2: "10.0.9.9"),
                        run(4, target: "other.invalid", hop2: "10.0.1.1")]
            for report in runs { try await store.insert(report) }
            try await store.insert(runs[2])  // a retry whose first attempt committed
            let page = try await store.pathChanges(matching: RunQuery())
            #expect(page.total == 1)
            let change = try #require(page.changes.first)
            #expect(change.runID == "run-lab.invalid-2")
            #expect(change.previousRunID == "run-lab.invalid-1")
            #expect(change.change == PathChange(hop: 2, from: ["10.0.1.1"], to: ["10.0.9.9"]))
            #expect(try await store.pathChanges(matching: RunQuery(target: "other.invalid")).total == 0)
            // Retention removes a change with its run.
            try await store.deleteRuns(olderThan: base.addingTimeInterval(150))
            #expect(try await store.pathChanges(matching: RunQuery()).total == 0)
        }
    }

    @Test("the API lists a target's path changes, paged like runs, and the counter counts them")
    func servedAndCounted() async throws {
        let directory = try makeTemporaryDirectory("mn-path")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let monitor = try await InProcessMonitor(store: try await SQLiteRunStore(path: "\(directory)/runs.sqlite"))
        let hops = ["10.0.1.1", "10.0.2.2", "10.0.2.2", "10.0.1.1", "10.0.1.1"]
        for (index, hop) in hops.enumerated() { monitor.submit(run(index, hop2: hop)) }
        #expect(try await monitor.waitForStoredRuns(hops.count))

        let all = try await httpGet(port: monitor.port, "/api/v1/targets/lab.invalid/path-changes?limit=1").json()
        #expect(all["total"] as? Int == 2)
        #expect(all["next_offset"] as? Int == 1)
        let newest = try #require((all["path_changes"] as? [[String: Any]])?.first)
        #expect(newest["run_id"] as? String == "run-lab.invalid-3")
        #expect(newest["hop"] as? Int == 2)
        #expect(newest["summary"] as? String == "hop 2: 10.0.2.2 → 10.0.1.1")
        let byQuery = try await httpGet(port: monitor.port, "/api/v1/path-changes?target=lab.invalid&offset=1").json()
        #expect((byQuery["path_changes"] as? [[String: Any]])?.first?["run_id"] as? String == "run-lab.invalid-1")
        #expect(try await httpGet(port: monitor.port, "/api/v1/path-changes?target=nobody").json()["total"] as? Int == 0)

        let metrics = String(decoding: monitor.metrics.render(), as: UTF8.self)
        #expect(metrics.contains("isp_checker_path_changes_total{target=\"lab.invalid\"} 2"), "\(metrics)")
        await monitor.stop()
    }
}
