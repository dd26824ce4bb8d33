import ISPCheckerAnalysis
import ISPCheckerPrimitives

/// How much a target matters, which sets how often it is probed (runbook §4.1.1).
public enum TargetClass: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Critical infrastructure: every 60 s by default.
    case critical
    /// Important services: every 300 s.
    case important
    /// Regular monitoring: every 900 s.
    case normal
    /// Low-priority targets: every 3600 s.
    case background

    public var description: String { rawValue }

    /// The runbook's key for this class under `probe_intervals` (`critical_targets`, ...).
    public var configurationKey: String { "\(rawValue)_targets" }
}

/// The base probe interval of each target class: the runbook's `probe_intervals`.
public struct ProbeIntervals: Sendable, Equatable {
    /// `critical_targets`, 60 s by default.
    public var critical: Duration
    /// `important_targets`, 300 s.
    public var important: Duration
    /// `normal_targets`, 900 s.
    public var normal: Duration
    /// `background_targets`, 3600 s.
    public var background: Duration

    public init(critical: Duration = .seconds(60), important: Duration = .seconds(300),
                normal: Duration = .seconds(900), background: Duration = .seconds(3600)) {
        self.critical = critical
        self.important = important
        self.normal = normal
        self.background = background
    }

    /// The runbook's values.
    public static let `default` = ProbeIntervals()

    public subscript(targetClass: TargetClass) -> Duration {
        get {
            switch targetClass {
            case .critical: return critical
            case .important: return important
            case .normal: return normal
            case .background: return background
            }
        }
        set {
            switch targetClass {
            case .critical: critical = newValue
            case .important: important = newValue
            case .normal: normal = newValue
            case .background: background = newValue
            }
        }
    }

    /// The settings that cannot work, each with its runbook key; empty when valid.
    public var problems: [SettingProblem] {
        TargetClass.allCases.compactMap { targetClass in
            self[targetClass] > .zero && self[targetClass] <= RetryPolicy.maximumDelay ? nil
                : SettingProblem(key: targetClass.configurationKey,
                                 reason: "must be positive and at most a day (86400 s), got \(self[targetClass])")
        }
    }
}

/// The runbook's adaptive interval (§4.1.2): probe a sick target more often, a healthy one less.
/// Scores run the runbook's way, 0 healthy … 100 complete outage.
public enum AdaptiveInterval {
    /// - score > 80 (critical): `max(base / 4, 30 s)`;
    /// - score > 40 (degraded): `max(base / 2, 60 s)`;
    /// - score > 20 (warning): `base`;
    /// - otherwise (healthy): `min(base × 2, 3600 s)`.
    ///
    /// A NaN score (nothing measured) counts as a warning: the base interval.
    public static func interval(score: Double, base: Duration) -> Duration {
        if score.isNaN { return base }
        if score > 80 { return max(base / 4, .seconds(30)) }
        if score > 40 { return max(base / 2, .seconds(60)) }
        if score > 20 { return base }
        return min(base * 2, .seconds(3600))
    }
}
