import ISPChecker
import Logging

/// A target's recent runs from the store, for the baseline of its next check.
///
/// The store may be shared (PostgreSQL) and so hold rows this monitor did not write: a row that
/// does not decode, or whose numbers are out of range (`ReportValueError`), is skipped, logged
/// with its id and counted in `isp_checker_history_rows_skipped_total`; the check goes on with
/// the other rows. A store that cannot be read gives no history (the check runs without a baseline).
public struct RunHistory: Sendable {
    public let store: any RunStore
    public let metrics: MonitorMetrics
    public let logger: Logger
    /// Runs read per check (the baseline uses the newest).
    public var limit = 50
    /// Only runs of this vantage (the monitor's own): another place's runs are no baseline here.
    public var vantage: String?

    public init(store: any RunStore, metrics: MonitorMetrics, logger: Logger, vantage: String? = nil) {
        self.vantage = vantage
        self.store = store
        self.metrics = metrics
        self.logger = logger
    }

    /// The usable recent runs of `target`, newest first.
    public func recentRuns(of target: String) async -> [RunReport] {
        let page: RunPage
        do {
            page = try await store.runs(matching: RunQuery(target: target, vantage: vantage, limit: limit))
        } catch {
            // Shutdown cancels the check that asked: nothing is wrong with the store.
            if error is CancellationError || Task.isCancelled { return [] }
            logger.warning("cannot read the run history; checking without a baseline", metadata: ["target": "\(target)", "error": "\(error)"])
            return []
        }
        return page.runs.compactMap { row in
            do {
                return try row.report()
            } catch {
                metrics.historyRowSkipped()
                logger.error("skipping a stored run the baseline cannot use", metadata: [
                    "target": "\(target)", "id": "\(row.id)", "error": "\(error)"])
                return nil
            }
        }
    }
}
