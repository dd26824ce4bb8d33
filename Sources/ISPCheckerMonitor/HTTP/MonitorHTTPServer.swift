import Foundation
import Hummingbird
import Logging
import NIOCore

/// Where the monitor's HTTP server listens and whether its API needs a key.
public struct MonitorHTTPConfiguration: Sendable {
    /// Address to bind (`127.0.0.1` by default: expose it deliberately).
    public var host: String
    /// TCP port; 0 picks a free one (reported through `onServerRunning`).
    public var port: Int
    /// When set, `/api/*` requires it (`X-API-Key` or `Authorization: Bearer`); 401 otherwise.
    /// The dashboard's pages require it too, also taken from a cookie set by opening `/?key=KEY`
    /// once (`DashboardAuthMiddleware`).
    /// `/metrics` and `/health*` stay open for scrapers and probes (`/health/detailed` shows the
    /// store's error text only with the key). An empty key admits nobody (refuse it earlier).
    public var apiKey: String?
    /// Longest `/health/detailed` waits for the store's ping.
    public var healthPingTimeout: Duration
    /// `GET /probe` (blackbox_exporter's multi-target pattern, ProbeController.swift); `nil`: no such route.
    public var probe: ProbeEndpoint?

    public static let `default` = MonitorHTTPConfiguration()

    /// Whether `host` only accepts connections from this machine: `localhost`, 127.0.0.0/8, `::1`.
    public static func isLoopback(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1 }
        }
        return false
    }

    /// The warning to log at start when the run history is open to the network: listening on a
    /// non-loopback address without an API key. `nil` otherwise.
    public var exposureWarning: String? {
        guard apiKey == nil, !Self.isLoopback(host) else { return nil }
        return "listening on \(host) without an API key: /api/v1/runs (the whole run history) is open to every host that can reach it; "
            + "set an API key (--api-key-file, ISP_CHECKER_API_KEY or http.api_key_file) or listen on 127.0.0.1"
    }

    public init(host: String = "127.0.0.1", port: Int = 9464, apiKey: String? = nil, healthPingTimeout: Duration = .seconds(2),
                probe: ProbeEndpoint? = nil) {
        self.probe = probe
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.healthPingTimeout = healthPingTimeout
    }
}

/// Builds the monitor's Hummingbird application: `/metrics`, `/health`, `/health/detailed`,
/// `/api/v1/runs`, `/api/v1/runs/{id}`, `/api/v1/incidents[/{id}[/report]]`, `/api/v1/targets/{target}/latency`, `/api/v1/targets/{target}/verdict`, `/probe`, and the dashboard's `/` and
/// `/targets/{target}`. The application is a `Service`: run it in the same
/// `ServiceGroup` as the `MonitorService`.
public enum MonitorHTTPServer {
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public static func makeApplication(
        configuration: MonitorHTTPConfiguration,
        recorder: RunRecorder,
        metrics: MonitorMetrics,
        state: MonitorState,
        logger: Logger = Logger(label: "isp-checker.http"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        if let warning = configuration.exposureWarning { logger.warning("\(warning)") }
        let router = makeRouter(configuration: configuration, recorder: recorder, metrics: metrics, state: state)
        return Application(
            responder: CountingResponder(inner: router.buildResponder(), metrics: metrics),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: "isp-checker-monitor"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    static func makeRouter(configuration: MonitorHTTPConfiguration, recorder: RunRecorder, metrics: MonitorMetrics,
                           state: MonitorState) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        HealthController<BasicRequestContext>(recorder: recorder, state: state, apiKey: configuration.apiKey,
                                              pingTimeout: configuration.healthPingTimeout)
            .register(on: router)
        let api = router.group("api/v1")
        if let apiKey = configuration.apiKey {
            api.add(middleware: APIKeyMiddleware<BasicRequestContext>(apiKey: apiKey))
        }
        RunsController<BasicRequestContext>(store: recorder.store).register(on: api)
        if let incidents = recorder.store as? any IncidentStore {
            IncidentsController<BasicRequestContext>(incidents: incidents, runs: recorder.store).register(on: api)
        }
        // The dashboard (Dashboard/): `/` and `/targets/{target}`, behind the same key.
        let dashboard = router.group()
        if let apiKey = configuration.apiKey {
            dashboard.add(middleware: DashboardAuthMiddleware<BasicRequestContext>(apiKey: apiKey))
        }
        DashboardController<BasicRequestContext>(store: recorder.store, state: state).register(on: dashboard)
        LatencyController<BasicRequestContext>(store: recorder.store).register(on: api)
        PathChangesController<BasicRequestContext>(store: recorder.store).register(on: api)
        VerdictController<BasicRequestContext>(store: recorder.store).register(on: api)
        if let probe = configuration.probe {
            ProbeController<BasicRequestContext>(endpoint: probe).register(on: router, apiKey: configuration.apiKey)
        }
        return router
    }
}
