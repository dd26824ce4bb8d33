import CoreMetrics
import Foundation
import ISPChecker
import Logging
import ServiceLifecycle

/// One webhook the monitor tells of incidents.
public struct WebhookConfiguration: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        /// `IncidentNotification.jsonBody()`.
        case json
        /// `IncidentNotification.alertmanagerBody()`, for Alertmanager's `POST /api/v2/alerts`.
        case alertmanager
    }

    /// Labels its metrics and log lines (the URL may hold a token: it is never logged whole).
    public var name: String
    public var url: String
    /// Incidents below this severity are not sent.
    public var minSeverity: Severity
    public var format: Format
    /// Longest one attempt (connect, send, answer) may take.
    public var timeout: Duration

    public init(name: String, url: String, minSeverity: Severity = .p4, format: Format = .json, timeout: Duration = .seconds(5)) {
        self.name = name
        self.url = url
        self.minSeverity = minSeverity
        self.format = format
        self.timeout = timeout
    }
}

/// Posts incident events to webhooks without ever holding up the checks: `notify` only puts the
/// event in each webhook's bounded queue (when full, the oldest event is dropped and counted in
/// `isp_checker_notifications_total{outcome="dropped"}`), and each webhook has its own task that
/// delivers its queue in order, every delivery retried with the runbook's retry policy and
/// guarded by the webhook's own circuit breaker (runbook §2.1, §2.2). A dead webhook thus costs
/// its own task time, never another webhook's and never a check's.
///
/// A `Service`: run it in the monitor's `ServiceGroup` before the `MonitorService`, so that on
/// shutdown it is stopped after the last run was handled; it then delivers what is queued for
/// up to `drainTimeout`.
public final class WebhookNotifier: Service, Sendable {
    public static let defaultQueueCapacity = 256
    public let webhooks: [WebhookConfiguration]
    public let drainTimeout: Duration
    private let channels: [WebhookChannel]
    private let logger: Logger

    /// - Throws: `WebhookError.invalidURL` for a URL the client cannot use, or TLS setup errors.
    public init(webhooks: [WebhookConfiguration], retryPolicy: RetryPolicy = RetryPolicy(),
                circuitBreaker: CircuitBreakerConfiguration = .default, queueCapacity: Int = WebhookNotifier.defaultQueueCapacity,
                drainTimeout: Duration = .seconds(5), metrics: MonitorMetrics? = nil,
                logger: Logger = Logger(label: "isp-checker.notifications")) throws {
        self.webhooks = webhooks
        self.drainTimeout = drainTimeout
        self.logger = logger
        channels = try webhooks.map { webhook in
            try WebhookChannel(configuration: webhook, retryPolicy: retryPolicy, breaker: circuitBreaker,
                               capacity: max(1, queueCapacity), metrics: metrics, logger: logger)
        }
    }

    /// Checks a webhook URL as the client will read it (for `--check-config`).
    public static func validate(url: String) throws(WebhookError) {
        _ = try WebhookURL(url)
    }

    /// Queues what the change tells each webhook; returns at once.
    public func notify(_ change: IncidentChange) {
        for channel in channels { channel.offer(change) }
    }

    public func run() async throws {
        let channels = self.channels
        let drainTimeout = self.drainTimeout
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { loops in
                    for channel in channels { loops.addTask { await channel.deliverQueue() } }
                }
            }
            await withGracefulShutdownHandler {
                // Until shutdown (or cancellation) the delivery loops run in the group.
                try? await gracefulShutdown()
            } onGracefulShutdown: {
                for channel in channels { channel.finish() }
            }
            // Shutting down: what is queued gets `drainTimeout` to go out, then the loops are cancelled.
            group.addTask { try? await Task.sleep(for: drainTimeout) }
            _ = await group.next()
            group.cancelAll()
        }
    }
}

/// One webhook: its queue, client, breaker and delivery loop.
final class WebhookChannel: Sendable {
    let configuration: WebhookConfiguration
    private let client: WebhookClient
    private let retryPolicy: RetryPolicy
    private let breaker: CircuitBreaker<ContinuousClock>
    private let queue: AsyncStream<IncidentNotification>
    private let continuation: AsyncStream<IncidentNotification>.Continuation
    private let metrics: MonitorMetrics?
    private let logger: Logger

    init(configuration: WebhookConfiguration, retryPolicy: RetryPolicy, breaker: CircuitBreakerConfiguration,
         capacity: Int, metrics: MonitorMetrics?, logger: Logger) throws {
        self.configuration = configuration
        client = try WebhookClient(url: try WebhookURL(configuration.url), timeout: configuration.timeout)
        self.retryPolicy = retryPolicy
        let name = configuration.name
        // Its own metrics (below), not the targets' breaker series.
        self.breaker = CircuitBreaker(target: "webhook \(name)", configuration: breaker, clock: ContinuousClock(),
                                      metricsFactory: NOOPMetricsHandler.instance,
                                      onStateChange: { change in
                                          metrics?.setNotificationBreakerState(change.to, webhook: name)
                                          logger.warning("\(change)", metadata: ["webhook": "\(name)"])
                                      })
        (queue, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(capacity))
        self.metrics = metrics
        self.logger = logger
        metrics?.prepareNotificationSeries(webhook: name)
    }

    /// Queues the change's events this webhook takes (and, for Alertmanager, a refresh of a
    /// firing alert at every update).
    func offer(_ change: IncidentChange) {
        guard change.incident.severity >= configuration.minSeverity else { return }
        var notifications = change.events.filter { IncidentNotification.notifiedKinds.contains($0.kind) }
            .map { IncidentNotification(event: $0, incident: change.incident) }
        if configuration.format == .alertmanager {
            // One alert carries the incident's whole state: a change needs one post whatever its events.
            let event = change.events.last ?? IncidentEvent(
                kind: .diagnosisChanged, timestamp: change.incident.lastEvidenceAt, severity: change.incident.severity,
                components: change.incident.diagnosis.map(\.component), runID: change.incident.lastEvidenceRunID, detail: "update")
            notifications = [IncidentNotification(event: event, incident: change.incident)]
        }
        for notification in notifications {
            if case .dropped(let old) = continuation.yield(notification) {
                metrics?.countNotification(webhook: configuration.name, outcome: .dropped)
                logger.error("webhook queue full: dropped the oldest event", metadata: [
                    "webhook": "\(configuration.name)", "incident": "\(old.incident.id)", "event": "\(old.event.kind.rawValue)"])
            }
        }
    }

    func finish() { continuation.finish() }

    func deliverQueue() async {
        for await notification in queue {
            if Task.isCancelled { return }
            await deliver(notification)
        }
    }

    private func deliver(_ notification: IncidentNotification) async {
        let body: [UInt8]
        do {
            body = configuration.format == .json ? try notification.jsonBody() : try notification.alertmanagerBody()
        } catch {
            logger.error("cannot encode the incident event: \(error)", metadata: ["webhook": "\(configuration.name)"])
            return
        }
        let client = self.client
        let breaker = self.breaker
        let name = configuration.name
        do {
            _ = try await retryPolicy.run(onRetry: { [logger] retry in
                logger.info("webhook delivery failed, retrying in \(retry.delay)", metadata: [
                    "webhook": "\(name)", "attempt": "\(retry.failedAttempt)", "error": "\(retry.error)"])
            }) { _ in
                try await breaker.run { try await client.post(body, contentType: "application/json") }
            }
            metrics?.countNotification(webhook: name, outcome: .delivered)
        } catch is CancellationError {
            return
        } catch let error as CircuitBreakerError {
            metrics?.countNotification(webhook: name, outcome: .breakerOpen)
            logger.error("webhook event not sent: \(error)", metadata: [
                "webhook": "\(name)", "incident": "\(notification.incident.id)", "event": "\(notification.event.kind.rawValue)"])
        } catch {
            metrics?.countNotification(webhook: name, outcome: .failed)
            logger.error("webhook event not delivered: \(error)", metadata: [
                "webhook": "\(name)", "incident": "\(notification.incident.id)", "event": "\(notification.event.kind.rawValue)"])
        }
    }
}
