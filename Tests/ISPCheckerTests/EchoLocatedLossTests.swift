import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// Where loss starts, from the echo requests the health check sends to each hop
/// (`PathAnalysis.echoLocatedLoss`), and what the diagnosis makes of it when the trace's own
/// answers are thinned out by routers' ICMP error limits.
@Suite struct EchoLocatedLossTests {
    typealias C = DiagnosisComponent

    /// Hops 1…5 (the destination at 5), `traceLoss` percent of trace answers missing at each hop
    /// and `echoLost[ttl]` of 100 echoes to the hop's address lost.
    func path(traceLoss: [Int: Double] = [:], echoLost: [Int: Int]) -> TraceResult {
        var trace = Fixture.trace((1...5).map { ttl in
            Fixture.hop(ttl, ms: Double(ttl) * 0.5, loss: traceLoss[ttl] ?? 0, destination: ttl == 5)
        })
        for index in trace.hops.indices {
            trace.hops[index].echoSent = 100
            trace.hops[index].echoReceived = 100 - (echoLost[trace.hops[index].ttl] ?? 0)
        }
        return trace
    }

    func start(_ trace: TraceResult) -> Int? {
        PathAnalysis.echoLocatedLoss(trace.hops).map { trace.hops[$0.index].ttl }
    }

    @Test func noEchoesNoLocation() {
        let trace = Fixture.trace((1...5).map { Fixture.hop($0, ms: 1, loss: 0, destination: $0 == 5) })
        #expect(PathAnalysis.echoLocatedLoss(trace.hops) == nil)
    }

    @Test func echoesWithoutLossLocateNothing() {
        #expect(start(path(echoLost: [:])) == nil)
        // Two lost echoes in 500 are background, not a fault.
        #expect(start(path(echoLost: [3: 1, 5: 1])) == nil)
    }

    @Test(arguments: [2, 3, 4, 5])
    func twentyPercentFromHopNStartsAtN(_ hop: Int) {
        let lost = Dictionary(uniqueKeysWithValues: (hop...5).map { ($0, 20) })
        #expect(start(path(echoLost: lost)) == hop)
    }

    @Test func fivePercentFromHop2IsToldFromHop1() {
        // 5 % at each hop from 2 on, none of hop 1's 100 echoes lost.
        #expect(start(path(echoLost: [2: 4, 3: 6, 4: 5, 5: 5])) == 2)
    }

    @Test func fourPercentAtTheLastHopOnlyIsFound() {
        // 4 of the destination's 100 echoes lost, none before: under 1 % of all 500 echoes.
        #expect(start(path(echoLost: [5: 4])) == 5)
    }

    @Test func lossAtEveryHopStartsAtTheGateway() {
        #expect(start(path(echoLost: [1: 19, 2: 22, 3: 18, 4: 21, 5: 20])) == 1)
    }

    @Test func aRateLimitedHopBeforeTheLossIsANoteAndTheLossIsAtItsHop() throws {
        // Hop 3 answers half of the trace's probes (it limits its errors), loss starts at hop 4;
        // the trace alone would put the start of loss at hop 3.
        let trace = path(traceLoss: [3: 50, 4: 25, 5: 25], echoLost: [4: 25, 5: 24])
        let report = Fixture.analyze([Fixture.ping(loss: 25)], trace: trace)
        let first = try #require(report.faults.first)
        #expect(first.component == C.peeringTransit)
        #expect(first.hop == 4)
        #expect(first.evidence.map(\.detail) == ["echo requests to each hop: 25 % lost from hop 4 on, 24 % at the last hop",
                                                  "25 % packet loss to \(Fixture.target)",
                                                  "hop 3 before it: 0 % of its echo requests lost"])
        #expect(report.notes.map(\.hop) == [3])
    }

    @Test func rateLimitingEverywhereWithoutEchoLossIsNoFault() {
        // Every hop lost trace answers to its ICMP limit, ping and the echoes lost nothing.
        let trace = path(traceLoss: [1: 40, 2: 40, 3: 40, 4: 40, 5: 40], echoLost: [:])
        let report = Fixture.analyze([Fixture.ping(loss: 0)], trace: trace)
        #expect(report.faults.isEmpty)
    }

    @Test func echoLossConfirmsLossThatTenPingsMissed() throws {
        let trace = path(echoLost: [4: 6, 5: 5])
        let report = Fixture.analyze([Fixture.ping(loss: 0)], trace: trace)
        let first = try #require(report.faults.first)
        #expect(first.component == C.peeringTransit)
        #expect(first.hop == 4)
    }
}

@Suite struct PathLengthMemoryTests {
    @Test func replyTTLGivesTheDistanceFromTheUsualInitialTTLs() {
        #expect(PathLengthMemory.estimate(replyTTL: 60) == 5)   // Linux, 4 routers on the way back
        #expect(PathLengthMemory.estimate(replyTTL: 64) == 1)
        #expect(PathLengthMemory.estimate(replyTTL: 120) == 9)  // Windows
        #expect(PathLengthMemory.estimate(replyTTL: 250) == 6)  // a router
        #expect(PathLengthMemory.estimate(replyTTL: 0) == nil)
        #expect(PathLengthMemory.estimate(replyTTL: 256) == nil)
    }

    @Test func aMeasuredDistanceWinsOverAnEstimate() throws {
        var memory = PathLengthMemory()
        let address = try #require(IPAddress("192.0.2.7"))
        #expect(memory.hint(for: address) == nil)
        memory.noteReplyTTL(address, replyTTL: 58)
        #expect(memory.hint(for: address) == 7)
        memory.noteReached(address, atTTL: 6)
        #expect(memory.hint(for: address) == 6)
        memory.noteReplyTTL(address, replyTTL: 60)
        #expect(memory.hint(for: address) == 6)
    }

    @Test func itForgetsTheOldestHalfWhenFull() throws {
        var memory = PathLengthMemory()
        for index in 0..<PathLengthMemory.capacity {
            memory.noteReached(try #require(IPAddress("10.0.\(index / 256).\(index % 256)")), atTTL: 3)
        }
        memory.noteReached(try #require(IPAddress("192.0.2.1")), atTTL: 4)
        #expect(memory.hint(for: try #require(IPAddress("10.0.0.0"))) == nil)
        #expect(memory.hint(for: try #require(IPAddress("10.0.15.255"))) == 3)
        #expect(memory.hint(for: try #require(IPAddress("192.0.2.1"))) == 4)
    }
}
