import ISPChecker
import Yams

/// The `incidents:` and `notifications:` sections (docs/incidents.md).
///
/// ```yaml
/// incidents:
///   open_severity: P2        # runs at this severity or worse count against a target (P1 ... P4)
///   open_after_runs: 2       # that many in a row open an incident
///   close_after_runs: 2      # that many better runs in a row close it
/// notifications:
///   - url: https://hooks.example.net/isp-checker   # POSTed on open, severity change and close
///     min_severity: P2       # incidents below this severity are not sent (default P4: all)
///     format: json           # json (the incident event) | alertmanager (POST /api/v2/alerts)
///     name: noc              # optional: the `webhook` label of its metrics (default webhook-1, ...)
///     timeout: 5s            # optional: per attempt
/// ```
extension MonitorConfiguration {
    /// One webhook of `notifications:`.
    public struct Notification: Sendable, Equatable {
        public enum Format: String, Sendable, Equatable, CaseIterable {
            /// The incident event as JSON (`{"event": …, "incident": {…}}`).
            case json
            /// Alertmanager's `POST /api/v2/alerts` body, so its routes (PagerDuty, Opsgenie, Slack) apply.
            case alertmanager
        }

        public var url: String
        public var minSeverity: Severity
        public var format: Format
        public var name: String
        /// Longest one delivery attempt may take.
        public var timeout: Duration
        public static let timeoutRange: ClosedRange<Duration> = .milliseconds(100) ... .seconds(300)

        public init(url: String, minSeverity: Severity = .p4, format: Format = .json, name: String, timeout: Duration = .seconds(5)) {
            self.url = url
            self.minSeverity = minSeverity
            self.format = format
            self.name = name
            self.timeout = timeout
        }
    }

    static let incidentsKey = "incidents"
    static let notificationsKey = "notifications"

    static func readIncidents(_ reader: inout MappingReader) -> IncidentPolicy {
        let severities = Severity.allCases.map(\.rawValue)
        let severity = reader.choice("open_severity", from: severities).flatMap(Severity.init(rawValue:))
        var runs: [String: Int] = [:]
        for key in ["open_after_runs", "close_after_runs"] {
            guard let value = reader.int(key) else { continue }
            if IncidentPolicy.runsRange.contains(value) {
                runs[key] = value
            } else {
                let mark = reader.mark(of: key)
                reader.addProblem(ConfigurationProblem(key: reader.full(key), line: mark?.line, column: mark?.column,
                                                       reason: "must be 1 ... 1000 runs, got \(value)"))
            }
        }
        reader.rejectUnknownKeys(known: "incidents takes open_severity, open_after_runs, close_after_runs")
        let defaults = IncidentPolicy.default
        return IncidentPolicy(openSeverity: severity ?? defaults.openSeverity,
                              openAfterRuns: runs["open_after_runs"] ?? defaults.openAfterRuns,
                              closeAfterRuns: runs["close_after_runs"] ?? defaults.closeAfterRuns)
    }

    static func readNotifications(_ node: Node?, problems: inout [ConfigurationProblem]) -> [Notification] {
        guard let node else { return [] }
        guard case .sequence(let items) = node else {
            problems.append(ConfigurationProblem(key: notificationsKey, line: node.mark?.line, column: node.mark?.column,
                                                 reason: "expected a list of webhooks ({url, min_severity, format, name, timeout}), got \(MappingReader.describe(node))"))
            return []
        }
        var notifications: [Notification] = []
        var names: Set<String> = []
        for (index, item) in items.enumerated() {
            var reader = MappingReader(item, path: "\(notificationsKey)[\(index)]")
            let url = reader.string("url")
            let severity = reader.choice("min_severity", from: Severity.allCases.map(\.rawValue)).flatMap(Severity.init(rawValue:))
            let format = reader.choice("format", from: Notification.Format.allCases.map(\.rawValue)).flatMap(Notification.Format.init(rawValue:))
            let name = reader.string("name") ?? "webhook-\(index + 1)"
            let timeout = reader.duration("timeout")
            if let timeout, !Notification.timeoutRange.contains(timeout) {
                let mark = reader.mark(of: "timeout")
                reader.addProblem(ConfigurationProblem(key: reader.full("timeout"), line: mark?.line, column: mark?.column,
                                                       reason: "must be 100ms ... 5m, got \(timeout)"))
            }
            if let url, let reason = urlProblem(url) {
                let mark = reader.mark(of: "url")
                reader.addProblem(ConfigurationProblem(key: reader.full("url"), line: mark?.line, column: mark?.column, reason: reason))
            }
            if !names.insert(name).inserted {
                let mark = reader.mark(of: "name")
                reader.addProblem(ConfigurationProblem(key: reader.full("name"), line: mark?.line ?? item.mark?.line, column: mark?.column,
                                                       reason: "webhook name \(name) appears twice (it labels the webhook's metrics)"))
            }
            reader.rejectUnknownKeys(known: "a webhook takes url, min_severity, format, name, timeout")
            if url == nil, reader.problems.allSatisfy({ $0.key != reader.full("url") }) {
                reader.addProblem(ConfigurationProblem(key: reader.full("url"), line: item.mark?.line, column: item.mark?.column,
                                                       reason: "every webhook needs a url"))
            }
            problems += reader.problems
            if let url, reader.problems.isEmpty {
                notifications.append(Notification(url: url, minSeverity: severity ?? .p4, format: format ?? .json, name: name,
                                                  timeout: timeout ?? .seconds(5)))
            }
        }
        return notifications
    }

    /// Why the monitor cannot POST to `url`, or `nil`: `http://` or `https://`, a host, no user info
    /// (a password in the URL would end up in logs).
    public static func urlProblem(_ url: String) -> String? {
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            return "expected an http:// or https:// URL, got \(url)"
        }
        let rest = url.drop { $0 != "/" }.dropFirst(2)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.contains("@") { return "put no user or password in the URL (use a token in its path or query)" }
        if authority.isEmpty || authority.hasPrefix(":") { return "the URL names no host" }
        if authority.contains(where: { $0.isWhitespace }) { return "the URL's host contains whitespace" }
        return nil
    }
}
