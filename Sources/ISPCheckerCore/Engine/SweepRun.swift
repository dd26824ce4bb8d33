import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

/// What one sweep asks of the engine thread; handed over through `EngineCore`'s command queue.
struct SweepRequest: Sendable {
    let id: UInt32
    let addresses: [IPAddress]
    let options: SweepOptions
    let sink: SweepSink
}

/// Where a sweep's results go: a stream of single results or of one batch per loop turn.
enum SweepSink: Sendable {
    case results(AsyncThrowingStream<SweepResult, any Error>.Continuation)
    case batches(AsyncThrowingStream<[SweepResult], any Error>.Continuation)

    func deliver(_ batch: [SweepResult]) {
        switch self {
        case .results(let continuation): for result in batch { continuation.yield(result) }
        case .batches(let continuation): continuation.yield(batch)
        }
    }

    func finish(throwing error: ProbeError? = nil) {
        switch self {
        case .results(let continuation): continuation.finish(throwing: error)
        case .batches(let continuation): continuation.finish(throwing: error)
        }
    }
}

/// Commands for the engine thread's sweep scheduler.
enum SweepCommand: Sendable {
    case start(SweepRequest)
    /// The consumer stopped listening: free the sweep's state at once.
    case cancel(UInt32)
}

/// The bookkeeping of one sweep probe, in a flat ring indexed by send order.
struct SweepProbe {
    enum State: UInt8 { case free, inFlight, replied, done }
    /// The probe's number in send order (target = n % targets, round = n / targets); -1 unused.
    var sendIndex = -1
    var state = State.free
    var sequence: UInt16 = 0
    var ttl: Int16 = -1
    var token: UInt64 = 0
    /// CLOCK_MONOTONIC deadline of the reply.
    var deadlineNanoseconds: Int64 = 0
    // CLOCK_REALTIME timestamps, 0 when absent.
    var userSendNanoseconds: Int64 = 0
    var captureSendNanoseconds: Int64 = 0
    var captureReceiveNanoseconds: Int64 = 0
    var kernelSendNanoseconds: Int64 = 0
    var kernelReceiveNanoseconds: Int64 = 0
    var userReceiveNanoseconds: Int64 = 0

    var hasCapture: Bool { captureSendNanoseconds != 0 && captureReceiveNanoseconds != 0 }

    /// The best clock the timestamps allow, the same order as `PendingEcho`'s.
    var rtt: (nanoseconds: Int64, clock: ClockSource) {
        if hasCapture, captureReceiveNanoseconds >= captureSendNanoseconds {
            return (captureReceiveNanoseconds - captureSendNanoseconds, .pcap)
        }
        if kernelSendNanoseconds != 0, kernelReceiveNanoseconds >= kernelSendNanoseconds {
            return (kernelReceiveNanoseconds - kernelSendNanoseconds, .kernelSocket)
        }
        if kernelReceiveNanoseconds != 0, kernelReceiveNanoseconds >= userSendNanoseconds {
            return (kernelReceiveNanoseconds - userSendNanoseconds, .kernelReceive)
        }
        return (max(0, userReceiveNanoseconds - userSendNanoseconds), .userspace)
    }
}

/// The engine-thread state of one sweep. Created, used and freed on that thread only.
///
/// Every probe of a sweep has the same timeout, so deadlines fall in send order: the ring of
/// in-flight probes, oldest first, is also the timer queue, and expiring is O(1) per probe
/// (look at the head, pop while its deadline has passed). Replies that still wait for their
/// capture timestamps sit in a second FIFO, ordered the same way by their grace deadline.
final class SweepRun {
    let id: UInt32
    let addresses: [IPAddress]
    let targets: UnsafeMutableBufferPointer<cp_addr>
    let probesPerTarget: Int
    let totalProbes: Int
    let nanosecondsPerPacket: Double
    let timeoutNanoseconds: Int64
    let payloadSize: Int
    let sink: SweepSink
    let startNanoseconds: Int64

    /// Probes sent so far (the send index of the next one).
    var nextProbe = 0
    /// The oldest probe not yet done.
    var head = 0
    let capacity: Int
    let ring: UnsafeMutableBufferPointer<SweepProbe>
    /// Send indices of replied probes waiting for capture timestamps, in grace-deadline order.
    private let graceQueue: UnsafeMutableBufferPointer<Int>
    private var graceHead = 0
    private var graceTail = 0
    private var graceDeadlines: UnsafeMutableBufferPointer<Int64>

    /// Per target × probe: RTT in ns, -1 lost, -2 refused by the kernel.
    let outcomes: UnsafeMutableBufferPointer<Int64>
    let clocks: UnsafeMutableBufferPointer<UInt8>
    /// Probes of each target not yet completed.
    let remaining: UnsafeMutableBufferPointer<Int32>
    var sendErrors: [Int: Int32] = [:]
    var completedTargets = 0
    var ready: [SweepResult] = []
    /// When the oldest result in `ready` was completed (monotonic ns).
    var readySinceNanoseconds: Int64 = 0
    private var tokenState: UInt64

    init(_ request: SweepRequest, nowNanoseconds: Int64) {
        id = request.id
        addresses = request.addresses
        targets = .allocate(capacity: addresses.count)
        for (index, address) in addresses.enumerated() { targets[index] = address.raw }
        probesPerTarget = request.options.probesPerTarget
        totalProbes = addresses.count * probesPerTarget
        nanosecondsPerPacket = 1e9 / Double(request.options.packetsPerSecond)
        timeoutNanoseconds = Int64(request.options.timeout.components.seconds) * 1_000_000_000 + request.options.timeout.components.attoseconds / 1_000_000_000
        payloadSize = request.options.payloadSize
        sink = request.sink
        startNanoseconds = nowNanoseconds
        capacity = min(request.options.maxInFlight, totalProbes)
        ring = .allocate(capacity: capacity)
        ring.initialize(repeating: SweepProbe())
        graceQueue = .allocate(capacity: capacity)
        graceQueue.initialize(repeating: 0)
        graceDeadlines = .allocate(capacity: capacity)
        graceDeadlines.initialize(repeating: 0)
        outcomes = .allocate(capacity: totalProbes)
        outcomes.initialize(repeating: -1)
        clocks = .allocate(capacity: totalProbes)
        clocks.initialize(repeating: 0)
        remaining = .allocate(capacity: addresses.count)
        remaining.initialize(repeating: Int32(probesPerTarget))
        tokenState = UInt64.random(in: 0...UInt64.max)
    }

    deinit {
        targets.deallocate()
        ring.deallocate()
        graceQueue.deallocate()
        graceDeadlines.deallocate()
        outcomes.deallocate()
        clocks.deallocate()
        remaining.deallocate()
    }

    var isFinished: Bool { completedTargets == addresses.count }
    var hasUnsent: Bool { nextProbe < totalProbes }
    var ringFull: Bool { nextProbe - head >= capacity }

    /// When probe `nextProbe` is due, CLOCK_MONOTONIC ns.
    var nextDueNanoseconds: Int64 { dueNanoseconds(of: nextProbe) }

    /// When probe `sendIndex` is due, CLOCK_MONOTONIC ns.
    func dueNanoseconds(of sendIndex: Int) -> Int64 { startNanoseconds + Int64(Double(sendIndex) * nanosecondsPerPacket) }

    /// A fresh unguessable token (SplitMix64 over a random seed: one getrandom per sweep, not per probe).
    func nextToken() -> UInt64 {
        tokenState &+= 0x9E37_79B9_7F4A_7C15
        var z = tokenState
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) | 1
    }

    func target(of sendIndex: Int) -> Int { sendIndex % addresses.count }

    /// Records the outcome of probe `sendIndex` and queues the target's result once it is complete.
    func complete(_ sendIndex: Int, rttNanoseconds: Int64, clock: ClockSource?) {
        let target = sendIndex % addresses.count
        let round = sendIndex / addresses.count
        let slot = target * probesPerTarget + round
        outcomes[slot] = rttNanoseconds
        if let clock { clocks[slot] = Self.code(clock) }
        remaining[target] -= 1
        if remaining[target] == 0 { finish(target) }
    }

    private func finish(_ target: Int) {
        completedTargets += 1
        var rtts: [Int64?] = []
        rtts.reserveCapacity(probesPerTarget)
        var weakest: ClockSource?
        var refused = 0
        for round in 0..<probesPerTarget {
            let value = outcomes[target * probesPerTarget + round]
            rtts.append(value >= 0 ? value : nil)
            if value == -2 { refused += 1 }
            if value >= 0, let clock = Self.clock(clocks[target * probesPerTarget + round]) {
                weakest = weakest.map { max($0, clock) } ?? clock
            }
        }
        let error = sendErrors.isEmpty ? nil : sendErrors[target].map { ProbeError.describe(errno: $0) }
        if ready.isEmpty { readySinceNanoseconds = cp_monotonic_ns() }
        ready.append(SweepResult(index: target, address: addresses[target], rtts: rtts, clock: weakest, sendFailures: refused, error: error))
    }

    /// Queues a replied probe until `deadline`. When the queue is full (entries of probes that
    /// completed meanwhile stay until their deadline), the oldest entry is handed to `evict` first.
    func enqueueGrace(_ sendIndex: Int, deadline: Int64, evict: (Int) -> Void) {
        if graceTail - graceHead == capacity {
            let oldest = graceQueue[graceHead % capacity]
            graceHead += 1
            evict(oldest)
        }
        graceQueue[graceTail % capacity] = sendIndex
        graceDeadlines[graceTail % capacity] = deadline
        graceTail += 1
    }

    /// Pops the replied probes whose capture grace has passed (send indices).
    func popExpiredGrace(now: Int64, _ body: (Int) -> Void) {
        while graceHead < graceTail, graceDeadlines[graceHead % capacity] <= now {
            let index = graceQueue[graceHead % capacity]
            graceHead += 1
            body(index)
        }
    }

    private static func code(_ clock: ClockSource) -> UInt8 {
        switch clock {
        case .pcap: 1
        case .kernelSocket: 2
        case .kernelReceive: 3
        case .userspace: 4
        }
    }

    private static func clock(_ code: UInt8) -> ClockSource? {
        switch code {
        case 1: .pcap
        case 2: .kernelSocket
        case 3: .kernelReceive
        case 4: .userspace
        default: nil
        }
    }
}
