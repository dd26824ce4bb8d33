import Foundation
import Hummingbird
import ISPChecker
import NIOCore

/// `/health` (liveness: 200 while the process serves) and `/health/detailed`: store
/// reachability, the last run's age, breaker states. Both stay open for probes; the store's
/// error text (which may name hosts, ports, paths) is shown only to a request that could read
/// `/api/*` (no key configured, or the key presented).
struct HealthController<Context: RequestContext> {
    let recorder: RunRecorder
    let state: MonitorState
    let apiKey: String?
    /// Longest the store ping may take before the store counts as unreachable.
    let pingTimeout: Duration

    struct Detailed: Encodable {
        struct Store: Encodable {
            var backend: String
            var reachable: Bool
            var error: String?
            var pendingRuns: Int
            var droppedRuns: Int
            var rejectedRuns: Int
            var pingMilliseconds: Double?
            enum CodingKeys: String, CodingKey {
                case backend, reachable, error
                case pendingRuns = "pending_runs", droppedRuns = "dropped_runs", rejectedRuns = "rejected_runs"
                case pingMilliseconds = "ping_ms"
            }
        }
        struct LastRun: Encodable {
            var id: String
            var target: String
            var timestamp: Date
            var ageSeconds: Double
            enum CodingKeys: String, CodingKey {
                case id, target, timestamp
                case ageSeconds = "age_seconds"
            }
        }
        var status: String
        var uptimeSeconds: Double
        var store: Store
        var lastRun: LastRun?
        var circuitBreakers: [String: CircuitState]
        enum CodingKeys: String, CodingKey {
            case status, store
            case uptimeSeconds = "uptime_seconds", lastRun = "last_run", circuitBreakers = "circuit_breakers"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(status, forKey: .status)
            try container.encode(uptimeSeconds, forKey: .uptimeSeconds)
            try container.encode(store, forKey: .store)
            try container.encode(lastRun, forKey: .lastRun)  // null when there is none yet
            try container.encode(circuitBreakers, forKey: .circuitBreakers)
        }
    }

    func register(on router: Router<Context>) {
        router.get("health") { _, _ in
            RunsController<Context>.json("{\"status\":\"ok\"}")
        }
        router.get("health/detailed") { request, context in
            let authorized = apiKey.map { key in
                !key.isEmpty && (APIKeyMiddleware<Context>.presentedKey(request).map { APIKeyMiddleware<Context>.constantTimeEqual($0, key) } ?? false)
            } ?? true
            return try await detailed(showingErrors: authorized, context: context)
        }
    }

    func detailed(showingErrors: Bool, context: Context) async throws -> Response {
        let store = recorder.store
        let started = ContinuousClock.now
        var reachable = true
        var pingError: String?
        do {
            try await withTimeout(pingTimeout) { try await store.ping() }
        } catch {
            reachable = false
            context.logger.warning("/health/detailed: run store ping failed", metadata: ["error": "\(error)"])
            pingError = showingErrors ? String(describing: error) : nil
        }
        let pingMilliseconds = reachable ? (ContinuousClock.now - started).seconds * 1000 : nil
        let now = Date()
        let report = Detailed(
            status: reachable ? "ok" : "degraded",
            uptimeSeconds: now.timeIntervalSince(state.startedAt),
            store: .init(backend: store.backendName, reachable: reachable, error: pingError,
                         pendingRuns: await recorder.pendingCount, droppedRuns: await recorder.droppedCount,
                         rejectedRuns: await recorder.rejectedCount, pingMilliseconds: pingMilliseconds),
            lastRun: state.lastRun.map {
                .init(id: $0.id, target: $0.target, timestamp: $0.timestamp, ageSeconds: now.timeIntervalSince($0.timestamp))
            },
            circuitBreakers: state.breakerStates)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let body = String(decoding: try encoder.encode(report), as: UTF8.self)
        return RunsController<Context>.json(body, status: reachable ? .ok : .serviceUnavailable)
    }
}
