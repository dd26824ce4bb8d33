import FoundationEssentials
import ISPCheckerResults

/// One address family's verdict, when a check ran over both (a target name with IPv4 and IPv6
/// addresses: `isp-checker run`'s default). IPv6 and IPv4 take different paths, through
/// different routers, tunnels and firewalls, so one can be broken while the other works; the
/// report says so per family (issue 20, item 6).
public struct FamilyVerdict: Sendable, Codable, Equatable {
    public var family: IPFamily
    /// The address of the target checked in this family.
    public var address: String
    /// The family's own score (0 healthy … 100 outage) and severity band.
    public var score: Double
    public var severity: Severity
    /// Whether the family's trace reached the target (nil without a trace).
    public var destinationReached: Bool?
    /// The last hop of the family's trace that answered, when the trace did not reach the target.
    public var lastAnsweringHop: Int?
    /// The family's fault diagnoses, one line each (`Component at hop N: explanation`).
    public var faults: [String]
    /// One line: `IPv6: broken beyond hop 2 (…)` or `IPv4: fine (score 0)`.
    public var summary: String

    public init(family: IPFamily, address: String, score: Double, severity: Severity, destinationReached: Bool?,
                lastAnsweringHop: Int?, faults: [String], summary: String) {
        self.family = family
        self.address = address
        self.score = score
        self.severity = severity
        self.destinationReached = destinationReached
        self.lastAnsweringHop = lastAnsweringHop
        self.faults = faults
        self.summary = summary
    }

    enum CodingKeys: String, CodingKey {
        case family, address, score, severity, faults, summary
        case destinationReached = "destination_reached"
        case lastAnsweringHop = "last_answering_hop"
    }

    /// The verdict of one family's report.
    public init(family: IPFamily, address: String, report: RunReport) {
        let faults = report.diagnosis.filter { !$0.informational }
        let reached = report.trace?.destinationReached
        let lastHop = reached == false ? report.trace?.hops.last(where: { !$0.addresses.isEmpty })?.ttl : nil
        let lines = faults.map { fault -> String in
            let hop = fault.evidence.compactMap(\.hop).first
            return "\(fault.component)\(hop.map { " at hop \($0)" } ?? ""): \(fault.explanation)"
        }
        let summary: String
        if faults.isEmpty {
            summary = "\(family): fine (score \(DiagnosisEngine.format(report.score)))"
        } else if reached == false {
            let beyond = lastHop.map { "broken beyond hop \($0)" } ?? "broken from the first hop"
            summary = "\(family): \(beyond) (score \(DiagnosisEngine.format(report.score)); \(lines[0]))"
        } else {
            summary = "\(family): \(lines[0]) (score \(DiagnosisEngine.format(report.score)))"
        }
        self.init(family: family, address: address, score: report.score, severity: report.severity,
                  destinationReached: reached, lastAnsweringHop: lastHop, faults: lines, summary: summary)
    }
}

extension RunReport {
    /// One report of a check over both families: `primary` (the family the system prefers, which
    /// also ran the DNS, HTTP and other probes) with `other`'s verdict beside it.
    ///
    /// - `primaryPathOnly`: `primary`'s ping and trace analysed without the other probes (nil:
    ///   `primary` had none). Those probes may have gone out in the other family (an HTTP URL
    ///   with an IPv4 address, a resolver reached over IPv4), so a page that loads must not vouch
    ///   for this family's path: each family's verdict is its ping and trace alone.
    /// - The score is the worse of the two (a broken family is a fault users meet: a program
    ///   that tries it first waits or fails).
    /// - The diagnoses are each family's path diagnoses, explanations led by the family, the worse
    ///   family's first, then `primary`'s diagnoses of its other probes (DNS, HTTP …) as they were.
    /// - `families` holds one verdict each, IPv4 first.
    public static func combiningFamilies(primary: RunReport, primaryAddress: IPAddress, primaryPathOnly: RunReport? = nil,
                                         other: RunReport, otherAddress: IPAddress) -> RunReport {
        let primaryPath = primaryPathOnly ?? primary
        let verdicts = [FamilyVerdict(family: primaryAddress.family, address: "\(primaryAddress)", report: primaryPath),
                        FamilyVerdict(family: otherAddress.family, address: "\(otherAddress)", report: other)]
        func led(_ report: RunReport, _ family: IPFamily) -> [Diagnosis] {
            report.diagnosis.map { diagnosis in
                var diagnosis = diagnosis
                diagnosis.explanation = "\(family): \(diagnosis.explanation)"
                return diagnosis
            }
        }
        let services = primaryPathOnly == nil ? [] : primary.diagnosis.filter { diagnosis in
            !diagnosis.evidence.isEmpty && diagnosis.evidence.allSatisfy { !ProbeName.path.contains($0.probe) }
        }
        let mine = led(primaryPath, primaryAddress.family), theirs = led(other, otherAddress.family)
        var combined = primary
        combined.score = max(primary.score, primaryPath.score, other.score)
        combined.severity = Severity(score: combined.score)
        combined.diagnosis = (other.score > primaryPath.score ? theirs + mine : mine + theirs) + services
        combined.families = verdicts.sorted { $0.family == .ipv4 && $1.family == .ipv6 }
        return combined
    }
}

extension ProbeName {
    /// The probes that measure the path itself, in the family of the target's address: a
    /// family's own verdict is read from these alone.
    public static let path: Set<String> = [ping, traceroute]
}

extension HealthAnalyzer {
    /// `report` analysed again from its ping and trace only (same id, time and history): the
    /// verdict of its address family, which the other probes (DNS, HTTP …, free to go out in
    /// either family) must not vouch for. `RunReport.combiningFamilies` takes it as
    /// `primaryPathOnly`.
    public func pathOnly(_ report: RunReport, history: [RunReport]) -> RunReport {
        analyze(target: report.target, probes: report.probes.filter { ProbeName.path.contains($0.name) },
                trace: report.trace, history: history, timestamp: report.timestamp, id: report.id)
    }
}
