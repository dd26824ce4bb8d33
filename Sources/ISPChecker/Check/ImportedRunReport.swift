import FoundationEssentials
import ISPCheckerAnalysis
import ISPCheckerImport
import ISPCheckerResults

extension HealthAnalyzer {
    /// The report of another tool's results (`Importer.runs`): the probes the file holds are
    /// graded, scored and diagnosed as a live run's are; the probes it lacks are absent from the
    /// report, so they weigh nothing in the score and never count as failed. The mode is
    /// `replay`, the timestamp the measurement's when the file says, and `source` says where the
    /// data came from and which probes are missing.
    public func analyze(_ run: ImportedRun, history: [RunReport] = []) -> RunReport {
        var report = analyze(target: run.target, ping: run.ping, trace: run.trace, history: history, timestamp: run.timestamp ?? Date())
        report.mode = .replay
        report.source = run.source
        return report
    }
}

extension RunReport {
    /// The report with `source` set for a replay of `file` (a saved run report or a capture)
    /// when it has none yet: measured are the report's probes, missing the others.
    public func replayed(tool: String, format: String, file: String) -> RunReport {
        guard source == nil else { return self }
        var report = self
        var measured: [String] = []
        for probe in probes where !measured.contains(probe.name) { measured.append(probe.name) }
        report.source = DataSource(tool: tool, format: format, file: file, measuredProbes: measured)
        return report
    }
}
