import Foundation
import ISPChecker
import Yams

/// Loads `ResilienceSettings` from YAML with the runbook's key names:
///
/// ```yaml
/// retry_policy:
///   max_attempts: 3
///   backoff_factor: 2
///   initial_delay: 1s
///   max_delay: 30s
///   retryable_errors: [timeout, connection_refused, temporary_failure]
///   jitter: full                  # none | full | decorrelated
///   attempt_timeout: 5s           # optional; grows on retries
///   attempt_timeout_factor: 2
///   max_attempt_timeout: 60s
/// circuit_breaker:
///   failure_threshold: 5
///   recovery_timeout: 60s
///   half_open_max_calls: 3
///   success_threshold: 2
///   sliding_window_size: 20       # optional failure-rate window
///   minimum_calls: 10
///   failure_rate_threshold: 50    # percent
/// probe_intervals:
///   critical_targets: 60s
///   important_targets: 300s
///   normal_targets: 900s
///   background_targets: 3600s
/// ```
///
/// A missing section or key takes the runbook's default. Wrong types, unknown keys, negative
/// delays and zero thresholds are refused with a `ConfigurationError` that lists every problem
/// with its key and line.
public enum ResilienceConfiguration {
    /// Reads the three sections of `yaml`. Other top-level sections are refused (a misspelt
    /// section would otherwise be ignored silently) unless named in `otherSections`, for files
    /// that also hold settings read elsewhere.
    public static func load(yaml: String, source: String? = nil,
                            otherSections: Set<String> = []) throws(ConfigurationError) -> ResilienceSettings {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError(source: source, problems: [syntaxProblem(error)])
        }
        var reader = MappingReader(root, path: "")
        for section in otherSections { reader.allow(section) }
        let settings = read(&reader)
        reader.rejectUnknownKeys(known: "the sections read here are retry_policy, circuit_breaker and probe_intervals")
        if !reader.problems.isEmpty { throw ConfigurationError(source: source, problems: reader.problems) }
        return settings
    }

    /// Reads the file at `path`.
    public static func load(contentsOfFile path: String,
                            otherSections: Set<String> = []) throws(ConfigurationError) -> ResilienceSettings {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(source: path, problems: [ConfigurationProblem(key: "", reason: "cannot read the file: \(error.localizedDescription)")])
        }
        return try load(yaml: text, source: path, otherSections: otherSections)
    }

    // MARK: Sections

    private static func read(_ root: inout MappingReader) -> ResilienceSettings {
        var settings = ResilienceSettings.default
        var problems: [ConfigurationProblem] = []

        var retry = MappingReader(root.node(ResilienceSettings.retryPolicyKey), path: ResilienceSettings.retryPolicyKey)
        settings.retryPolicy = readRetryPolicy(&retry)
        problems += retry.problems + validation(settings.retryPolicy.problems, retry)

        var breaker = MappingReader(root.node(ResilienceSettings.circuitBreakerKey), path: ResilienceSettings.circuitBreakerKey)
        settings.circuitBreaker = readCircuitBreaker(&breaker)
        problems += breaker.problems + validation(settings.circuitBreaker.problems, breaker)

        var intervals = MappingReader(root.node(ResilienceSettings.probeIntervalsKey), path: ResilienceSettings.probeIntervalsKey)
        settings.probeIntervals = readProbeIntervals(&intervals)
        problems += intervals.problems + validation(settings.probeIntervals.problems, intervals)

        for problem in problems { root.addProblem(problem) }
        return settings
    }

    /// Value problems found by the settings' own validation, placed at their keys' lines. A key
    /// that could not be read keeps its (valid) default, so it is never reported twice.
    private static func validation(_ problems: [SettingProblem], _ reader: MappingReader) -> [ConfigurationProblem] {
        problems.map { problem in
            let mark = reader.mark(of: problem.key)
            return ConfigurationProblem(key: reader.full(problem.key), line: mark?.line, column: mark?.column,
                                        reason: problem.reason)
        }
    }

    private static func readRetryPolicy(_ reader: inout MappingReader) -> RetryPolicy {
        var policy = RetryPolicy.default
        if let value = reader.int("max_attempts") { policy.maxAttempts = value }
        if let value = reader.double("backoff_factor") { policy.backoffFactor = value }
        if let value = reader.duration("initial_delay") { policy.initialDelay = value }
        if let value = reader.duration("max_delay") { policy.maxDelay = value }
        if let names = reader.choices("retryable_errors", from: RetryableErrorKind.allCases.map(\.rawValue)) {
            policy.retryableErrors = Set(names.compactMap(RetryableErrorKind.init(rawValue:)))
        }
        if let name = reader.choice("jitter", from: RetryPolicy.Jitter.allCases.map(\.rawValue)) {
            policy.jitter = RetryPolicy.Jitter(rawValue: name) ?? policy.jitter
        }
        let timeout = reader.duration("attempt_timeout")
        let factor = reader.double("attempt_timeout_factor")
        let maximum = reader.duration("max_attempt_timeout")
        if let timeout {
            var limit = RetryPolicy.AttemptTimeout(initial: timeout)
            if let factor { limit.factor = factor }
            limit.maximum = maximum ?? max(limit.maximum, timeout)
            policy.attemptTimeout = limit
        } else if factor != nil || maximum != nil {
            let key = factor != nil ? "attempt_timeout_factor" : "max_attempt_timeout"
            let mark = reader.mark(of: key)
            reader.addProblem(ConfigurationProblem(key: reader.full(key), line: mark?.line, column: mark?.column,
                                                   reason: "needs attempt_timeout, the first attempt's limit"))
        }
        reader.rejectUnknownKeys(known: "retry_policy takes max_attempts, backoff_factor, initial_delay, max_delay, retryable_errors, jitter, attempt_timeout, attempt_timeout_factor, max_attempt_timeout")
        return policy
    }

    private static func readCircuitBreaker(_ reader: inout MappingReader) -> CircuitBreakerConfiguration {
        var configuration = CircuitBreakerConfiguration.default
        if let value = reader.int("failure_threshold") { configuration.failureThreshold = value }
        if let value = reader.duration("recovery_timeout") { configuration.recoveryTimeout = value }
        if let value = reader.int("half_open_max_calls") { configuration.halfOpenMaxCalls = value }
        if let value = reader.int("success_threshold") { configuration.successThreshold = value }
        let size = reader.int("sliding_window_size")
        let minimum = reader.int("minimum_calls")
        let rate = reader.double("failure_rate_threshold")
        if size != nil || minimum != nil || rate != nil {
            var window = CircuitBreakerConfiguration.FailureRateWindow()
            if let size {
                window.size = size
                window.minimumCalls = min(window.minimumCalls, max(size, 1))
            }
            if let minimum { window.minimumCalls = minimum }
            if let rate { window.failureRateThresholdPercent = rate }
            configuration.failureRateWindow = window
        }
        reader.rejectUnknownKeys(known: "circuit_breaker takes failure_threshold, recovery_timeout, half_open_max_calls, success_threshold, sliding_window_size, minimum_calls, failure_rate_threshold")
        return configuration
    }

    private static func readProbeIntervals(_ reader: inout MappingReader) -> ProbeIntervals {
        var intervals = ProbeIntervals.default
        for targetClass in TargetClass.allCases {
            if let value = reader.duration(targetClass.configurationKey) { intervals[targetClass] = value }
        }
        reader.rejectUnknownKeys(known: "probe_intervals takes " + TargetClass.allCases.map(\.configurationKey).joined(separator: ", "))
        return intervals
    }

    private static func syntaxProblem(_ error: any Error) -> ConfigurationProblem {
        if let yamlError = error as? YamlError {
            switch yamlError {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                return ConfigurationProblem(key: "", line: mark.line, column: mark.column, reason: "YAML syntax: \(problem)")
            default:
                break
            }
        }
        return ConfigurationProblem(key: "", reason: "YAML syntax: \(error)")
    }
}
