import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Testing

/// Replicas of one vantage sharing its targets through a real PostgreSQL cluster started by the
/// test (`target_leases`, `monitor_replicas`; Store/TargetLeases.swift).
@Suite("Target leases", .enabled(if: PostgresCluster.available, "needs root and the PostgreSQL server binaries"))
struct TargetLeaseTests {
    let targets = (1...6).map { "t\($0).invalid" }

    private func withLeases(_ body: (PostgresRunStore, PostgresCluster) async throws -> Void) async throws {
        try await withStore(.postgresql) { store, cluster in
            try await body(store as! PostgresRunStore, cluster!)
        }
    }

    private func replica(_ store: PostgresRunStore, _ name: String, vantage: String = "office-berlin",
                         lease: Duration = .seconds(3)) -> PostgresTargetLeases {
        PostgresTargetLeases(store: store, vantage: vantage, targetCount: targets.count, lease: lease, replica: name)
    }

    /// Asks `replica` about every target in order, releasing as it is told; returns those it checks.
    @discardableResult
    private func pass(_ replica: PostgresTargetLeases) async -> Set<String> {
        var checked = Set<String>()
        for target in targets {
            let decision = await replica.decide(target: target)
            if decision != .skip { checked.insert(target) }
            if decision == .checkThenRelease { await replica.release(target: target) }
        }
        return checked
    }

    @Test("two live replicas split the targets: each is checked by exactly one, each replica its share")
    func split() async throws {
        try await withLeases { store, _ in
            let a = replica(store, "a"), b = replica(store, "b")
            try await a.heartbeat()
            try await b.heartbeat()
            let byA = await pass(a), byB = await pass(b)
            #expect(byA.count == 3 && byB.count == 3)
            #expect(byA.isDisjoint(with: byB) && byA.union(byB) == Set(targets))
            // The next interval: the same split, nobody claims the other's.
            #expect(await pass(a) == byA)
            #expect(await pass(b) == byB)
            #expect(try await a.heldTargets() == byA)
        }
    }

    @Test("replicas racing for the same free targets: exactly one wins each")
    func race() async throws {
        try await withLeases { store, _ in
            let a = replica(store, "a"), b = replica(store, "b")
            try await a.heartbeat()
            try await b.heartbeat()
            for target in targets {
                async let first = a.decide(target: target)
                async let second = b.decide(target: target)
                let decisions = await [first, second]
                #expect(decisions.filter { $0 != .skip }.count == 1, "target \(target): \(decisions)")
            }
            let held = try await a.heldTargets().union(try await b.heldTargets())
            #expect(held == Set(targets))
        }
    }

    @Test("a replica that stops heartbeating loses its targets to the other once its lease expires")
    func takeover() async throws {
        try await withLeases { store, _ in
            let a = replica(store, "a"), b = replica(store, "b")
            try await a.heartbeat()
            try await b.heartbeat()
            _ = await pass(a)
            let byB = await pass(b)
            #expect(byB.count == 3)
            // b dies (no more heartbeats). While its lease runs, a leaves its targets alone.
            for target in byB { #expect(await a.decide(target: target) == .skip) }
            var all = Set<String>()
            _ = try await eventually(timeout: .seconds(20)) {
                try await a.heartbeat()
                all = await pass(a)
                return all == Set(targets)
            }
            #expect(all == Set(targets))
            #expect(try await b.heldTargets().isEmpty)
        }
    }

    @Test("a new replica takes its share without a restart: the holder checks and then releases its excess")
    func rebalance() async throws {
        try await withLeases { store, _ in
            let a = replica(store, "a"), b = replica(store, "b")
            try await a.heartbeat()
            #expect(await pass(a) == Set(targets))  // alone: all six are a's share
            try await b.heartbeat()
            #expect(await pass(b).isEmpty)  // all held by a, still live
            // a checks every target once more (none is missed) and lets go of three.
            #expect(await pass(a) == Set(targets))
            #expect(try await a.heldTargets().count == 3)
            let byB = await pass(b)
            #expect(byB.count == 3)
            #expect(try await a.heldTargets().isDisjoint(with: byB))
            #expect(await pass(a).count == 3)
        }
    }

    @Test("a replica stopping gracefully releases its targets at once; another vantage is not affected")
    func gracefulRelease() async throws {
        try await withLeases { store, _ in
            let a = replica(store, "a"), b = replica(store, "b")
            let paris = replica(store, "p", vantage: "office-paris")
            try await a.heartbeat()
            try await b.heartbeat()
            try await paris.heartbeat()
            _ = await pass(a)
            _ = await pass(b)
            #expect(await pass(paris) == Set(targets))  // its own vantage: all six
            try await b.releaseAll()
            #expect(await pass(a) == Set(targets))  // share of one replica: all, claimed now
            #expect(try await paris.heldTargets() == Set(targets))
        }
    }

    @Test("while PostgreSQL is away a replica keeps checking the targets it held, and claims none")
    func outage() async throws {
        try await withLeases { store, cluster in
            let a = replica(store, "a"), b = replica(store, "b")
            try await a.heartbeat()
            try await b.heartbeat()
            let byA = await pass(a)
            _ = await pass(b)
            try await cluster.stop()
            let held = try #require(byA.first), other = try #require(Set(targets).subtracting(byA).first)
            #expect(await a.decide(target: held) == .check)
            #expect(await a.decide(target: other) == .skip)
        }
    }

    @Test("the share is the ceiling of targets over live replicas")
    func share() {
        #expect(LeaseShare.share(targets: 6, replicas: 2) == 3)
        #expect(LeaseShare.share(targets: 7, replicas: 2) == 4)
        #expect(LeaseShare.share(targets: 1, replicas: 3) == 1)
        #expect(LeaseShare.share(targets: 5, replicas: 0) == 5)
    }
}
