import Foundation
import ISPChecker
import Logging

/// The monitor's incidents: the one owner of the `IncidentTracker`. Each run goes through
/// `observe` (from `MonitorService.handle`), which decides in memory, tells the notifier
/// (queues only) and the metrics, and hands the changed incident to the writer task; nothing
/// in it waits for the store or a webhook. The writer (`runWriter`) saves changed incidents,
/// retrying while the store is away; the newest state of an incident replaces an unsaved older one.
///
/// At the first run it takes over the incidents the store holds as open (`resume`), so a
/// restart continues them.
public actor IncidentRecorder {
    public nonisolated let store: any IncidentStore
    public nonisolated let policy: IncidentPolicy
    private var tracker: IncidentTracker
    private let notifier: WebhookNotifier?
    private let metrics: MonitorMetrics?
    private let logger: Logger
    private let backoff: RetryPolicy
    private var resumed = false
    private var lastResumeAttempt: ContinuousClock.Instant?
    /// Least time between two attempts to read the open incidents while the store fails, so
    /// that an unreachable store does not cost every run its operation timeout.
    static let resumeRetryInterval: Duration = .seconds(30)
    /// Changed incidents not yet saved, by id, in the order they changed.
    private var unsaved: [String: Incident] = [:]
    private var unsavedOrder: [String] = []
    private var failures = 0
    private let wakeUp: AsyncStream<Void>
    private let wakeUpContinuation: AsyncStream<Void>.Continuation

    public init(store: any IncidentStore, policy: IncidentPolicy = .default, notifier: WebhookNotifier? = nil,
                metrics: MonitorMetrics? = nil, backoff: RetryPolicy = .storeReconnect,
                logger: Logger = Logger(label: "isp-checker.incidents")) {
        self.store = store
        self.policy = policy
        self.tracker = IncidentTracker(policy: policy)
        self.notifier = notifier
        self.metrics = metrics
        self.backoff = backoff
        self.logger = logger
        (wakeUp, wakeUpContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// The incidents open now.
    public var openIncidents: [Incident] { tracker.openIncidents }

    /// Incidents changed but not yet in the store.
    public var unsavedCount: Int { unsaved.count }

    /// Feeds one run. Returns what it did to an incident (also for tests).
    @discardableResult
    public func observe(_ report: RunReport) async -> IncidentChange? {
        if !resumed, lastResumeAttempt.map({ ContinuousClock.now - $0 >= Self.resumeRetryInterval }) ?? true {
            lastResumeAttempt = .now
            await resume()
        }
        guard let change = tracker.observe(report) else { return nil }
        apply(change)
        return change
    }

    /// The hook for path-change events: counts one in the target's open incident, if any.
    @discardableResult
    public func notePathChange(target: String) -> IncidentChange? {
        guard let change = tracker.notePathChange(target: target) else { return nil }
        apply(change)
        return change
    }

    private func apply(_ change: IncidentChange) {
        let incident = change.incident
        for event in change.events {
            logger.log(level: event.kind == .diagnosisChanged ? .info : .warning, "incident \(incident.id) \(event.kind.rawValue): \(event.detail)",
                       metadata: ["target": "\(incident.target)", "severity": "\(incident.severity.rawValue)"])
        }
        metrics?.setOpenIncident(target: incident.target, severity: incident.state == .open ? incident.severity : nil)
        notifier?.notify(change)
        if unsaved.updateValue(incident, forKey: incident.id) == nil { unsavedOrder.append(incident.id) }
        wakeUpContinuation.yield()
    }

    /// Takes over the store's open incidents (once; retried at a later run while the store fails).
    private func resume() async {
        do {
            let page = try await store.incidents(matching: IncidentQuery(state: .open, limit: RunQuery.maximumLimit))
            // A target that opened an incident meanwhile (the store was away) keeps the new one.
            let current = Set(tracker.openIncidents.map(\.target))
            let stored = page.incidents.filter { !current.contains($0.target) }
            tracker.resume(stored)
            for incident in stored { metrics?.setOpenIncident(target: incident.target, severity: incident.severity) }
            if !stored.isEmpty { logger.info("continuing \(stored.count) open incidents from the store") }
            resumed = true
        } catch {
            if error is CancellationError { return }
            logger.warning("cannot read the open incidents yet; will try again in \(Self.resumeRetryInterval)", metadata: ["error": "\(error)"])
        }
    }

    /// Saves changed incidents until cancelled. Run it in a child task of the monitor.
    public func runWriter() async {
        for await _ in wakeUp {
            while !unsaved.isEmpty && !Task.isCancelled {
                if await saveOne() { continue }
                do { try await Task.sleep(for: backoff.backoff(afterFailures: failures)) } catch { return }
            }
            if Task.isCancelled { return }
        }
    }

    /// Saves what is unsaved, for up to `timeout` (at shutdown). Returns how many are left.
    @discardableResult
    public func flush(timeout: Duration) async -> Int {
        let deadline = ContinuousClock.now + timeout
        while !unsaved.isEmpty && ContinuousClock.now < deadline {
            if await saveOne() { continue }
            let pause = min(backoff.backoff(afterFailures: failures), deadline - ContinuousClock.now)
            guard pause > .zero else { break }
            do { try await Task.sleep(for: pause) } catch { break }
        }
        if !unsaved.isEmpty {
            logger.error("incident store unreachable: \(unsaved.count) incident changes not saved")
        }
        return unsaved.count
    }

    /// Saves the oldest unsaved incident; false when the store failed.
    private func saveOne() async -> Bool {
        guard let id = unsavedOrder.first, let incident = unsaved[id] else { return true }
        do {
            try await store.save(incident)
        } catch {
            if error is CancellationError { return false }
            failures += 1
            if failures == 1 { logger.warning("cannot save incident \(id); retrying", metadata: ["error": "\(error)"]) }
            if case RunStoreError.rejected = error {
                // The database refuses this incident for good: keeping it would block the others.
                logger.error("incident store refused incident \(id) for good: not saved", metadata: ["error": "\(error)"])
                drop(id)
            }
            return false
        }
        failures = 0
        // A newer state that came in while saving stays queued.
        if unsaved[id] == incident { drop(id) } else { unsavedOrder.append(unsavedOrder.removeFirst()) }
        return true
    }

    private func drop(_ id: String) {
        unsaved[id] = nil
        unsavedOrder.removeAll { $0 == id }
    }
}
