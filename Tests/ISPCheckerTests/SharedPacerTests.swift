import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// The send rate a sweep's traces share, with the instants given: no sleeping, no network.
struct SharedPacerTests {
    let start = ContinuousClock.now

    @Test func theBurstLeavesAtOnceAndTheRestOnePerInterval() {
        let pacer = SharedPacer(probesPerSecond: 100, burst: 3)
        let waits = (0..<6).map { _ in pacer.reserve(now: start) }
        #expect(waits == [.zero, .zero, .zero, .milliseconds(10), .milliseconds(20), .milliseconds(30)])
    }

    @Test func idleTimeRefillsTheBurstButNoMore() {
        let pacer = SharedPacer(probesPerSecond: 100, burst: 2)
        for _ in 0..<4 { _ = pacer.reserve(now: start) }
        // A second later the schedule has long passed: two may leave at once again, then 10 ms apart.
        let later = start + .seconds(1)
        #expect((0..<4).map { _ in pacer.reserve(now: later) } == [.zero, .zero, .milliseconds(10), .milliseconds(20)])
    }

    @Test func aSenderArrivingOnScheduleNeverWaits() {
        let pacer = SharedPacer(probesPerSecond: 1_000, burst: 1)
        for probe in 0..<100 {
            #expect(pacer.reserve(now: start + .milliseconds(probe)) == .zero)
        }
        // One that comes early waits for its slot.
        #expect(pacer.reserve(now: start + .microseconds(99_500)) == .microseconds(500))
    }

    /// 200 concurrent senders reserving at the same instant get 200 different slots, one
    /// interval apart: no reservation is lost or handed out twice.
    @Test func concurrentSendersNeverShareASlot() async {
        let pacer = SharedPacer(probesPerSecond: 1_000, burst: 1)
        let now = start
        let waits = await withTaskGroup(of: Duration.self) { group in
            for _ in 0..<200 { group.addTask { pacer.reserve(now: now) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(waits.sorted() == (0..<200).map { Duration.milliseconds($0) })
    }

    @Test func aCancelledWaitIsACancelledError() async {
        let pacer = SharedPacer(probesPerSecond: 1, burst: 1)
        // The next free slot a minute away: however late the task starts (a loaded machine, a
        // sanitizer), it has to wait, and only the cancellation ends that wait.
        for _ in 0..<60 { _ = pacer.reserve(now: .now) }
        let waiter = Task { () async -> ProbeError? in
            do throws(ProbeError) {
                try await pacer.pace()
                return nil
            } catch {
                return error
            }
        }
        waiter.cancel()
        #expect(await waiter.value == .cancelled, "the wait of a minute ends at the cancellation")
    }
}
