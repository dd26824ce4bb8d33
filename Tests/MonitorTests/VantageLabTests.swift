import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import TestSupport
import Testing

/// Issue 21 in the lab: two client sites behind their own access routers (r1, r1b) joining at
/// the shared transit r2 (`lab.sh up --sites 2`), a PostgreSQL cluster started here, a monitor
/// per site (vantages `site-1`, `site-2`) plus a second replica at site 1. The monitors reach
/// the server through its Unix socket (`?host=DIR`): they run in the lab's namespaces, it does not.
///
/// - every target is checked once per interval per vantage: at site 1 each target's runs in five
///   intervals come from one replica only, and none is skipped;
/// - kill -9 of a replica: its targets are checked again within one interval plus the lease;
/// - loss on site 1's access router: the verdict is "only site-1";
/// - loss on the shared transit: "all vantages", at the hop past r2 both paths share.
///
/// The idealised lab: a healthy target's interval is 2 × the base 3 s (the runbook's adaptive
/// interval), 6 s, longer than a check (about 5 s); a degraded one's is 60 s, so the second
/// loss is met by a fresh site-1 monitor.
@Suite("Vantages and replicas in the lab", .serialized,
       .enabled(if: PostgresCluster.available && FileManager.default.isExecutableFile(atPath: monitorExecutable),
                "needs root, the PostgreSQL server and the built isp-checker-monitor"))
struct VantageLabTests {
    /// `ispc-t` (or $ISPC_LAB_TEST_PREFIX, for two test runs on one machine) and this suite's name.
    static let prefix = (ProcessInfo.processInfo.environment["ISPC_LAB_TEST_PREFIX"] ?? "ispc-t") + "vp"
    static let labScript = repositoryRoot.appendingPathComponent("lab/lab.sh").path
    static let targets = ["10.99.4.2", "10.77.128.1", "10.77.128.2", "10.77.128.3"]
    /// A healthy target's interval (2 × `critical_targets: 3s`) and the lease.
    static let interval: TimeInterval = 6
    static let lease: TimeInterval = 3

    private func lab(_ arguments: [String]) throws -> String {
        try run("/bin/bash", [Self.labScript] + arguments + ["--prefix", Self.prefix]).stdout
    }

    private func config(vantage: String, in directory: String) throws -> String {
        let path = "\(directory)/\(vantage).yaml"
        try """
        vantage: \(vantage)
        lease: 3s
        targets:
        \(Self.targets.map { "  - host: \($0)\n    class: critical" }.joined(separator: "\n"))
        probe_intervals:
          critical_targets: 3s
        http:
          host: 127.0.0.1
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func storedIDs(_ process: Subprocess) -> Set<String> {
        Set(process.stdout.split(separator: "\n").compactMap { $0.hasPrefix("stored ") ? String($0.dropFirst(7)) : nil })
    }

    /// (id, target, vantage, time) of the stored runs since `since`.
    private func runs(_ store: PostgresRunStore, since: Date) async throws -> [(id: String, target: String, vantage: String, time: Date)] {
        let milliseconds = Int64(since.timeIntervalSince1970 * 1000)
        var rows: [(id: String, target: String, vantage: String, time: Date)] = []
        for try await (id, target, vantage, time) in try await store.client.query("""
            SELECT id, target, COALESCE(vantage, ''), timestamp_ms FROM runs WHERE timestamp_ms >= \(milliseconds) ORDER BY timestamp_ms
            """).decode((String, String, String, Int64).self) {
            rows.append((id, target, vantage, Date(timeIntervalSince1970: Double(time) / 1000)))
        }
        return rows
    }

    private func verdict(_ namespace: String, port: Int) -> [String: Any]? {
        guard let text = try? namespaceGet(namespace, port: port, "/api/v1/targets/\(Self.targets[0])/verdict") else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    }

    /// Whether every vantage's newest run in `verdict` started after `date`.
    private func fresh(_ verdict: [String: Any], after date: Date) -> Bool {
        let vantages = verdict["vantages"] as? [[String: Any]] ?? []
        return vantages.count == 2 && vantages.allSatisfy { view in
            guard let text = view["timestamp"] as? String, let time = try? Date(text, strategy: .iso8601) else { return false }
            return time > date
        }
    }

    @Test("replicas share a vantage's targets, a killed one's are taken over, and the verdict tells one site's fault from the shared transit's")
    func vantagesReplicasAndVerdict() async throws {
        defer { _ = try? lab(["down"]) }
        _ = try? lab(["down"])
        // The cluster's initdb beside the lab's start.
        async let made = PostgresCluster.make()
        do { _ = try lab(["up", "--sites", "2", "--routers", "3"]) } catch { (try? await made)?.destroy(); throw error }
        let cluster = try await made
        defer { cluster.destroy() }
        // The monitors continue as nobody: the socket's folder must be open to them.
        #expect(chmod(cluster.directory, 0o711) == 0)
        let store = try PostgresRunStore(url: cluster.url)
        let pool = Task { try await store.run() }
        defer { pool.cancel() }
        try await store.migrate()  // before the monitors: none of their first checks waits for the tables

        let directory = try makeTemporaryDirectory("mn-vantage-lab")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let url = "postgres://postgres@localhost:\(cluster.port)/postgres?host=\(cluster.directory)"
        let site1 = try config(vantage: "site-1", in: directory), site2 = try config(vantage: "site-2", in: directory)
        var processes: [Subprocess] = []
        defer { for process in processes where process.isRunning { kill(process.pid, SIGKILL); _ = process.wait() } }
        func start(_ node: String, _ config: String) throws -> (Subprocess, Int) {
            let port = Int.random(in: 20000...40000)
            let process = try Subprocess("/usr/sbin/ip", ["netns", "exec", "\(Self.prefix)-\(node)", monitorExecutable,
                                                          "--config", config, "--postgres", url, "--port", "\(port)"])
            processes.append(process)
            return (process, port)
        }
        let (a1, _) = try start("c", site1)
        let (a2, _) = try start("c", site1)
        let (b, bPort) = try start("c2", site2)

        // Warm-up: every target has runs from both vantages, and the two site-1 replicas have split the targets.
        let began = Date()
        #expect(try await eventually(timeout: .seconds(40)) {
            let seen = try await runs(store, since: began)
            return Set(seen.map { "\($0.vantage) \($0.target)" }).count == 2 * Self.targets.count
        }, "not every target checked from both vantages: \(a1.stderr.suffix(2000)) \(b.stderr.suffix(1000))")
        try await Task.sleep(for: .seconds(3))

        // Five intervals: per vantage, each target's runs come from one replica and none is skipped.
        let windowStart = Date()
        try await Task.sleep(for: .seconds(5 * Self.interval))
        let window = try await runs(store, since: windowStart).filter { $0.time <= windowStart.addingTimeInterval(5 * Self.interval) }
        let byA1 = storedIDs(a1), byA2 = storedIDs(a2)
        for vantage in ["site-1", "site-2"] {
            for target in Self.targets {
                let times = window.filter { $0.vantage == vantage && $0.target == target }.map(\.time)
                #expect((4...6).contains(times.count), "\(vantage) \(target): \(times.count) runs in 5 intervals")
                let gaps = zip(times.dropFirst(), times).map { $0.timeIntervalSince($1) }
                #expect(gaps.allSatisfy { $0 > Self.interval / 2 }, "\(vantage) \(target): a duplicate check, gaps \(gaps)")
            }
        }
        for target in Self.targets {
            let ids = Set(window.filter { $0.vantage == "site-1" && $0.target == target }.map(\.id))
            #expect(ids.isDisjoint(with: byA1) || ids.isDisjoint(with: byA2), "\(target) checked by both site-1 replicas")
        }
        let sharedBy = Set(window.filter { $0.vantage == "site-1" }.map { byA1.contains($0.id) ? "a1" : byA2.contains($0.id) ? "a2" : "?" })
        #expect(sharedBy == ["a1", "a2"], "the site-1 replicas did not share the targets: \(sharedBy)")

        // kill -9 of a2: its targets are checked again (by a1) within one interval plus the lease.
        var held: [String] = []
        let pattern = "%-\(a2.pid)-%"
        for try await target in try await store.client.query(
            "SELECT target FROM target_leases WHERE vantage = 'site-1' AND holder LIKE \(pattern)").decode(String.self) {
            held.append(target)
        }
        #expect(!held.isEmpty, "a2 holds no target")
        kill(a2.pid, SIGKILL)
        _ = a2.wait()
        let killed = Date()
        var takenOver: [String: Date] = [:]
        #expect(try await eventually(timeout: .seconds(40)) {
            for run in try await runs(store, since: killed) where run.vantage == "site-1" && held.contains(run.target) && takenOver[run.target] == nil {
                takenOver[run.target] = run.time
            }
            return takenOver.count == held.count
        }, "a2's targets \(held) not checked again: \(takenOver)")
        for (target, time) in takenOver {
            // The check starts within interval + lease (plus a second for the heartbeat's period and a loaded machine).
            #expect(time.timeIntervalSince(killed) <= Self.interval + Self.lease + 2, "\(target) taken over after \(time.timeIntervalSince(killed)) s")
        }

        // Loss on site 1's access router: only site-1 sees it.
        _ = try lab(["loss", "--node", "r1", "--percent", "30"])
        let accessLoss = Date()
        var seen: [String: Any] = [:]
        #expect(try await eventually(timeout: .seconds(40)) {
            guard let verdict = verdict("\(Self.prefix)-c2", port: bPort), fresh(verdict, after: accessLoss) else { return false }
            seen = verdict
            return verdict["scope"] as? String == "one_vantage"
        }, "verdict \(seen)")
        #expect(seen["faulty_vantages"] as? [String] == ["site-1"], "\(seen)")
        let accessText = (seen["diagnosis"] as? [String: Any])?["explanation"] as? String ?? ""
        #expect(accessText.hasPrefix("Only site-1 sees"), "\(accessText)")
        // r1 drops 30 % each way: about half of the probes past it are lost, from hop 2 on. A run's
        // ten probes a hop may show hop 2 just under the diagnosis's loss threshold, and the
        // loss then starts at hop 3 (seen once in a local run, 2026-12-07): either, never the access hop itself.
        #expect(accessText.contains("from its hop 2") || accessText.contains("from its hop 3"), "\(accessText)")

        // Loss on the shared transit r2 instead: every vantage sees it, from the hop past r2 that both paths share.
        // site-1's last run was degraded (next check in 60 s): a fresh site-1 monitor meets the new fault.
        _ = try lab(["clear", "--node", "r1"])
        kill(a1.pid, SIGTERM)
        _ = a1.wait()
        // 50 %, and up to one degraded interval (60 s) more: at 30 % a site-2 run could come out
        // degraded without a located fault, and its next check was then 60 s away (CI, 2026-12-07).
        _ = try lab(["loss", "--node", "r2", "--percent", "50"])
        let transitLoss = Date()
        _ = try start("c", site1)
        #expect(try await eventually(timeout: .seconds(75)) {
            guard let verdict = verdict("\(Self.prefix)-c2", port: bPort), fresh(verdict, after: transitLoss) else { return false }
            seen = verdict
            return verdict["scope"] as? String == "all_vantages"
        }, "verdict \(seen)")
        #expect(seen["faulty_vantages"] as? [String] == ["site-1", "site-2"], "\(seen)")
        // The shared hop is past r2 and the same for both sites: r3 (hop 3) as a rule, the
        // destination (hop 4) when r3's answers happened to come through the 50 % loss well
        // enough to be left out (CI, 2026-12-07 third session). Never an access hop.
        let shared = seen["shared_hop"] as? [String: Any]
        let sharedHops: [String: [String: Int]] = ["10.99.3.2": ["site-1": 3, "site-2": 3], "10.99.4.2": ["site-1": 4, "site-2": 4]]
        let sharedAddress = shared?["address"] as? String ?? ""
        #expect(sharedHops[sharedAddress] != nil, "\(seen)")
        #expect(shared?["hops"] as? [String: Int] == sharedHops[sharedAddress], "\(seen)")
    }
}
