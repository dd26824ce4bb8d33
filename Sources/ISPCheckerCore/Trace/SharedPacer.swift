import Synchronization
import ISPCheckerPrimitives
import ISPCheckerResults

/// One send rate shared by many concurrent senders (the traces of a sweep): every probe
/// reserves the next free slot of `probesPerSecond`, after a first `burst` that may leave at
/// once. A generic cell rate algorithm: the state is the time the next slot is free, so each
/// reservation is one locked read and write, and concurrent senders never get the same slot.
final class SharedPacer: Sendable {
    private let interval: Duration
    /// How far ahead of the slot schedule a probe may leave: the burst.
    private let tolerance: Duration
    private let nextSlot = Locked<ContinuousClock.Instant?>(nil)

    /// - Precondition: `probesPerSecond` ≥ 1 and `burst` ≥ 1 (the options validate both).
    init(probesPerSecond: Int, burst: Int) {
        interval = .seconds(1) / probesPerSecond
        tolerance = interval * (max(1, burst) - 1)
    }

    /// Reserves one slot and returns how long to wait before sending in it (zero: send now).
    func reserve(now: ContinuousClock.Instant) -> Duration {
        nextSlot.withLock { next in
            let slot = max(next ?? now, now)
            next = slot + interval
            let wait = slot - now - tolerance
            return wait > .zero ? wait : .zero
        }
    }

    /// Waits for a slot.
    /// - Throws: `.cancelled` when the task is cancelled while it waits.
    func pace() async throws(ProbeError) {
        let now = ContinuousClock.now
        let slot = now + reserve(now: now)
        // In slices of at most 100 ms, checking for cancellation before each: CI's TSan run once
        // saw a cancellation that came while `Task.sleep` was starting never end a 60 s sleep
        // (SharedPacerTests.aCancelledWaitIsACancelledError, 2026-12-07). A slice bounds how
        // late such a lost wake-up can be; a pacer's waits are milliseconds, one slice.
        while true {
            if Task.isCancelled { throw .cancelled }
            let left = slot - .now
            guard left > .zero else { return }
            do { try await Task.sleep(for: min(left, .milliseconds(100))) } catch { throw .cancelled }
        }
    }
}
