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
    private var tags: [UInt32]
    private var events: [UInt32]
    /// After `wait`, each descriptor's poll()-style event bits (0 when not ready).
    private(set) var readiness: [Int16]

    init(_ fds: [Int32]) {
        descriptors = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        readiness = Array(repeating: 0, count: fds.count)
        tags = Array(repeating: 0, count: 64)
        events = Array(repeating: 0, count: 64)
        var poller = cp_poller_open()
        if poller >= 0 {
            for (index, fd) in fds.enumerated() where cp_poller_add(poller, fd, UInt32(index)) != 0 {
                close(poller)
                poller = -1
                break
            }
        }
        self.poller = poller
    }

    deinit {
        if poller >= 0 { close(poller) }
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
}
