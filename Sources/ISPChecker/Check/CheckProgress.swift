import ISPCheckerAnalysis
import ISPCheckerResults

/// How far one probe of a health check is, as `HealthChecker.check(_:history:progress:)` reports
/// it while the check runs: for displays (the CLI's live `run` view). The report at the end is
/// what counts; a probe's status here is its own grade, before the diagnosis reads the run.
public struct CheckProgress: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Sent its first packet (or query) and waits for answers.
        case running
        /// Done, graded by the analyzer's thresholds.
        case finished(ProbeStatus)
    }

    /// The probe's name in the report (`ping`, `traceroute`, `dns`, …), or `hop_echoes` for the
    /// echo requests a check sends to each hop to locate loss.
    public var probe: String
    public var state: State

    public init(probe: String, state: State) {
        self.probe = probe
        self.state = state
    }

    /// The step after the probes that pings every hop of the trace to locate loss.
    public static let hopEchoes = "hop_echoes"
}
