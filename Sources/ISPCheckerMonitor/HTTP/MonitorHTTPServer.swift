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
    /// `/metrics` and `/health*` stay open for scrapers and probes.
    public var apiKey: String?
    /// Longest `/health/detailed` waits for the store's ping.
    public var healthPingTimeout: Duration

    public static let `default` = MonitorHTTPConfiguration()

    public init(host: String = "127.0.0.1", port: Int = 9464, apiKey: String? = nil, healthPingTimeout: Duration = .seconds(2)) {
        self.host = host
        self.port = port
        self.apiKey = apiKey
        self.healthPingTimeout = healthPingTimeout
    }
}

/// Builds the monitor's Hummingbird application: `/metrics`, `/health`, `/health/detailed`,
/// `/api/v1/runs`, `/api/v1/runs/{id}`. The application is a `Service`: run it in the same
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
        HealthController<BasicRequestContext>(recorder: recorder, state: state, pingTimeout: configuration.healthPingTimeout)
            .register(on: router)
        let api = router.group("api/v1")
        if let apiKey = configuration.apiKey {
            api.add(middleware: APIKeyMiddleware<BasicRequestContext>(apiKey: apiKey))
        }
        RunsController<BasicRequestContext>(store: recorder.store).register(on: api)
        return router
    }
}
