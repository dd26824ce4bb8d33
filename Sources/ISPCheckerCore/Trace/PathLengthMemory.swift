import ISPCheckerPrimitives
import ISPCheckerResults

/// How far away each recently traced or pinged destination is, so that a trace can probe just
/// the TTLs up to it at once: every probe past the destination reaches the destination and
/// spends one of the port unreachables (or time-exceeded messages of the last router) that
/// its kernel's ICMP rate limit allows (Linux: a burst of 6, then 1 a second per source).
struct PathLengthMemory: ~Copyable {
    /// Destinations remembered at most; the oldest half is forgotten when it fills.
    static let capacity = 4096

    private struct Entry {
        /// The TTL at which a trace reached the destination.
        var measured: Int?
        /// The TTL the destination's echo reply suggests (`estimate(replyTTL:)`).
        var estimated: Int?
        var order: UInt64
    }

    private var entries: [IPAddress: Entry] = [:]
    private var clock: UInt64 = 0

    /// The TTL at which `destination` is expected: what a trace measured, else the estimate.
    func hint(for destination: IPAddress) -> Int? {
        entries[destination].flatMap { $0.measured ?? $0.estimated }
    }

    /// The distances traces measured (not the estimates).
    var measuredDistances: [IPAddress: Int] {
        entries.compactMapValues(\.measured)
    }

    /// Takes distances measured earlier (another process's traces) as measured here.
    mutating func seed(_ distances: [IPAddress: Int]) {
        for (destination, ttl) in distances where (1...255).contains(ttl) && entries[destination]?.measured == nil {
            noteReached(destination, atTTL: ttl)
        }
    }

    mutating func noteReached(_ destination: IPAddress, atTTL ttl: Int) {
        update(destination) { $0.measured = ttl }
    }

    mutating func noteReplyTTL(_ destination: IPAddress, replyTTL: Int) {
        guard let ttl = Self.estimate(replyTTL: replyTTL) else { return }
        update(destination) { $0.estimated = ttl }
    }

    /// The TTL a probe needs to reach a host whose answer arrived with `replyTTL` left: hosts
    /// start at 64 (Linux, BSD, macOS), 128 (Windows) or 255 (routers, some appliances), and
    /// the return path is usually as long as the way there.
    static func estimate(replyTTL: Int) -> Int? {
        guard replyTTL >= 1 && replyTTL <= 255 else { return nil }
        let initial = replyTTL <= 64 ? 64 : replyTTL <= 128 ? 128 : 255
        return initial - replyTTL + 1
    }

    private mutating func update(_ destination: IPAddress, _ change: (inout Entry) -> Void) {
        clock &+= 1
        if entries[destination] == nil && entries.count >= Self.capacity {
            let cut = entries.values.map(\.order).sorted()[entries.count / 2]
            entries = entries.filter { $0.value.order >= cut }
        }
        var entry = entries[destination] ?? Entry(order: clock)
        change(&entry)
        entry.order = clock
        entries[destination] = entry
    }
}
