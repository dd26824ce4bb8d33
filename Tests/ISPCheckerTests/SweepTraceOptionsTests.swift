import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// What a sweep of traces accepts, and how its per-target summary reads a trace, without any network.
struct SweepTraceOptionsTests {
    @Test func theDefaultRuns64TracesAtOnceAndIsValid() throws {
        #expect(SweepTraceOptions.default.maxConcurrentTraces == 64)
        #expect(SweepTraceOptions.default.trace == .default)
        try SweepTraceOptions.default.validate()
    }

    @Test(arguments: [1, 64, SweepTraceOptions.maximumConcurrentTraces])
    func concurrencyInsideTheRangeIsAccepted(_ concurrency: Int) throws {
        try SweepTraceOptions(maxConcurrentTraces: concurrency).validate()
    }

    @Test(arguments: [0, -1, SweepTraceOptions.maximumConcurrentTraces + 1])
    func concurrencyOutsideTheRangeIsAnInvalidArgument(_ concurrency: Int) {
        #expect(throws: ProbeError.invalidArgument(
            name: "trace concurrency",
            reason: "must be between 1 and \(SweepTraceOptions.maximumConcurrentTraces) traces at once, got \(concurrency)")) {
            try SweepTraceOptions(maxConcurrentTraces: concurrency).validate()
        }
    }

    @Test(arguments: [1, 500, SweepTraceOptions.maximumProbesPerSecond])
    func aSweepWideRateInsideTheRangeIsAccepted(_ rate: Int) throws {
        try SweepTraceOptions(probesPerSecond: rate).validate()
        #expect(SweepTraceOptions.default.probesPerSecond == nil, "no sweep-wide limit unless asked")
    }

    @Test(arguments: [0, -5, SweepTraceOptions.maximumProbesPerSecond + 1])
    func aSweepWideRateOutsideTheRangeIsAnInvalidArgument(_ rate: Int) {
        #expect(throws: ProbeError.invalidArgument(
            name: "trace rate",
            reason: "must be between 1 and \(SweepTraceOptions.maximumProbesPerSecond) probes per second, got \(rate)")) {
            try SweepTraceOptions(probesPerSecond: rate).validate()
        }
    }

    @Test func theTraceOptionsAreValidatedToo() {
        #expect(throws: ProbeError.invalidArgument(name: "max hops", reason: "must be between 1 and 64, got 0")) {
            try SweepTraceOptions(trace: TraceOptions(maxHops: 0)).validate()
        }
    }

    /// Concurrent traces never share a probe id: the most probes the largest sweep of traces has
    /// in flight fits the 16-bit id space of one family and method (UDP's is the smallest).
    @Test func theLargestConcurrencyFitsTheProbeIDSpace() {
        let mostProbesInFlight = SweepTraceOptions.maximumConcurrentTraces * 64
        #expect(mostProbesInFlight < 0xfffd)
    }

    func hop(_ ttl: Int, answered: Bool, destination: Bool = false) -> TraceHop {
        var statistics = HopStatistics(ttl: ttl)
        statistics.recordSent()
        if answered {
            statistics.record(from: IPAddress("10.99.\(ttl).2")!, rttNanoseconds: 1_000_000, clock: .pcap,
                              mpls: [], unreachableCode: nil, isDestination: destination)
        }
        return statistics.snapshot
    }

    func trace(_ hops: [TraceHop], stop: TraceStop) -> TraceResult {
        TraceResult(target: "10.77.128.1", address: IPAddress("10.77.128.1")!, method: .udp, paris: true, rounds: 1,
                    hops: hops, stop: stop, durationMilliseconds: 1)
    }

    @Test func aTraceThatReachesItsDestinationHasNoPersistentLoss() {
        let reached = trace([hop(1, answered: true), hop(2, answered: false), hop(3, answered: true, destination: true)], stop: .destinationReached)
        #expect(reached.persistentLossStartTTL() == nil)
    }

    @Test func lossStartsWhereThePathGoesDarkForGood() {
        let dark = trace([hop(1, answered: true), hop(2, answered: false), hop(3, answered: true), hop(4, answered: false), hop(5, answered: false)],
                         stop: .maxHopsReached)
        #expect(dark.persistentLossStartTTL() == 4)
    }
}
