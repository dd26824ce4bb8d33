import Foundation
@testable import ISPCheckerAnalysis
import ISPCheckerResults
import Testing

/// Incidents from runs (issue 22): when the tracker opens, updates and closes one, and the
/// runbook's documents it fills in.
@Suite("Incident tracker")
struct IncidentTrackerTests {
    static let start = Date(timeIntervalSince1970: 1_796_000_000)

    /// A run `minute` minutes after `start` with this score and, when given, one fault.
    static func run(_ minute: Int, score: Double, target: String = "10.99.3.2", fault: String? = nil,
                    failed: [String] = []) -> RunReport {
        let probes = ["ping", "traceroute", "dns"].map { ProbeReport(name: $0, status: failed.contains($0) ? .crit : .ok) }
        let diagnosis = fault.map {
            [Diagnosis(component: $0, confidence: 0.98, explanation: "\($0) explanation", suggestedAction: "\($0) action",
                       evidence: [Evidence(probe: "traceroute", hop: 2, detail: "no answer from hop 2 onward")])]
        } ?? []
        return RunReport(id: "run-\(target)-\(minute)", target: target, timestamp: start.addingTimeInterval(Double(minute) * 60),
                         probes: probes, score: score, diagnosis: diagnosis)
    }

    @Test("two runs at P2 or worse open one incident dated from the first, at the worst band")
    func opensAfterTwoBadRuns() throws {
        let tracker = Feed()
        #expect(tracker.observe(Self.run(0, score: 5)) == nil)
        #expect(tracker.observe(Self.run(1, score: 60, fault: "Transit")) == nil)
        let change = try #require(tracker.observe(Self.run(2, score: 100, fault: "Upstream", failed: ["ping", "traceroute"])))
        #expect(change.events.map(\.kind) == [.opened])
        let incident = change.incident
        #expect(incident.state == .open)
        #expect(incident.startedAt == Self.run(1, score: 0).timestamp)
        #expect(incident.severity == .p1)
        #expect(incident.worstScore == 100)
        #expect(incident.components == ["Transit", "Upstream"])
        #expect(incident.diagnosis.first?.component == "Upstream")
        #expect(incident.failedProbes == ["ping", "traceroute"])
        #expect(incident.firstEvidenceRunID == "run-10.99.3.2-1" && incident.lastEvidenceRunID == "run-10.99.3.2-2")
        #expect(incident.id.hasPrefix("INC-20261130T"), "\(incident.id)")
        #expect(tracker.openIncidents.count == 1)
    }

    @Test("a healthy run between bad ones opens nothing; a P3 run does not count at the default policy")
    func brokenStreakOpensNothing() {
        let tracker = Feed()
        #expect(tracker.observe(Self.run(0, score: 90)) == nil)
        #expect(tracker.observe(Self.run(1, score: 10)) == nil)
        #expect(tracker.observe(Self.run(2, score: 90)) == nil)
        #expect(tracker.observe(Self.run(3, score: 30)) == nil)  // P3
        #expect(tracker.observe(Self.run(4, score: 90)) == nil)
        #expect(tracker.openIncidents.isEmpty)
    }

    @Test("two healthy runs close it, ended at the first of them: the duration runs from first bad to first healthy run")
    func closesAfterTwoHealthyRuns() throws {
        let tracker = Feed()
        _ = tracker.observe(Self.run(0, score: 100, fault: "Upstream"))
        _ = tracker.observe(Self.run(1, score: 100, fault: "Upstream"))
        #expect(tracker.observe(Self.run(2, score: 10)) == nil)
        // One healthy run then a bad one: still open, the healthy count starts again.
        #expect(tracker.observe(Self.run(3, score: 95, fault: "Upstream"))?.events.isEmpty == true)
        #expect(tracker.observe(Self.run(4, score: 0)) == nil)
        let change = try #require(tracker.observe(Self.run(5, score: 0)))
        #expect(change.events.map(\.kind) == [.closed])
        #expect(change.incident.state == .closed)
        #expect(change.incident.endedAt == Self.run(4, score: 0).timestamp)
        #expect(change.incident.duration() == .seconds(4 * 60))
        #expect(change.incident.timeline.map(\.kind) == [.opened, .closed])
        #expect(tracker.openIncidents.isEmpty)
        // The next fault is a new incident with another id.
        _ = tracker.observe(Self.run(6, score: 100))
        let next = try #require(tracker.observe(Self.run(7, score: 100)))
        #expect(next.incident.id != change.incident.id)
    }

    @Test("a worse band is a severity change, another component a diagnosis change; a better band changes nothing")
    func severityAndDiagnosisChanges() throws {
        let tracker = Feed(policy: IncidentPolicy(openSeverity: .p2, openAfterRuns: 1, closeAfterRuns: 1))
        #expect(tracker.observe(Self.run(0, score: 50, fault: "Transit"))?.incident.severity == .p2)
        let worse = try #require(tracker.observe(Self.run(1, score: 100, fault: "Upstream")))
        #expect(worse.events.map(\.kind) == [.severityChanged, .diagnosisChanged])
        #expect(worse.incident.severity == .p1)
        let better = try #require(tracker.observe(Self.run(2, score: 45, fault: "Upstream")))
        #expect(better.events.isEmpty)
        #expect(better.incident.severity == .p1 && better.incident.lastScore == 45 && better.incident.worstScore == 100)
    }

    @Test("targets are tracked apart, and ids differ for two targets failing in the same second")
    func targetsApart() throws {
        let tracker = Feed(policy: IncidentPolicy(openAfterRuns: 1))
        let a = try #require(tracker.observe(Self.run(0, score: 100, target: "a.lab")))
        let b = try #require(tracker.observe(Self.run(0, score: 100, target: "b.lab")))
        #expect(a.incident.id != b.incident.id)
        #expect(a.incident.id.range(of: #"^INC-\d{8}T\d{6}Z-[0-9a-f]{8}$"#, options: .regularExpression) != nil, "\(a.incident.id)")
        #expect(tracker.observe(Self.run(1, score: 0, target: "a.lab")) == nil)
        #expect(tracker.openIncidents.map(\.target) == ["a.lab", "b.lab"])
    }

    @Test("resumed open incidents continue: the next bad run updates them, healthy runs close them")
    func resumesOpenIncidents() throws {
        let first = Feed(policy: IncidentPolicy(openAfterRuns: 1, closeAfterRuns: 1))
        let opened = try #require(first.observe(Self.run(0, score: 100))).incident
        let second = Feed(policy: IncidentPolicy(openAfterRuns: 1, closeAfterRuns: 1))
        second.resume([opened])
        #expect(second.observe(Self.run(1, score: 90))?.incident.id == opened.id)
        #expect(second.notePathChange(target: opened.target)?.incident.pathChanges == 1)
        #expect(second.observe(Self.run(2, score: 0))?.incident.state == .closed)
    }

    @Test("a path change at the first bad run counts in the incident those runs open; a healthy run forgets it")
    func pathChangeBeforeOpening() throws {
        let tracker = Feed(policy: IncidentPolicy(openAfterRuns: 2, closeAfterRuns: 1))
        #expect(tracker.observe(Self.run(0, score: 60)) == nil)
        #expect(tracker.notePathChange(target: Self.run(0, score: 60).target) == nil, "nothing open yet")
        let opened = try #require(tracker.observe(Self.run(1, score: 60))).incident
        #expect(opened.pathChanges == 1)
        #expect(tracker.observe(Self.run(2, score: 0))?.incident.state == .closed)
        // A change during a bad streak that a healthy run ends is not carried to a later incident.
        _ = tracker.observe(Self.run(3, score: 60))
        _ = tracker.notePathChange(target: opened.target)
        #expect(tracker.observe(Self.run(4, score: 0)) == nil)
        _ = tracker.observe(Self.run(5, score: 60))
        #expect(try #require(tracker.observe(Self.run(6, score: 60))).incident.pathChanges == 0)
    }

    @Test("the JSON round trip keeps the incident; a closed one carries duration_seconds")
    func jsonRoundTrip() throws {
        let tracker = Feed(policy: IncidentPolicy(openAfterRuns: 1, closeAfterRuns: 1))
        _ = tracker.observe(Self.run(0, score: 100, fault: "Upstream"))
        let closed = try #require(tracker.observe(Self.run(3, score: 0))).incident
        let data = try Incident.encoder.encode(closed)
        #expect(try Incident.decoder.decode(Incident.self, from: data) == closed)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["duration_seconds"] as? Double == 180)
        #expect(object["state"] as? String == "closed")
        #expect((object["timeline"] as? [[String: Any]])?.first?["kind"] as? String == "opened")
    }

    @Test("the ticket fills the runbook's §3.1.2 headings; the closed incident adds the §3.4.1 report with timeline and duration")
    func documents() throws {
        let tracker = Feed()
        _ = tracker.observe(Self.run(0, score: 100, fault: "Upstream", failed: ["ping"]))
        let open = try #require(tracker.observe(Self.run(1, score: 100, fault: "Upstream", failed: ["ping"]))).incident
        let ticket = IncidentDocuments.markdown(open, now: Self.start.addingTimeInterval(600))
        for heading in ["## Incident Summary", "## Initial Assessment", "## Initial Actions", "## Next Steps", "## Diagnosis"] {
            #expect(ticket.contains(heading), "\(heading) missing:\n\(ticket)")
        }
        #expect(ticket.contains("- **ID**: \(open.id)"))
        #expect(ticket.contains("- **Severity**: P1 (Critical)"))
        #expect(ticket.contains("- **Start Time**: 2026-11-30T"))
        #expect(ticket.contains("- **Health Score**: 100 / 100"))
        #expect(ticket.contains("- **Affected Targets**: 10.99.3.2"))
        #expect(ticket.contains("- **Primary Symptoms**: critical probes: ping; Upstream explanation"))
        #expect(ticket.contains("Evidence: traceroute hop 2: no answer from hop 2 onward"))
        #expect(ticket.contains("Suggested action: Upstream action"))
        #expect(!ticket.contains("{"), "a placeholder left:\n\(ticket)")
        #expect(!ticket.contains("# Post-Incident Report"))

        _ = tracker.observe(Self.run(5, score: 0))
        let closed = try #require(tracker.observe(Self.run(6, score: 0))).incident
        let report = IncidentDocuments.markdown(closed)
        #expect(report.contains("# Post-Incident Report: \(closed.id)"))
        #expect(report.contains("- **Duration**: 2026-11-30T") && report.contains("(5m 00s)"), "\(report)")
        for heading in ["## Executive Summary", "## Timeline", "## Root Cause Analysis", "### Primary Cause", "## Resolution Actions", "## Lessons Learned"] {
            #expect(report.contains(heading), "\(heading) missing")
        }
        #expect(report.contains("| Alert triggered: opened at P1"), "\(report)")
        #expect(report.contains("| Incident closed: closed after 2 healthy runs"), "\(report)")
        #expect(report.contains("Upstream (confidence 98 %): Upstream explanation."))
    }

    @Test("report text cannot add lines or table cells to the documents")
    func hostileTextStaysInline() throws {
        var run = Self.run(0, score: 100, fault: "Upstream")
        run.diagnosis[0].explanation = "boom\n# Injected heading | cell"
        let incident = IncidentTracker.incident(fromSingleRun: run)
        let ticket = IncidentDocuments.ticket(incident)
        #expect(!ticket.contains("\n# Injected"))
        let report = IncidentDocuments.postIncidentReport(incident)
        #expect(!report.contains("\n# Injected"))
    }
}

/// The tracker behind a reference, so that `#expect(tracker.observe(run) == nil)` can call it
/// (the macros cannot call a mutating method).
private final class Feed {
    var tracker: IncidentTracker
    init(policy: IncidentPolicy = .default) { tracker = IncidentTracker(policy: policy) }
    func observe(_ run: RunReport) -> IncidentChange? { tracker.observe(run) }
    func resume(_ incidents: [Incident]) { tracker.resume(incidents) }
    func notePathChange(target: String) -> IncidentChange? { tracker.notePathChange(target: target) }
    var openIncidents: [Incident] { tracker.openIncidents }
}
