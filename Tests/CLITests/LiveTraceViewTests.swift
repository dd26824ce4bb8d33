import ISPCheckerPrimitives
import ISPCheckerResults
import Testing
@testable import isp_checker

/// What the live trace view draws, from the engine's updates, without a terminal: the columns,
/// the marks the library's analysis gives (where loss starts, which hop limits its ICMP
/// errors), colour only when asked for.
@Suite struct LiveTraceViewTests {
    let destination = IPAddress("192.0.2.4")!

    func hop(_ ttl: Int, sent: Int, received: Int, destination: Bool = false, mpls: [[MPLSLabel]] = []) -> TraceHop {
        TraceHop(ttl: ttl, addresses: received > 0 ? [HopAddress(address: IPAddress("192.0.2.\(ttl)")!, replies: received)] : [],
                 sent: sent, received: received, lossPercent: Double(sent - received) * 100 / Double(sent),
                 lastMilliseconds: received > 0 ? Double(ttl) : nil, avgMilliseconds: received > 0 ? Double(ttl) : nil,
                 bestMilliseconds: received > 0 ? Double(ttl) : nil, worstMilliseconds: received > 0 ? Double(ttl) : nil,
                 stdevMilliseconds: received > 0 ? 0 : nil, mplsStacks: mpls, unreachable: [], isDestination: destination)
    }

    /// Ten rounds: hop 2 silent (it limits its ICMP errors: hop 3 answers all), loss from hop 4 on.
    func lossyModel() -> LiveTraceModel {
        var model = LiveTraceModel(target: "example", address: destination, method: .udp, paris: true, roundLimit: nil, showNames: false)
        _ = model.streamStarted()
        let label = MPLSLabel(label: 16001, trafficClass: 0, bottomOfStack: true, ttl: 1)
        model.apply(.roundFinished(10, hops: [hop(1, sent: 10, received: 10, mpls: [[label]]), hop(2, sent: 10, received: 0),
                                              hop(3, sent: 10, received: 10), hop(4, sent: 10, received: 5),
                                              hop(5, sent: 10, received: 5, destination: true)]))
        return model
    }

    /// The line of hop `ttl` (found without its colour sequences, returned with them).
    func line(_ frame: [String], ttl: Int) -> String? {
        frame.first { $0.replacing(/\u{1B}\[[0-9;]*m/, with: "").split(separator: " ").first == "\(ttl)" }
    }

    @Test func theHopWhereLossStartsIsMarkedAndTheRateLimitingHopToo() throws {
        let frame = LiveTraceView.frame(lossyModel(), rows: 40, columns: 160, style: TextStyle(enabled: false), utf8: false)
        let lossStart = try #require(line(frame, ttl: 4))
        #expect(lossStart.contains(">>") && lossStart.contains("<< loss starts here") && lossStart.contains(" 50.0 "))
        let limited = try #require(line(frame, ttl: 2))
        #expect(limited.contains("RL") && limited.contains("rate-limited"))
        #expect(line(frame, ttl: 3)?.contains(">>") == false && line(frame, ttl: 5)?.contains(">>") == false)
        #expect(frame.contains { $0.contains("[MPLS: Lbl 16001 TC 0 S 1 TTL 1]") })
        #expect(frame.contains { $0.hasPrefix("Verdict: score") })
        #expect(frame.first?.contains("round 10") == true)
        #expect(!frame.joined().contains("\u{1B}"), "no escape sequences without colour")
    }

    @Test func colourHighlightsTheLossStartRow() throws {
        let frame = LiveTraceView.frame(lossyModel(), rows: 40, columns: 160, style: TextStyle(enabled: true), utf8: true)
        #expect(try #require(line(frame, ttl: 4)).contains("\u{1B}[1;37;41m"))
    }

    @Test func hopUpdatesFeedTheHistoryWithAnswersAndLosses() {
        var model = LiveTraceModel(target: "example", address: destination, method: .udp, paris: true, roundLimit: 3, showNames: false)
        let generation = model.streamStarted()
        model.apply(.hop(hop(1, sent: 1, received: 1), round: 1), generation: generation)
        model.apply(.hop(hop(1, sent: 2, received: 1), round: 2), generation: generation)
        model.apply(.hop(hop(1, sent: 3, received: 2), round: 3), generation: generation + 1)  // a stopped stream's: dropped
        #expect(model.history[1]?.count == 2)
        #expect(model.history[1]?.last == .some(nil))
        model.display = .lossHistory
        let frame = LiveTraceView.frame(model, rows: 40, columns: 120, style: TextStyle(enabled: false), utf8: false)
        #expect(line(frame, ttl: 1)?.hasSuffix(".x") == true)
    }

    @Test func aPauseKeepsTheRoundsAndTheNextStreamAddsToThem() {
        var model = lossyModel()
        model.streamStopped()
        _ = model.streamStarted()
        model.apply(.roundFinished(2, hops: [hop(1, sent: 2, received: 2), hop(2, sent: 2, received: 0), hop(3, sent: 2, received: 2),
                                             hop(4, sent: 2, received: 2), hop(5, sent: 2, received: 2, destination: true)]))
        #expect(model.roundsDone == 12)
        #expect(model.result.hops.map(\.sent) == [12, 12, 12, 12, 12])
        #expect(model.result.hops[3].received == 7)
        model.reset()
        #expect(model.roundsDone == 0 && model.result.hops.isEmpty)
    }

    @Test func colourFollowsTheFlagThenNoColor() {
        #expect(ColorChoice.auto.enabled(isTerminal: true, noColor: nil))
        #expect(ColorChoice.auto.enabled(isTerminal: true, noColor: ""))
        #expect(!ColorChoice.auto.enabled(isTerminal: true, noColor: "1"))
        #expect(!ColorChoice.auto.enabled(isTerminal: false, noColor: nil))
        #expect(ColorChoice.always.enabled(isTerminal: false, noColor: "1"))
        #expect(!ColorChoice.never.enabled(isTerminal: true, noColor: nil))
    }

    @Test func theSparklineScalesBetweenTheFastestAndTheSlowestAnswer() {
        #expect(LiveTraceView.sparkline([1.0, nil, 8.0, 4.5], utf8: false) == "_x@+")
        #expect(LiveTraceView.sparkline([nil, nil], utf8: true) == "xx")
    }
}
