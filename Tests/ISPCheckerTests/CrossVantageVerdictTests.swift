import Foundation
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerResults
import Testing

/// `CrossVantageVerdict`: the newest run of each vantage, combined. Two sites behind their own
/// access routers (10.1.0.1, 10.2.0.1) join at a shared transit router (10.100.0.1) before
/// the destination, as in `lab.sh up --sites 2`.
@Suite("Cross-vantage verdict")
struct CrossVantageVerdictTests {
    static let transit = "10.100.0.1"
    let time = Date(timeIntervalSince1970: 1_800_000_000)

    /// One hop answering from `address`, losing `loss` percent of 10 probes.
    static func hop(_ ttl: Int, _ address: String, loss: Double = 0, destination: Bool = false) -> TraceHop {
        let received = 10 - Int((10 * loss / 100).rounded())
        return TraceHop(ttl: ttl, addresses: [HopAddress(address: IPAddress(address)!, replies: received, name: nil)],
                        sent: 10, received: received, lossPercent: loss,
                        lastMilliseconds: Double(ttl), avgMilliseconds: Double(ttl), bestMilliseconds: Double(ttl),
                        worstMilliseconds: Double(ttl) * 1.1, stdevMilliseconds: 0.1, mplsStacks: [], unreachable: [],
                        isDestination: destination, clock: .pcap)
    }

    /// Site `site`'s path: its access router, the shared transit, the destination; loss from
    /// hop `lossFrom` onward.
    static func path(site: Int, loss: Double = 0, lossFrom: Int = 99) -> TraceResult {
        let addresses = ["10.\(site).0.1", transit, Fixture.target]
        let hops = addresses.enumerated().map { index, address in
            hop(index + 1, address, loss: index + 1 >= lossFrom ? loss : 0, destination: index == 2)
        }
        return Fixture.trace(hops)
    }

    /// A run analysed as a live check would be, from vantage `vantage`.
    func run(_ vantage: String, site: Int, loss: Double = 0, lossFrom: Int = 99, at offset: TimeInterval = 0) -> RunReport {
        var report = Fixture.analyze([Fixture.ping(loss: loss)], trace: Self.path(site: site, loss: loss, lossFrom: lossFrom),
                                     at: time.addingTimeInterval(offset))
        report.vantage = vantage
        return report
    }

    /// A run with a hand-written fault at `hop` (the diagnosis engine's form), for the location logic alone.
    func located(_ vantage: String, site: Int, hop: Int) -> RunReport {
        RunReport(target: Fixture.target, timestamp: time, probes: [Fixture.ping(loss: 30)], score: 45,
                  diagnosis: [Diagnosis(component: DiagnosisComponent.peeringTransit, confidence: 0.8, explanation: "loss from hop \(hop)",
                                        suggestedAction: "", evidence: [Evidence(probe: ProbeName.traceroute, hop: hop, detail: "30 % loss")])],
                  trace: Self.path(site: site, loss: 30, lossFrom: hop), vantage: vantage)
    }

    @Test("loss on one site's access link: only that vantage sees it, located at its own hop")
    func oneVantage() {
        let verdict = CrossVantageVerdict.combine(
            target: Fixture.target, runs: [run("office-berlin", site: 1, loss: 30, lossFrom: 1), run("office-paris", site: 2)])
        #expect(verdict.scope == .oneVantage)
        #expect(verdict.faultyVantages == ["office-berlin"])
        #expect(verdict.healthyVantages == ["office-paris"])
        #expect(verdict.diagnosis.explanation.hasPrefix("Only office-berlin sees 30 % loss"))
        #expect(verdict.diagnosis.explanation.contains("access network or its upstream"))
        #expect(!verdict.diagnosis.informational && verdict.diagnosis.confidence >= 0.8)
        #expect(verdict.diagnosis.evidence.count == 2)
        #expect(verdict.sharedHop == nil)
    }

    @Test("loss on the shared transit: all vantages see it, placed at the shared hop")
    func allVantagesAnalysed() {
        let verdict = CrossVantageVerdict.combine(
            target: Fixture.target, runs: [run("office-berlin", site: 1, loss: 30, lossFrom: 2), run("office-paris", site: 2, loss: 30, lossFrom: 2)])
        #expect(verdict.scope == .allVantages)
        #expect(verdict.faultyVantages == ["office-berlin", "office-paris"])
        #expect(verdict.sharedHop?.address == Self.transit)
        #expect(verdict.sharedHop?.hops == ["office-berlin": 2, "office-paris": 2])
        #expect(verdict.diagnosis.explanation.contains(Self.transit))
    }

    @Test("faults that start at the same shared hop from every vantage name it; faults that do not, name the join")
    func sharedHopLocation() {
        let agreed = CrossVantageVerdict.combine(target: Fixture.target, runs: [located("a", site: 1, hop: 2), located("b", site: 2, hop: 2)])
        #expect(agreed.sharedHop == .init(address: Self.transit, hops: ["a": 2, "b": 2], faultStartsHere: true))
        #expect(agreed.diagnosis.component == DiagnosisComponent.peeringTransit)
        #expect(agreed.diagnosis.confidence == 0.85)
        #expect(agreed.diagnosis.explanation.contains("starts at the shared hop \(Self.transit)"))

        let atDestination = CrossVantageVerdict.combine(target: Fixture.target, runs: [located("a", site: 1, hop: 3), located("b", site: 2, hop: 3)])
        #expect(atDestination.sharedHop?.address == Fixture.target)
        #expect(atDestination.diagnosis.component == DiagnosisComponent.destination)

        let apart = CrossVantageVerdict.combine(target: Fixture.target, runs: [located("a", site: 1, hop: 1), located("b", site: 2, hop: 3)])
        #expect(apart.scope == .allVantages)
        #expect(apart.sharedHop == .init(address: Self.transit, hops: ["a": 2, "b": 2], faultStartsHere: false))
        #expect(apart.diagnosis.confidence == 0.7)
    }

    @Test("no fault anywhere, one vantage only, and the newest run of each vantage")
    func otherScopes() {
        let clean = CrossVantageVerdict.combine(target: Fixture.target, runs: [run("a", site: 1), run("b", site: 2)])
        #expect(clean.scope == .noFault && clean.diagnosis.informational)

        let alone = CrossVantageVerdict.combine(target: Fixture.target, runs: [run("a", site: 1, loss: 30, lossFrom: 1)])
        #expect(alone.scope == .singleVantage && alone.diagnosis.informational)
        #expect(alone.faultyVantages == ["a"])

        // a's older run was lossy, its newest is clean: no fault.
        let recovered = CrossVantageVerdict.combine(
            target: Fixture.target, runs: [run("a", site: 1, loss: 30, lossFrom: 1, at: 0), run("a", site: 1, at: 60), run("b", site: 2)])
        #expect(recovered.scope == .noFault)
        #expect(recovered.vantages.count == 2)

        let some = CrossVantageVerdict.combine(
            target: Fixture.target, runs: [run("a", site: 1, loss: 30, lossFrom: 1), run("b", site: 2, loss: 30, lossFrom: 1), run("c", site: 3)])
        #expect(some.scope == .someVantages)
        #expect(some.faultyVantages == ["a", "b"] && some.healthyVantages == ["c"])

        let other = CrossVantageVerdict.combine(target: "elsewhere.invalid", runs: [run("a", site: 1)])
        #expect(other.vantages.isEmpty && other.scope == .singleVantage)
    }

    @Test("the verdict's JSON uses snake_case keys")
    func json() throws {
        let verdict = CrossVantageVerdict.combine(target: Fixture.target, runs: [located("a", site: 1, hop: 2), located("b", site: 2, hop: 2)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let text = String(decoding: try encoder.encode(verdict), as: UTF8.self)
        for key in ["\"faulty_vantages\"", "\"healthy_vantages\"", "\"shared_hop\"", "\"fault_starts_here\"", "\"run_id\"",
                    "\"fault_hop\"", "\"scope\":\"all_vantages\"", "\"suggested_action\""] {
            #expect(text.contains(key), "missing \(key)")
        }
    }
}
