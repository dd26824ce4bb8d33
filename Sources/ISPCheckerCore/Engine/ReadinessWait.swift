import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults
#if canImport(Glibc)
import Glibc
#endif

/// The receive loop's wait for its descriptors: epoll, whose cost per turn does not grow with
/// the number of descriptors (poll() asks every socket, the capture and the eventfd every
/// turn, which was a tenth of a slow sweep's CPU time), with poll() as the fallback when epoll
/// cannot be set up. Level-triggered either way: a descriptor left with data is reported again.
///
/// Used only on the engine thread.
struct ReadinessWait: ~Copyable {
    /// The descriptors, in the order their `readiness` entries have.
    private var descriptors: [pollfd]
    private let poller: Int32
    /// A second epoll set holding only the first descriptor (the engine's eventfd), for
    /// `waitForWakeUp`; -1 when it could not be set up (that wait then watches everything).
    private let wakePoller: Int32
    private var tags: [UInt32]
    private var events: [UInt32]
    /// After `wait`, each descriptor's poll()-style event bits (0 when not ready).
    private(set) var readiness: [Int16]

    init(_ fds: [Int32]) {
        descriptors = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        readiness = Array(repeating: 0, count: fds.count)
        tags = Array(repeating: 0, count: 64)
        events = Array(repeating: 0, count: 64)
        poller = Self.openSet(fds[...])
        wakePoller = poller >= 0 && !fds.isEmpty ? Self.openSet(fds.prefix(1)) : -1
    }

    /// An epoll set watching `fds` for input, each tagged with its index; -1 when it cannot
    /// be set up.
    private static func openSet(_ fds: ArraySlice<Int32>) -> Int32 {
        let poller = cp_poller_open()
        guard poller >= 0 else { return -1 }
        for (index, fd) in fds.enumerated() where cp_poller_add(poller, fd, UInt32(index)) != 0 {
            close(poller)
            return -1
        }
        return poller
    }

    deinit {
        if poller >= 0 { close(poller) }
        if wakePoller >= 0 { close(wakePoller) }
    }

    /// Whether descriptor `index` was reported ready by the last `wait`.
    func isReady(_ index: Int) -> Bool { readiness[index] != 0 }

    /// The poll()-style event bits of descriptor `index` from the last `wait`.
    func events(_ index: Int) -> Int16 { readiness[index] }

    /// Waits up to `timeoutMilliseconds`; returns how many descriptors are ready (0 on timeout
    /// or interruption).
    @discardableResult
    mutating func wait(timeoutMilliseconds: Int32) -> Int {
        for index in readiness.indices { readiness[index] = 0 }
        guard poller >= 0 else {
            let count = poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
            for index in descriptors.indices { readiness[index] = descriptors[index].revents }
            return max(0, Int(count))
        }
        let count = cp_poller_wait(poller, timeoutMilliseconds, &tags, &events, Int32(tags.count))
        guard count > 0 else { return 0 }
        for slot in 0..<Int(count) where Int(tags[slot]) < readiness.count {
            readiness[Int(tags[slot])] = Int16(truncatingIfNeeded: events[slot])
        }
        return Int(count)
    }

    /// Sleeps up to `timeoutMilliseconds` watching only the first descriptor (the wake-up),
    /// then reports descriptors `assumedReady` as readable with an error-queue entry, without
    /// asking the kernel (their reads stop at the first EAGAIN), and the wake-up as it was
    /// found. For a loop whose answers carry kernel timestamps, so that reading them late
    /// changes no measurement: what came in meanwhile is read in one turn, instead of a turn
    /// for each packet as it comes in. Without the second epoll set it is a plain `wait`.
    @discardableResult
    mutating func waitForWakeUp(timeoutMilliseconds: Int32, assumedReady: Range<Int>) -> Int {
        guard wakePoller >= 0 else { return wait(timeoutMilliseconds: timeoutMilliseconds) }
        for index in readiness.indices { readiness[index] = 0 }
        let woken = cp_poller_wait(wakePoller, timeoutMilliseconds, &tags, &events, 1)
        if woken > 0 { readiness[0] = Int16(truncatingIfNeeded: events[0]) }
        for index in assumedReady where index < readiness.count { readiness[index] = Int16(POLLIN | POLLERR) }
        return readiness.count { $0 != 0 }
    }
}
