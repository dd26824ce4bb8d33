import Foundation
@testable import ISPCheckerAnalysis
@testable import ISPCheckerResults
import Testing

/// A run's path and what counts as a change of it (issue 20 item 8, docs/monitor.md).
@Suite("Path fingerprint and path changes")
struct PathFingerprintTests {
    /// The fixture's clean path with hop `ttl` answered from `addresses` instead (none: silent).
    func trace(replacing ttl: Int? = nil, with addresses: [String] = []) -> TraceResult {
        var trace = Fixture.cleanTrace()
        if let ttl, let index = trace.hops.firstIndex(where: { $0.ttl == ttl }) {
            trace.hops[index].addresses = addresses.map { HopAddress(address: IPAddress($0)!, replies: 3) }
            trace.hops[index].received = addresses.isEmpty ? 0 : 3
        }
        return trace
    }

    func fingerprint(_ trace: TraceResult) throws -> PathFingerprint { try #require(PathFingerprint(trace: trace)) }

    @Test("the fingerprint is each TTL's answering addresses; its text reads back the same")
    func textRoundTrip() throws {
        let path = try fingerprint(trace(replacing: 3, with: ["10.99.3.2", "10.98.3.2"]))
        #expect(path.text == "1:10.99.1.2 10.99.2.2 10.98.3.2|10.99.3.2 10.99.4.2 10.99.5.2")
        #expect(PathFingerprint(text: path.text) == path)
        #expect(PathFingerprint(text: "no colon") == nil)
        #expect(try fingerprint(trace(replacing: 2)).text == "1:10.99.1.2 * 10.99.3.2 10.99.4.2 10.99.5.2")
    }

    @Test("a different router at hop 3 is a change at hop 3, naming both addresses")
    func routerChange() throws {
        let change = try fingerprint(trace()).change(to: try fingerprint(trace(replacing: 3, with: ["10.98.3.2"])))
        #expect(change == PathChange(hop: 3, from: ["10.99.3.2"], to: ["10.98.3.2"]))
        #expect(change?.description == "hop 3: 10.99.3.2 → 10.98.3.2")
    }

    @Test("a silent hop (rate limited, or no ICMP) on either side is no change")
    func silentHopIsNoChange() throws {
        let full = try fingerprint(trace())
        let silent = try fingerprint(trace(replacing: 3))
        #expect(full.change(to: silent) == nil)
        #expect(silent.change(to: full) == nil)
    }

    @Test("a change behind a hop that was silent in the run before is still seen: the reference keeps the last answer")
    func silentHopKeepsReference() throws {
        let first = try fingerprint(trace())
        let silent = try fingerprint(trace(replacing: 3))
        let step = PathFingerprint.next(previous: first, current: silent)
        #expect(step.change == nil)
        #expect(step.reference.addresses(at: 3) == ["10.99.3.2"])
        let moved = PathFingerprint.next(previous: step.reference, current: try fingerprint(trace(replacing: 3, with: ["10.98.3.2"])))
        #expect(moved.change == PathChange(hop: 3, from: ["10.99.3.2"], to: ["10.98.3.2"]))
        #expect(moved.reference.addresses(at: 3) == ["10.98.3.2"])
    }

    @Test("an ECMP alternate already seen at the hop is no change; a hop that shares no address is")
    func ecmpAlternates() throws {
        let both = try fingerprint(trace(replacing: 2, with: ["10.99.2.2", "10.97.2.2"]))
        #expect(both.change(to: try fingerprint(trace(replacing: 2, with: ["10.97.2.2"]))) == nil)
        #expect(try fingerprint(trace()).change(to: both) == nil)
        #expect(both.change(to: try fingerprint(trace(replacing: 2, with: ["10.96.2.2"])))?.hop == 2)
    }

    @Test("a trace cut short is no change; an identical path is none either")
    func shorterTraceIsNoChange() throws {
        var short = trace()
        short.hops.removeLast(2)
        #expect(try fingerprint(trace()).change(to: try fingerprint(short)) == nil)
        #expect(try fingerprint(trace()).change(to: try fingerprint(trace())) == nil)
    }

    @Test("a trace where no hop answered has no fingerprint")
    func silentTraceHasNone() {
        let silent = Fixture.trace((1...3).map { Fixture.hop($0, ms: nil) })
        #expect(PathFingerprint(trace: silent) == nil)
    }

    @Test("loss that begins at the run whose path changed: the diagnosis' evidence says where")
    func lossWithPathChangeEvidence() throws {
        let before = Fixture.analyze([Fixture.ping(loss: 0)], trace: trace(), at: Date(timeIntervalSince1970: 1_800_000_000))
        let changed = trace(replacing: 3, with: ["10.98.3.2"])
        let after = Fixture.analyze([Fixture.ping(loss: 40)], trace: changed, history: [before],
                                    at: Date(timeIntervalSince1970: 1_800_000_060))
        let faults = after.diagnosis.filter { !$0.informational }
        #expect(!faults.isEmpty)
        for fault in faults {
            #expect(fault.evidence.contains { $0.hop == 3 && $0.detail.hasPrefix("loss began at the run where the path changed at hop 3: 10.99.3.2 → 10.98.3.2") },
                    "\(fault)")
        }
    }

    @Test("loss on an unchanged path, or a path change without new loss, adds no path evidence")
    func noEvidenceWithoutBoth() throws {
        let before = Fixture.analyze([Fixture.ping(loss: 0)], trace: trace(), at: Date(timeIntervalSince1970: 1_800_000_000))
        let sameLossy = Fixture.analyze([Fixture.ping(loss: 40)], trace: trace(), history: [before], at: Date(timeIntervalSince1970: 1_800_000_060))
        let changedClean = Fixture.analyze([Fixture.ping(loss: 0)], trace: trace(replacing: 3, with: ["10.98.3.2"]), history: [before],
                                           at: Date(timeIntervalSince1970: 1_800_000_060))
        for report in [sameLossy, changedClean] {
            #expect(!report.diagnosis.flatMap(\.evidence).contains { $0.detail.contains("path changed") })
        }
        #expect(!sameLossy.diagnosis.filter { !$0.informational }.isEmpty, "the lossy run is diagnosed")
    }
}
