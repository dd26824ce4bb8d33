import ISPChecker
import Prometheus

/// The incidents' and the webhooks' series (docs/incidents.md):
/// - `isp_checker_incidents_open{target,severity}`: 1 while the target has an open incident of
///   that severity, 0 for the other severities (and all 0 once it closed)
/// - `isp_checker_notifications_total{webhook,outcome}`: events `delivered`, `failed` (retries
///   exhausted or an answer not worth retrying), `breaker_open` (not tried: the webhook's circuit
///   breaker is open), `dropped` (the webhook's queue was full)
/// - `isp_checker_notification_breaker_state{webhook}`: the webhook's breaker, 0 closed, 1 half-open, 2 open
extension MonitorMetrics {
    public enum NotificationOutcome: String, Sendable, CaseIterable {
        case delivered
        case failed
        case breakerOpen = "breaker_open"
        case dropped
    }

    /// Sets a target's `isp_checker_incidents_open` series: `severity` of its open incident, or `nil`.
    public func setOpenIncident(target: String, severity: Severity?) {
        for band in Severity.allCases {
            registry.makeGauge(name: "isp_checker_incidents_open", labels: [("target", target), ("severity", band.rawValue)],
                               help: "1 while the target has an open incident of this severity")
                .set(Double(band == severity ? 1 : 0))
        }
    }

    func countNotification(webhook: String, outcome: NotificationOutcome) {
        notificationCounter(webhook: webhook, outcome: outcome).increment()
    }

    /// Creates a webhook's series at zero, so that rate() sees the first failure.
    func prepareNotificationSeries(webhook: String) {
        for outcome in NotificationOutcome.allCases { _ = notificationCounter(webhook: webhook, outcome: outcome) }
        setNotificationBreakerState(.closed, webhook: webhook)
    }

    func setNotificationBreakerState(_ state: CircuitState, webhook: String) {
        registry.makeGauge(name: "isp_checker_notification_breaker_state", labels: [("webhook", webhook)],
                           help: "Webhook circuit breaker state: 0 closed, 1 half-open, 2 open").set(state.metricValue)
    }

    private func notificationCounter(webhook: String, outcome: NotificationOutcome) -> Counter {
        registry.makeCounter(name: "isp_checker_notifications_total", labels: [("webhook", webhook), ("outcome", outcome.rawValue)],
                             help: "Incident events for webhooks by outcome")
    }
}
