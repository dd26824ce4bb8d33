import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// `TraceResult.merged(with:)`: two traces of one target as one trace of both traces' rounds.
struct TraceMergeTests {
    /// A hop from its RTT samples, the way the engine accumulates it.
    func hop(_ ttl: Int, _ rtts: [Double?], address: String? = nil, destination: Bool = false) -> TraceHop {
        var statistics = HopStatistics(ttl: ttl)
        for rtt in rtts {
            statistics.recordSent()
            if let rtt {
                statistics.record(from: IPAddress(address ?? "10.99.\(ttl).2")!, rttNanoseconds: Int64(rtt * 1_000_000), clock: .pcap,
                                  mpls: [], unreachableCode: nil, isDestination: destination)
            }
        }
        return statistics.snapshot
    }

    @Test func countsAddAndRTTStatisticsPoolOverEveryReply() throws {
        let first = hop(3, [1, 2, nil, 3])
        let second = hop(3, [10, nil, 20])
        let merged = first.merged(with: second)
        let everything = hop(3, [1, 2, nil, 3, 10, nil, 20])
        #expect(merged.sent == 7 && merged.received == 5)
        #expect(abs(merged.lossPercent - 200.0 / 7) < 1e-9)
        #expect(merged.bestMilliseconds == 1 && merged.worstMilliseconds == 20 && merged.lastMilliseconds == 20)
        // Pooling the two means and deviations gives what one pass over all replies gives.
        #expect(abs(try #require(merged.avgMilliseconds) - everything.avgMilliseconds!) < 1e-9)
        #expect(abs(try #require(merged.stdevMilliseconds) - everything.stdevMilliseconds!) < 1e-9)
    }

    @Test func aSilentHopMergedWithAnAnsweringOneTakesItsStatistics() {
        let merged = hop(2, [nil, nil]).merged(with: hop(2, [4, 6]))
        #expect(merged.received == 2 && merged.sent == 4 && merged.lossPercent == 50)
        #expect(merged.avgMilliseconds == 5 && merged.stdevMilliseconds == 1)
    }

    @Test func addressesAreTheUnionMostRepliesFirst() {
        let merged = hop(2, [1], address: "10.99.2.2").merged(with: hop(2, [1, 1], address: "10.99.2.3"))
        #expect(merged.addresses.map(\.address.description) == ["10.99.2.3", "10.99.2.2"])
        #expect(merged.addresses.map(\.replies) == [2, 1])
    }

    @Test func theMergedTraceEndsAtTheFirstTTLTheDestinationAnsweredAt() {
        // The first trace lost every probe at TTL 5 that reached the destination and saw it
        // answer at TTL 6; the second saw it at 5.
        let first = Fixture.trace([hop(4, [1, 1]), hop(5, [nil, nil]), hop(6, [2, 2], address: Fixture.target, destination: true)])
        let second = Fixture.trace([hop(4, [1, 1]), hop(5, [2, 2], address: Fixture.target, destination: true)])
        let merged = first.merged(with: second)
        #expect(merged.hops.map(\.ttl) == [4, 5])
        #expect(merged.rounds == first.rounds + second.rounds)
        #expect(merged.stop == .destinationReached)
        #expect(merged.hops.last?.isDestination == true && merged.hops.last?.sent == 4)
    }

    /// The CI failure this exists for: 40 % loss from hop 4, and hop 4 by chance answered all ten
    /// probes of the first trace. Alone it shows no loss that persists; with a second trace's
    /// rounds the diagnosis names hop 4.
    @Test func aFollowUpTraceLocatesLossThatAShortTraceMissed() throws {
        let lossy: [Double?] = [1, nil, 1, 1, nil, 1, nil, 1, 1, nil]
        let clean: [Double?] = Array(repeating: 1, count: 10)
        let first = Fixture.trace((1...3).map { hop($0, clean) } + [hop(4, clean), hop(5, lossy, address: Fixture.target, destination: true)])
        let second = Fixture.trace((1...3).map { hop($0, clean) } + [hop(4, lossy), hop(5, lossy, address: Fixture.target, destination: true)])
        let ping = Fixture.ping(loss: 40)

        let alone = Fixture.analyze([ping], trace: first)
        #expect(alone.diagnosis.first { !$0.informational }?.evidence.first?.hop == 5)

        let report = Fixture.analyze([ping], trace: first.merged(with: second))
        let fault = try #require(report.diagnosis.first { !$0.informational })
        #expect(fault.component == DiagnosisComponent.peeringTransit)
        #expect(fault.evidence.first?.hop == 4, "\(fault.evidence)")
    }
}
