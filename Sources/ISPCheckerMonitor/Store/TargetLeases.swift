import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// What a replica does with a target when its check is due (`TargetCoordinator.decide`).
public enum LeaseDecision: Sendable, Equatable {
    /// This replica holds the target (or just claimed it): check it.
    case check
    /// This replica holds the target but more than its share of the vantage's targets: check it
    /// this time (so no interval is missed), then release it for a replica with fewer.
    case checkThenRelease
    /// Another live replica holds it, or this one holds its share already: no check, no run.
    case skip
}

/// Splits one vantage's targets among the monitors (replicas) that share it. The scheduler of
/// each replica asks at every due check (`CheckedRunSource`); SQLite has none (one monitor).
public protocol TargetCoordinator: Sendable {
    func decide(target: String) async -> LeaseDecision
    /// Gives the target up (after a `checkThenRelease` check).
    func release(target: String) async
}

/// Replicas of one vantage sharing its targets through PostgreSQL (tables `target_leases` and
/// `monitor_replicas`, schema version 6):
///
/// - Every replica heartbeats (`monitor_replicas.seen_at`) every third of `lease`, and with the
///   same statement extends every lease it holds to `lease` from now. A replica is live while
///   its heartbeat is younger than `lease`.
/// - At a target's due check, its holder renews and checks it. Anyone else skips it while the
///   lease is live; once it has expired (its holder died: at most `lease` after its last
///   heartbeat) the next replica whose check of it is due claims it, in one atomic
///   `INSERT … ON CONFLICT … DO UPDATE … WHERE expired` so that only one wins. The dead
///   replica's targets are so checked again within one interval plus `lease`.
/// - Shares: a replica claims a free target only while it holds fewer than
///   ⌈targets / live replicas⌉, and one holding more checks its target once more and then
///   releases it. A new replica so gets its share over one interval, without a restart.
/// - A replica that stops gracefully releases its leases and its heartbeat: the others take
///   its targets at their next due check.
/// - While PostgreSQL does not answer, a replica keeps checking the targets it held at its last
///   answer (its runs wait in the recorder's queue) and claims none.
///
/// Times are the server's (`clock_timestamp()`): the replicas' clocks need not agree.
public final class PostgresTargetLeases: TargetCoordinator, Service {
    public let store: PostgresRunStore
    public let vantage: String
    /// This replica's name in the tables: host, process id and a random suffix.
    public let replica: String
    public let lease: Duration
    /// How many targets the vantage has (this replica's list: the replicas share one list).
    public let targetCount: Int
    private let logger: Logger
    /// The targets held at the last answer of the database; used while it does not answer.
    private let held = Mutex<Set<String>>([])
    private let announced = Mutex(false)

    public static let defaultLease: Duration = .seconds(30)

    public init(store: PostgresRunStore, vantage: String, targetCount: Int, lease: Duration = PostgresTargetLeases.defaultLease,
                replica: String? = nil, logger: Logger = Logger(label: "isp-checker.leases")) {
        self.store = store
        self.vantage = vantage
        self.targetCount = max(1, targetCount)
        self.lease = lease
        self.replica = replica ?? Self.defaultReplicaName()
        self.logger = logger
    }

    /// `HOST-PID-XXXXXX`: unique per process, and names the process in the tables.
    public static func defaultReplicaName() -> String {
        let suffix = String(UInt32.random(in: 0..<0xFF_FFFF), radix: 16)
        return "\(MonitorVantage.hostDefault)-\(getpid())-\(suffix)"
    }

    var leaseSeconds: Double { Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18 }

    /// Heartbeats every third of `lease` until graceful shutdown, then releases this replica's
    /// leases and heartbeat.
    public func run() async throws {
        let period = max(lease / 3, .milliseconds(200))
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                await heartbeatLogged()
                try? await Task.sleep(for: period)
            }
        }
        do {
            try await releaseAll()
            logger.info("released the target leases", metadata: ["replica": "\(replica)", "vantage": "\(vantage)"])
        } catch {
            logger.warning("cannot release the target leases; they expire by themselves",
                           metadata: ["replica": "\(replica)", "lease": "\(lease)", "error": "\(error)"])
        }
    }

    private func heartbeatLogged() async {
        do {
            try await heartbeat()
        } catch {
            if Task.isCancelled { return }
            logger.warning("replica heartbeat failed; checking the targets held before", metadata: [
                "replica": "\(replica)", "error": "\(error)"])
        }
    }

    /// Marks this replica live and extends its leases; returns the targets it holds.
    @discardableResult
    public func heartbeat() async throws -> Set<String> {
        let (replica, vantage, seconds) = (self.replica, self.vantage, leaseSeconds)
        let targets = try await store.timed { [client = store.client] () async throws -> Set<String> in
            try await client.query("""
                INSERT INTO monitor_replicas (replica, vantage, seen_at) VALUES (\(replica), \(vantage), clock_timestamp())
                ON CONFLICT (replica) DO UPDATE SET seen_at = EXCLUDED.seen_at, vantage = EXCLUDED.vantage
                """)
            var targets = Set<String>()
            let rows = try await client.query("""
                UPDATE target_leases SET expires_at = clock_timestamp() + make_interval(secs => \(seconds))
                WHERE vantage = \(vantage) AND holder = \(replica) RETURNING target
                """)
            for try await target in rows.decode(String.self) { targets.insert(target) }
            return targets
        }
        announced.withLock { $0 = true }
        held.withLock { $0 = targets }
        return targets
    }

    public func decide(target: String) async -> LeaseDecision {
        do {
            if !announced.withLock({ $0 }) { try await heartbeat() }
            let decision = try await decideOnServer(target: target)
            held.withLock { held in
                if decision == .skip {
                    _ = held.remove(target)
                } else {
                    _ = held.insert(target)
                }
            }
            return decision
        } catch {
            let keep = held.withLock { $0.contains(target) }
            if !Task.isCancelled {
                logger.warning("cannot reach the target leases", metadata: [
                    "target": "\(target)", "replica": "\(replica)", "decision": "\(keep ? "check (held before)" : "skip")",
                    "error": "\(error)"])
            }
            return keep ? .check : .skip
        }
    }

    private func decideOnServer(target: String) async throws -> LeaseDecision {
        let (replica, vantage, seconds, targetCount) = (self.replica, self.vantage, leaseSeconds, self.targetCount)
        return try await store.timed { [client = store.client] () async throws -> LeaseDecision in
            var holder: String?
            var live = false
            for try await (name, alive) in try await client.query("""
                SELECT holder, expires_at > clock_timestamp() FROM target_leases WHERE target = \(target) AND vantage = \(vantage)
                """).decode((String, Bool).self) {
                holder = name
                live = alive
            }
            if holder != nil && holder != replica && live { return .skip }
            var replicas: Int64 = 1
            var mine: Int64 = 0
            for try await (count, own) in try await client.query("""
                SELECT (SELECT COUNT(*) FROM monitor_replicas
                        WHERE vantage = \(vantage) AND seen_at > clock_timestamp() - make_interval(secs => \(seconds)))::BIGINT,
                       (SELECT COUNT(*) FROM target_leases
                        WHERE vantage = \(vantage) AND holder = \(replica) AND expires_at > clock_timestamp())::BIGINT
                """).decode((Int64, Int64).self) {
                replicas = max(count, 1)
                mine = own
            }
            let share = LeaseShare.share(targets: targetCount, replicas: Int(replicas))
            if holder == replica {
                try await client.query("""
                    UPDATE target_leases SET expires_at = clock_timestamp() + make_interval(secs => \(seconds))
                    WHERE target = \(target) AND vantage = \(vantage) AND holder = \(replica)
                    """)
                // `mine` counts this target when its lease had not expired; otherwise add it.
                let holding = Int(mine) + (live ? 0 : 1)
                return holding > share ? .checkThenRelease : .check
            }
            if Int(mine) >= share { return .skip }
            var claimed = false
            for try await _ in try await client.query("""
                INSERT INTO target_leases (target, vantage, holder, expires_at)
                VALUES (\(target), \(vantage), \(replica), clock_timestamp() + make_interval(secs => \(seconds)))
                ON CONFLICT (target, vantage) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                WHERE target_leases.holder = EXCLUDED.holder OR target_leases.expires_at <= clock_timestamp()
                RETURNING holder
                """).decode(String.self) {
                claimed = true
            }
            return claimed ? .check : .skip
        }
    }

    public func release(target: String) async {
        let (replica, vantage) = (self.replica, self.vantage)
        do {
            try await store.timed { [client = store.client] in
                try await client.query("""
                    DELETE FROM target_leases WHERE target = \(target) AND vantage = \(vantage) AND holder = \(replica)
                    """)
            }
            held.withLock { _ = $0.remove(target) }
        } catch {
            logger.warning("cannot release a target lease; it expires by itself", metadata: [
                "target": "\(target)", "replica": "\(replica)", "error": "\(error)"])
        }
    }

    /// Gives up every lease and the heartbeat (graceful stop).
    public func releaseAll() async throws {
        let (replica, vantage) = (self.replica, self.vantage)
        try await store.timed { [client = store.client] in
            try await client.query("DELETE FROM target_leases WHERE vantage = \(vantage) AND holder = \(replica)")
            try await client.query("DELETE FROM monitor_replicas WHERE replica = \(replica)")
        }
        held.withLock { $0 = [] }
    }

    /// The targets this replica holds now, by the database (tests, logs).
    public func heldTargets() async throws -> Set<String> {
        let (replica, vantage) = (self.replica, self.vantage)
        return try await store.timed { [client = store.client] () async throws -> Set<String> in
            var targets = Set<String>()
            for try await target in try await client.query("""
                SELECT target FROM target_leases WHERE vantage = \(vantage) AND holder = \(replica) AND expires_at > clock_timestamp()
                """).decode(String.self) { targets.insert(target) }
            return targets
        }
    }
}

/// The share of one replica: ⌈targets / live replicas⌉, so the shares cover every target.
public enum LeaseShare {
    public static func share(targets: Int, replicas: Int) -> Int {
        let replicas = max(replicas, 1)
        return (max(targets, 0) + replicas - 1) / replicas
    }
}
