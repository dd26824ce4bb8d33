import Foundation
import ISPCheckerConfig
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// YAML with the runbook's keys: what loads, and how each kind of mistake is reported.
@Suite struct ResilienceConfigurationTests {
    /// The runbook's own three snippets (§2.1, §2.2, §4.1.1), verbatim.
    static let runbookYAML = """
        retry_policy:
          max_attempts: 3
          backoff_factor: 2
          initial_delay: 1s
          max_delay: 30s
          retryable_errors:
            - timeout
            - connection_refused
            - temporary_failure
        circuit_breaker:
          failure_threshold: 5
          recovery_timeout: 60s
          half_open_max_calls: 3
          success_threshold: 2
        probe_intervals:
          critical_targets: 60s    # Critical infrastructure
          important_targets: 300s   # Important services
          normal_targets: 900s      # Regular monitoring
          background_targets: 3600s # Low priority targets
        """

    func problems(_ yaml: String, otherSections: Set<String> = []) -> ConfigurationError? {
        do {
            _ = try ResilienceConfiguration.load(yaml: yaml, otherSections: otherSections)
            return nil
        } catch {
            return error
        }
    }

    @Test func theRunbooksSnippetsLoadAsTheDefaults() throws {
        #expect(try ResilienceConfiguration.load(yaml: Self.runbookYAML) == .default)
    }

    @Test func anEmptyDocumentGivesTheDefaults() throws {
        #expect(try ResilienceConfiguration.load(yaml: "") == .default)
        #expect(try ResilienceConfiguration.load(yaml: "retry_policy:\n") == .default)
    }

    @Test func everyKeyIsRead() throws {
        let settings = try ResilienceConfiguration.load(yaml: """
            retry_policy:
              max_attempts: 5
              backoff_factor: 1.5
              initial_delay: 500ms
              max_delay: 5m
              retryable_errors: [timeout]
              jitter: decorrelated
              attempt_timeout: 2s
              attempt_timeout_factor: 3
              max_attempt_timeout: 1m30s
            circuit_breaker:
              failure_threshold: 7
              recovery_timeout: 2m
              half_open_max_calls: 1
              success_threshold: 1
              sliding_window_size: 30
              minimum_calls: 15
              failure_rate_threshold: 40
            probe_intervals:
              critical_targets: 30s
              important_targets: 2m
              normal_targets: 10m
              background_targets: 1h
            """)
        #expect(settings.retryPolicy == RetryPolicy(
            maxAttempts: 5, backoffFactor: 1.5, initialDelay: .milliseconds(500), maxDelay: .seconds(300),
            retryableErrors: [.timeout], jitter: .decorrelated,
            attemptTimeout: .init(initial: .seconds(2), factor: 3, maximum: .seconds(90))))
        #expect(settings.circuitBreaker == CircuitBreakerConfiguration(
            failureThreshold: 7, recoveryTimeout: .seconds(120), halfOpenMaxCalls: 1, successThreshold: 1,
            failureRateWindow: .init(size: 30, minimumCalls: 15, failureRateThresholdPercent: 40)))
        #expect(settings.probeIntervals == ProbeIntervals(critical: .seconds(30), important: .seconds(120),
                                                          normal: .seconds(600), background: .seconds(3600)))
    }

    @Test(arguments: [("500ms", Duration.milliseconds(500)), ("1s", .seconds(1)), ("30s", .seconds(30)),
                      ("5m", .seconds(300)), ("1h", .seconds(3600)), ("1.5s", .milliseconds(1500)),
                      ("1m30s", .seconds(90)), ("250us", .microseconds(250))])
    func durationsTakeAUnit(text: String, expected: Duration) throws {
        #expect(try DurationParsing.parse(text).get() == expected)
    }

    @Test func aBareNumberIsNotADuration() throws {
        let error = try #require(problems("retry_policy:\n  initial_delay: 1\n"))
        let problem = try #require(error.problem(at: "retry_policy.initial_delay"))
        #expect(problem.line == 2)
        #expect(problem.reason.contains("needs a unit"))
    }

    @Test func anUnknownUnitIsNamed() throws {
        let error = try #require(problems("probe_intervals:\n  normal_targets: 15min\n"))
        #expect(error.problem(at: "probe_intervals.normal_targets")?.reason.contains("unknown unit 'min'") == true)
    }

    @Test func aNegativeDelayIsRefusedAtItsKeyAndLine() throws {
        let error = try #require(problems("""
            retry_policy:
              max_attempts: 3
              initial_delay: -1s
            """))
        #expect(error.problems == [ConfigurationProblem(key: "retry_policy.initial_delay", line: 3, column: 18,
                                                        reason: "must not be negative, got -1.0 seconds")])
        #expect(error.description == "invalid configuration: retry_policy.initial_delay (line 3, column 18): must not be negative, got -1.0 seconds")
    }

    @Test(arguments: ["failure_threshold", "half_open_max_calls", "success_threshold"])
    func aZeroThresholdIsRefused(key: String) throws {
        let error = try #require(problems("circuit_breaker:\n  \(key): 0\n"))
        let problem = try #require(error.problem(at: "circuit_breaker.\(key)"))
        #expect(problem.line == 2)
        #expect(problem.reason == "must be at least 1, got 0")
    }

    @Test func aZeroIntervalIsRefused() throws {
        let error = try #require(problems("probe_intervals:\n  critical_targets: 0s\n"))
        #expect(error.problem(at: "probe_intervals.critical_targets")?.reason.contains("must be positive") == true)
    }

    @Test func anUnknownKeyIsRefusedWithTheKeysThatExist() throws {
        let error = try #require(problems("circuit_breaker:\n  failure_treshold: 5\n"))
        let problem = try #require(error.problem(at: "circuit_breaker.failure_treshold"))
        #expect(problem.line == 2)
        #expect(problem.reason.contains("unknown key"))
        #expect(problem.reason.contains("failure_threshold"))
    }

    @Test func anUnknownSectionIsRefusedUnlessAnotherLoaderReadsIt() throws {
        let yaml = "retry_polcy:\n  max_attempts: 3\ntargets:\n  - 10.0.0.1\n"
        let error = try #require(problems(yaml, otherSections: ["targets"]))
        #expect(error.problems.map(\.key) == ["retry_polcy"])
        #expect(problems("targets: []\n", otherSections: ["targets"]) == nil)
    }

    @Test func aWrongTypeIsNamed() throws {
        let error = try #require(problems("retry_policy:\n  max_attempts: three\n  backoff_factor: [2]\n"))
        #expect(error.problem(at: "retry_policy.max_attempts")?.reason == "expected a whole number, got 'three'")
        #expect(error.problem(at: "retry_policy.backoff_factor")?.reason == "expected a number, got a list")
    }

    @Test func aSectionThatIsNotAMappingIsRefused() throws {
        let error = try #require(problems("circuit_breaker: 5\n"))
        #expect(error.problem(at: "circuit_breaker")?.reason == "expected a mapping of settings, got '5'")
    }

    @Test func anUnknownRetryableErrorIsNamed() throws {
        let error = try #require(problems("retry_policy:\n  retryable_errors: [timeout, dns_down]\n"))
        let problem = try #require(error.problem(at: "retry_policy.retryable_errors"))
        #expect(problem.reason.contains("got 'dns_down'"))
    }

    @Test func anUnknownJitterIsNamed() throws {
        let error = try #require(problems("retry_policy:\n  jitter: some\n"))
        #expect(error.problem(at: "retry_policy.jitter")?.reason == "expected one of none, full, decorrelated, got 'some'")
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let error = try #require(problems("""
            retry_policy:
              max_attempts: 0
            circuit_breaker:
              recovery_timeout: -5s
              colour: red
            """))
        #expect(Set(error.problems.map(\.key)) == ["retry_policy.max_attempts", "circuit_breaker.recovery_timeout", "circuit_breaker.colour"])
    }

    @Test func maxDelayBelowTheInitialDelayIsRefused() throws {
        let error = try #require(problems("retry_policy:\n  initial_delay: 10s\n  max_delay: 5s\n"))
        #expect(error.problem(at: "retry_policy.max_delay")?.line == 3)
    }

    @Test func aSyntaxErrorGivesItsLine() throws {
        let error = try #require(problems("retry_policy:\n  max_attempts: [3\n"))
        #expect(error.problems.first?.line != nil)
        #expect(error.problems.first?.reason.hasPrefix("YAML syntax") == true)
    }

    @Test func aFileIsReadFromDisk() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-resilience-\(UUID().uuidString).yaml").path
        try "circuit_breaker:\n  failure_threshold: 9\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try ResilienceConfiguration.load(contentsOfFile: path).circuitBreaker.failureThreshold == 9)

        try "circuit_breaker:\n  failure_threshold: 0\n".write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try ResilienceConfiguration.load(contentsOfFile: path)
            Issue.record("a zero threshold loaded")
        } catch {
            #expect(error.source == path)
            #expect(error.description.contains(path))
        }
    }

    @Test func aMissingFileSaysSo() throws {
        #expect(throws: ConfigurationError.self) {
            try ResilienceConfiguration.load(contentsOfFile: "/nonexistent/ispc-resilience.yaml")
        }
    }
}
