import Foundation
import Hummingbird
import ISPChecker
import Logging
import NIOCore
import Synchronization

/// What `GET /probe?target=T&module=M` runs, and its bounds: blackbox_exporter's multi-target
/// pattern, where Prometheus names the target and the module in each scrape (docs/monitor.md).
public final class ProbeEndpoint: Sendable {
    /// The modules, by name (`ProbeModule.builtIn` unless the configuration changes them).
    public let modules: [String: ProbeModule]
    /// The engine of the `icmp`, `trace` and `check` probers; `nil`: those answer 503.
    public let engine: ProbeEngine?
    public let analyzer: HealthAnalyzer
    /// Probes running at once; one more is refused with 503 at once (Prometheus retries at its next scrape).
    public let concurrency: Int
    /// Longest a probe runs; a shorter `X-Prometheus-Scrape-Timeout-Seconds`, less `timeoutOffset`, wins.
    public let timeout: Duration

    public static let defaultConcurrency = 8
    public static let defaultTimeout: Duration = .seconds(30)
    /// The header Prometheus sends with its scrape timeout, in seconds.
    public static let scrapeTimeoutHeader = "X-Prometheus-Scrape-Timeout-Seconds"
    /// Kept from the scrape timeout for the answer to reach Prometheus (blackbox_exporter's `timeout_offset`).
    public static let timeoutOffset: Duration = .milliseconds(500)

    private let running = Mutex(0)

    public init(modules: [String: ProbeModule] = ProbeModule.builtIn, engine: ProbeEngine?, analyzer: HealthAnalyzer = HealthAnalyzer(),
                concurrency: Int = ProbeEndpoint.defaultConcurrency, timeout: Duration = ProbeEndpoint.defaultTimeout) {
        self.modules = modules
        self.engine = engine
        self.analyzer = analyzer
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
    }

    /// Probes running now.
    public var runningProbes: Int { running.withLock { $0 } }

    /// The time a request may take: `timeout`, or the scrape timeout less the offset when shorter
    /// (half the scrape timeout when it is below twice the offset).
    func deadline(scrapeTimeoutHeader value: String?) -> Duration {
        guard let value, let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds > 0 else {
            return timeout
        }
        let scrape = Duration.nanoseconds(Int64(min(seconds, 86_400) * 1e9))
        let budget = scrape > Self.timeoutOffset * 2 ? scrape - Self.timeoutOffset : scrape / 2
        return min(timeout, budget)
    }

    func acquire() -> Bool {
        running.withLock { count in
            guard count < concurrency else { return false }
            count += 1
            return true
        }
    }

    func release() { running.withLock { $0 -= 1 } }
}

/// `GET /probe`: 400 for a missing target or module, an unknown module or a target the module
/// cannot read; 503 when every probe slot is taken or the prober needs the engine the monitor
/// does not have; otherwise 200 with `ProbeSeries` (probe_success 0 when the probe failed or ran
/// out of time). The API key guards it as it guards `/api/*`.
struct ProbeController<Context: RequestContext> {
    let endpoint: ProbeEndpoint

    func register(on router: Router<Context>, apiKey: String?) {
        let group = router.group("probe")
        if let apiKey { group.add(middleware: APIKeyMiddleware<Context>(apiKey: apiKey)) }
        group.get { request, context in try await probe(request, context: context) }
    }

    func probe(_ request: Request, context: Context) async throws -> Response {
        let parameters = request.uri.queryParameters
        guard let target = parameters.get("target"), !target.isEmpty else {
            throw HTTPError(.badRequest, message: "target parameter is missing: GET /probe?target=HOST&module=MODULE")
        }
        let names = endpoint.modules.keys.sorted().joined(separator: ", ")
        guard let moduleName = parameters.get("module"), !moduleName.isEmpty else {
            throw HTTPError(.badRequest, message: "module parameter is missing; the modules are \(names)")
        }
        guard let module = endpoint.modules[moduleName] else {
            throw HTTPError(.badRequest, message: "unknown module '\(moduleName)'; the modules are \(names) (modules: in the configuration)")
        }
        do { try module.validate(target: target) } catch {
            throw HTTPError(.badRequest, message: "module \(moduleName) (\(module.prober.rawValue)) cannot probe this target: \(error)")
        }
        if module.prober.needsEngine && endpoint.engine == nil {
            throw HTTPError(.serviceUnavailable, message: "the \(module.prober.rawValue) prober needs the probe engine, which this monitor has not opened: start it as root or with CAP_NET_RAW")
        }
        guard endpoint.acquire() else {
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "1"],
                            message: "\(endpoint.concurrency) probes are running already (http.probe_concurrency): try again later")
        }
        let deadline = endpoint.deadline(scrapeTimeoutHeader: request.headers[.init(ProbeEndpoint.scrapeTimeoutHeader)!])
        let started = ContinuousClock.now
        let endpoint = self.endpoint
        var report: RunReport?
        var success = false
        do {
            // The slot is freed when the probe itself ends, not when the answer goes: a probe
            // cut off at the deadline still holds its sockets until it sees the cancellation.
            report = try await withTimeout(deadline) {
                defer { endpoint.release() }
                return try await module.run(target: target, engine: endpoint.engine, analyzer: endpoint.analyzer)
            }
            success = report.map(module.succeeded) ?? false
        } catch RunStoreError.timedOut {
            context.logger.info("probe ran out of time", metadata: ["target": "\(target)", "module": "\(moduleName)", "deadline": "\(deadline)"])
        } catch {
            context.logger.warning("probe failed", metadata: ["target": "\(target)", "module": "\(moduleName)", "error": "\(error)"])
        }
        let body = ProbeSeries.render(report: report, success: success, duration: ContinuousClock.now - started,
                                      scored: module.prober == .check)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
