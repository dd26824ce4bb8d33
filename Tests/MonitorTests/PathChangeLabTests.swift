import Foundation
import ISPChecker
import TestSupport
import Testing

/// A path change as the monitor meets it (issue 20, item 8): the realistic lab with two parallel
/// routers at hop 2 (`lab.sh up --ecmp --realistic`), r1 sending everything through r2a; after
/// the monitor has stored runs over that path, r1 moves to r2b (`lab.sh reroute --via r2b`) and
/// r2b drops 40 % of what it forwards. The next run must be a path change at hop 2 (in the
/// store, the API and the counter), its loss diagnosis must say the loss began with it, and the
/// incident the loss opens must count the change.
@Suite("Path changes in the lab", .serialized,
       .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: monitorExecutable), "needs root and a built isp-checker-monitor"))
struct PathChangeLabTests {
    static let prefix = "ispc-tmpc"
    static let labScript = repositoryRoot.appendingPathComponent("lab/lab.sh").path
    static let client = "\(prefix)-c"
    static let destination = "10.99.4.2"

    private func lab(_ arguments: [String]) throws -> String {
        try run("/bin/bash", [Self.labScript] + arguments + ["--prefix", Self.prefix]).stdout
    }

    private func get(_ port: Int, _ path: String) throws -> String { try namespaceGet(Self.client, port: port, path) }

    private func storedCount(_ process: Subprocess) -> Int {
        process.stdout.split(separator: "\n").filter { $0.hasPrefix("stored ") }.count
    }

    @Test("r1 moves from r2a to a lossy r2b: one change at hop 2, counted, and the loss diagnosis says it began with it")
    func aRerouteToALossyBranchIsAPathChangeWithTheLoss() async throws {
        defer { _ = try? lab(["down"]) }
        _ = try? lab(["down"])
        _ = try lab(["up", "--ecmp", "--realistic", "--routers", "3"])
        _ = try lab(["reroute", "--via", "r2a"])
        let r2a = try lab(["addr", "r2a"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let r2b = try lab(["addr", "r2b"]).trimmingCharacters(in: .whitespacesAndNewlines)

        let directory = try makeTemporaryDirectory("mn-pathchange")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let config = "\(directory)/checker.yaml"
        // A healthy critical target is checked every 2 × 5 s (the runbook's adaptive interval);
        // a check (ping, then a 10-round trace beside it) takes about 5 s, so there is a quiet
        // gap after each `stored` line in which the reroute lands between two runs.
        try """
        targets:
          - host: \(Self.destination)
            class: critical
        probe_intervals:
          critical_targets: 5s
        http:
          host: 127.0.0.1
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let port = Int.random(in: 20000...40000)
        let process = try Subprocess("/usr/sbin/ip", ["netns", "exec", Self.client, monitorExecutable,
                                                      "--config", config, "--sqlite", "\(directory)/store/runs.sqlite", "--port", "\(port)"])
        defer { if process.isRunning { kill(process.pid, SIGKILL); _ = process.wait() } }

        // Two runs over r2a: the second compares with the first (no change).
        #expect(try await eventually(timeout: .seconds(60)) { storedCount(process) >= 2 }, "fewer than two runs stored: \(process.stderr)")
        _ = try lab(["reroute", "--via", "r2b"])
        _ = try lab(["loss", "--node", "r2b", "--percent", "40"])
        let before = storedCount(process)

        // The runs after the move: a change at hop 2 from r2a to r2b.
        var changes: [[String: Any]] = []
        #expect(try await eventually(timeout: .seconds(60)) {
            guard storedCount(process) > before,
                  let body = try? JSONSerialization.jsonObject(with: Data(get(port, "/api/v1/targets/\(Self.destination)/path-changes").utf8)) as? [String: Any]
            else { return false }
            changes = body["path_changes"] as? [[String: Any]] ?? []
            return !changes.isEmpty
        }, "no path change recorded: \(process.stderr)")
        #expect(changes.count == 1, "\(changes)")
        let change = try #require(changes.first)
        #expect(change["hop"] as? Int == 2, "\(change)")
        #expect(change["from"] as? [String] == [r2a], "\(change)")
        #expect(change["to"] as? [String] == [r2b], "\(change)")

        // The run that changed path is the one whose loss began: its diagnosis says so.
        let runID = try #require(change["run_id"] as? String)
        let stored = try get(port, "/api/v1/runs/\(runID)")
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(stored.utf8))
        let evidence = report.diagnosis.flatMap(\.evidence).map(\.detail)
        #expect(evidence.contains { $0.contains("loss began at the run where the path changed at hop 2: \(r2a) → \(r2b)") },
                "\(report.diagnosis)")

        // The loss goes on: the incident it opens (two bad runs, the default) counts the change
        // that came with its first run.
        var incident: [String: Any] = [:]
        // A degraded target (P2) is checked again after max(base / 2, 60 s) (runbook §4.1.2).
        #expect(try await eventually(timeout: .seconds(150)) {
            guard let body = try? JSONSerialization.jsonObject(with: Data(get(port, "/api/v1/incidents?target=\(Self.destination)&state=open").utf8)) as? [String: Any],
                  let first = (body["incidents"] as? [[String: Any]])?.first else { return false }
            incident = first
            return true
        }, "no incident opened: \(process.stderr)")
        #expect(incident["path_changes"] as? Int == 1, "\(incident)")

        let metrics = try get(port, "/metrics")
        let counted = metrics.split(separator: "\n").filter { $0.hasPrefix("isp_checker_path_changes_total{") }
        #expect(counted == ["isp_checker_path_changes_total{target=\"\(Self.destination)\"} 1"], "\(counted)")

        process.terminate()
        #expect(process.wait() == 0, "\(process.stderr)")
    }
}
