import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// Runs every sweep of an engine, on the engine thread: sends their probes on schedule through
/// the engine's raw ICMP sockets, matches replies, capture copies and send timestamps to them,
/// times them out and hands finished targets to each sweep's stream in batches.
///
/// Sweeps use an echo identifier of their own, so their sequence numbers never meet ping's.
/// A flat table per family maps each of the 65,536 sequence numbers to the (sweep, probe) that
/// holds it; a reply counts only when identifier, sequence, 64-bit token and the address it
/// came from all match that probe. It is created on the engine thread and never leaves it.
final class SweepScheduler {
    private let core: EngineCore
    let identifier: UInt16?
    private var runs: [SweepRun] = []
    /// Per family (0 = IPv4, 1 = IPv6): sequence → run id << 32 | send index, 0 when free.
    private var slots: [UnsafeMutableBufferPointer<UInt64>?] = [nil, nil]
    private var cursor: [UInt16] = [UInt16.random(in: 0...UInt16.max), UInt16.random(in: 0...UInt16.max)]
    private var inFlight = [0, 0]
    private var peakInFlight = 0
    private let sockets: [ICMPSocket?]
    private let outgoing = OutgoingBatch()
    private let graceNanoseconds: Int64
    private let untimedSends: Bool
    /// At most this many sends per sweep before the loop reads replies again.
    static let batchLimit = 256
    /// How long a completed result may wait for others to be delivered with it.
    static let deliveryDelayNanoseconds: Int64 = 100_000_000

    init(core: EngineCore) {
        self.core = core
        identifier = core.sweepIdentifier
        sockets = [core.sockets[.ipv4], core.sockets[.ipv6]].map { $0?.kind == .raw ? $0 : nil }
        let grace = core.captureGrace.components
        untimedSends = core.captureActive
        graceNanoseconds = grace.seconds * 1_000_000_000 + grace.attoseconds / 1_000_000_000
    }

    deinit {
        for table in slots { table?.deallocate() }
    }

    var isIdle: Bool { runs.isEmpty }

    // MARK: - Commands

    func handle(_ commands: [SweepCommand]) {
        for command in commands {
            switch command {
            case .start(let request):
                for address in request.addresses { ensureTable(address.family == .ipv4 ? 0 : 1) }
                runs.append(SweepRun(request, nowNanoseconds: cp_monotonic_ns()))
            case .cancel(let id):
                guard let index = runs.firstIndex(where: { $0.id == id }) else { continue }
                release(runs[index])
                runs.remove(at: index)
                publishCounts()
            }
        }
    }

    /// Ends every sweep with `engineShutDown` (the engine thread is stopping).
    func shutDown() {
        for run in runs {
            release(run)
            run.sink.finish(throwing: .engineShutDown)
        }
        runs.removeAll()
        publishCounts()
    }

    private func ensureTable(_ family: Int) {
        guard slots[family] == nil else { return }
        let table = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: 65_536)
        table.initialize(repeating: 0)
        slots[family] = table
    }

    /// Frees the sequence numbers a sweep still holds.
    private func release(_ run: SweepRun) {
        for index in run.head..<run.nextProbe {
            let probe = run.ring[index % run.capacity]
            guard probe.sendIndex == index, probe.state == .inFlight || probe.state == .replied else { continue }
            let family = familyIndex(run, index)
            slots[family]?[Int(probe.sequence)] = 0
            inFlight[family] -= 1
        }
    }

    // MARK: - Sending

    /// How long the loop may sleep in `poll` before a sweep has a probe due (ms, 0 ... 5).
    func pollTimeoutMilliseconds(now: Int64) -> Int32 {
        guard !runs.isEmpty else { return 5 }
        var wait: Int64 = 5_000_000
        for run in runs where run.hasUnsent && !run.ringFull {
            wait = min(wait, max(0, run.nextDueNanoseconds - now))
        }
        return Int32((wait + 999_999) / 1_000_000)
    }

    /// Whether a sweep has a probe to send as soon as it is due (not held back by its limit
    /// of probes in flight).
    var hasSendWaiting: Bool {
        runs.contains { $0.hasUnsent && !$0.ringFull }
    }

    /// Sends the probes that are due, at most `batchLimit` per sweep and turn, up to
    /// `CP_BATCH_MAX` of one family with each `sendmmsg`.
    func sendDue(now: Int64) {
        guard let identifier else { return }
        for run in runs {
            var sentThisTurn = 0
            while sentThisTurn < Self.batchLimit {
                let (staged, family) = stage(run, identifier: identifier, now: now, limit: Self.batchLimit - sentThisTurn)
                guard staged > 0 else { break }
                var sentAt: Int64 = 0
                // With a capture the send timestamp comes from it: asking the socket for one
                // too would cost a clone of every packet and a recvmsg to drain it.
                let result = Int(cp_send_batch(sockets[family]!.descriptor, outgoing.items.baseAddress, staged, untimedSends ? 0 : 1, &sentAt))
                let taken = max(0, result)
                for slot in 0..<taken { commit(run, outgoing, slot, family: family, sentAt: sentAt, now: now) }
                // What the kernel did not take gives its sequence number back; the next batch
                // starts with it.
                for slot in taken..<staged { slots[family]![Int(outgoing.sequences[slot])] = 0 }
                sentThisTurn += taken
                if result >= 0 { continue }
                // A full send buffer: try these probes again next time round.
                if result == -Int(EAGAIN) || result == -Int(ENOBUFS) { break }
                // Any other error belongs to the first probe of the batch alone.
                let index = run.nextProbe
                run.ring[index % run.capacity] = SweepProbe(sendIndex: index, state: .done)
                run.nextProbe += 1
                run.sendErrors[run.target(of: index)] = Int32(-result)
                run.complete(index, rttNanoseconds: -2, clock: nil)
                sentThisTurn += 1
            }
        }
        peakInFlight = max(peakInFlight, inFlight[0] + inFlight[1])
    }

    /// Builds the next due probes of `run` into `outgoing`, all of the family of the first,
    /// each holding a sequence number from here on; returns how many, and their family.
    private func stage(_ run: SweepRun, identifier: UInt16, now: Int64, limit: Int) -> (count: Int, family: Int) {
        guard run.hasUnsent, !run.ringFull, run.nextDueNanoseconds <= now else { return (0, 0) }
        let family = familyIndex(run, run.nextProbe)
        guard let socket = sockets[family] else { return (0, family) }
        let limit = min(limit, outgoing.capacity)
        var staged = 0
        while staged < limit {
            let index = run.nextProbe + staged
            guard index < run.totalProbes, index - run.head < run.capacity,
                  run.dueNanoseconds(of: index) <= now, familyIndex(run, index) == family,
                  inFlight[family] + staged < 65_536, let sequence = allocateSequence(family) else { break }
            let token = run.nextToken()
            let packet = outgoing.packet(staged)
            var length = 0
            _ = cp_echo_build(socket.family.posixValue, identifier, sequence, token, run.payloadSize, packet, OutgoingBatch.packetCapacity, &length)
            slots[family]![Int(sequence)] = UInt64(run.id) << 32 | UInt64(UInt32(truncatingIfNeeded: index))
            outgoing.items[staged] = cp_send_item(buf: packet, len: length, dst: run.targets[run.target(of: index)])
            outgoing.sequences[staged] = sequence
            outgoing.tokens[staged] = token
            staged += 1
        }
        return (staged, family)
    }

    /// Probe `run.nextProbe`, staged in `slot` of `batch`, left: it is in flight now.
    private func commit(_ run: SweepRun, _ batch: OutgoingBatch, _ slot: Int, family: Int, sentAt: Int64, now: Int64) {
        let index = run.nextProbe
        run.nextProbe += 1
        inFlight[family] += 1
        run.ring[index % run.capacity] = SweepProbe(
            sendIndex: index, state: .inFlight, sequence: batch.sequences[slot], token: batch.tokens[slot],
            deadlineNanoseconds: now + run.timeoutNanoseconds, userSendNanoseconds: sentAt)
    }

    /// A sequence number of `family` no sweep probe holds (the caller checked one is free).
    private func allocateSequence(_ family: Int) -> UInt16? {
        guard let table = slots[family] else { return nil }
        var candidate = cursor[family]
        for _ in 0..<65_536 {
            candidate &+= 1
            if table[Int(candidate)] == 0 {
                cursor[family] = candidate
                return candidate
            }
        }
        return nil
    }

    // MARK: - Completion

    /// Times out probes past their deadline, completes replies whose capture grace has passed,
    /// and ends the sweeps that have every target done.
    func expire(now: Int64) {
        guard !runs.isEmpty else { return }
        for run in runs {
            run.popExpiredGrace(now: now) { index in completeReplied(run, index) }
            scan: while run.head < run.nextProbe {
                let position = run.head % run.capacity
                switch run.ring[position].state {
                case .done, .free:
                    run.head += 1
                case .replied:
                    // Waits at most the capture grace; the probes behind it time out then.
                    break scan
                case .inFlight:
                    guard run.ring[position].deadlineNanoseconds <= now else { break scan }
                    finishProbe(run, position, rttNanoseconds: -1, clock: nil)
                    run.head += 1
                }
            }
        }
    }

    /// Delivers the finished targets of every sweep, and ends the sweeps that are done.
    func flush(now: Int64) {
        guard !runs.isEmpty else { return }
        var finished = false
        for run in runs {
            // Results wait up to `deliveryDelayNanoseconds` (100 ms) to go out together: at a low rate
            // each would otherwise wake the consumer's thread on its own, and those wake-ups
            // were most of a slow sweep's CPU time.
            let due = run.ready.count >= Self.batchLimit || run.isFinished
                || now - run.readySinceNanoseconds >= Self.deliveryDelayNanoseconds
            if !run.ready.isEmpty && due {
                run.sink.deliver(run.ready)
                run.ready.removeAll(keepingCapacity: true)
            }
            if run.isFinished {
                run.sink.finish()
                finished = true
            }
        }
        if finished { runs.removeAll { $0.isFinished } }
        publishCounts()
    }

    private func publishCounts() {
        core.sweepInFlight.store(inFlight[0] + inFlight[1], ordering: .relaxed)
        core.sweepPeakInFlight.store(peakInFlight, ordering: .relaxed)
    }

    private func completeReplied(_ run: SweepRun, _ index: Int) {
        let position = index % run.capacity
        guard run.ring[position].sendIndex == index, run.ring[position].state == .replied else { return }
        let rtt = run.ring[position].rtt
        finishProbe(run, position, rttNanoseconds: rtt.nanoseconds, clock: rtt.clock)
    }

    private func finishProbe(_ run: SweepRun, _ position: Int, rttNanoseconds: Int64, clock: ClockSource?) {
        let index = run.ring[position].sendIndex
        let family = familyIndex(run, index)
        slots[family]?[Int(run.ring[position].sequence)] = 0
        inFlight[family] -= 1
        run.ring[position].state = .done
        run.complete(index, rttNanoseconds: rttNanoseconds, clock: clock)
    }

    // MARK: - Matching

    /// The live probe holding `sequence` with `token`, as (run, ring position).
    private func lookup(_ family: Int, _ sequence: UInt16, _ token: UInt64) -> (SweepRun, Int)? {
        guard let table = slots[family] else { return nil }
        let entry = table[Int(sequence)]
        guard entry != 0 else { return nil }
        let id = UInt32(truncatingIfNeeded: entry >> 32)
        let index = Int(UInt32(truncatingIfNeeded: entry))
        guard let run = runs.first(where: { $0.id == id }) else { return nil }
        let position = index % run.capacity
        let probe = run.ring[position]
        guard probe.sendIndex == index, probe.sequence == sequence, probe.token == token,
              probe.state == .inFlight || probe.state == .replied else { return nil }
        return (run, position)
    }

    /// An echo reply read from a raw socket with the sweep identifier.
    func reply(_ info: cp_echo_info, meta: cp_recv_meta, family: IPFamily) {
        let familyIndex = family == .ipv4 ? 0 : 1
        guard info.type == UInt8(family == .ipv4 ? CP_ICMP4_ECHO_REPLY : CP_ICMP6_ECHO_REPLY),
              let (run, position) = lookup(familyIndex, info.seq, info.token),
              run.ring[position].state == .inFlight else { return }
        var from = meta.from
        guard Self.same(&from, run.targets.baseAddress! + run.target(of: run.ring[position].sendIndex)) else { return }
        run.ring[position].kernelReceiveNanoseconds = max(0, meta.kernel_ts_ns)
        run.ring[position].userReceiveNanoseconds = meta.user_ts_ns
        run.ring[position].ttl = Int16(meta.ttl >= 0 ? meta.ttl : Int32(info.ttl))
        if !core.captureActive || run.ring[position].hasCapture {
            let rtt = run.ring[position].rtt
            finishProbe(run, position, rttNanoseconds: rtt.nanoseconds, clock: rtt.clock)
            return
        }
        run.ring[position].state = .replied
        run.enqueueGrace(run.ring[position].sendIndex, deadline: cp_monotonic_ns() + graceNanoseconds) { oldest in
            completeReplied(run, oldest)
        }
    }

    /// A captured copy of a sweep request leaving or a reply arriving.
    func captured(_ info: cp_echo_info, family: IPFamily, timestamp: Int64, direction: Int32) {
        let familyIndex = family == .ipv4 ? 0 : 1
        guard let (run, position) = lookup(familyIndex, info.seq, info.token) else { return }
        let target = run.targets.baseAddress! + run.target(of: run.ring[position].sendIndex)
        let isRequest = info.type == UInt8(family == .ipv4 ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST)
        if isRequest {
            var destination = info.dst
            guard run.ring[position].captureSendNanoseconds == 0, Self.same(&destination, target) else { return }
            run.ring[position].captureSendNanoseconds = timestamp
        } else {
            var source = info.src
            guard direction != CP_DIR_OUT, run.ring[position].captureReceiveNanoseconds == 0, Self.same(&source, target) else { return }
            run.ring[position].captureReceiveNanoseconds = timestamp
            if run.ring[position].state == .replied && run.ring[position].hasCapture {
                let rtt = run.ring[position].rtt
                finishProbe(run, position, rttNanoseconds: rtt.nanoseconds, clock: rtt.clock)
            }
        }
    }

    /// The driver's send timestamp of a sweep request (the clock when there is no capture).
    func sendTimestamp(_ info: cp_echo_info, family: IPFamily, timestamp: Int64) {
        guard let (run, position) = lookup(family == .ipv4 ? 0 : 1, info.seq, info.token),
              run.ring[position].kernelSendNanoseconds == 0 else { return }
        run.ring[position].kernelSendNanoseconds = timestamp
    }

    private func familyIndex(_ run: SweepRun, _ index: Int) -> Int {
        run.targets[run.target(of: index)].family == AF_INET ? 0 : 1
    }

    /// Same family and address bytes (4 for IPv4, 16 for IPv6).
    private static func same(_ a: UnsafeMutablePointer<cp_addr>, _ b: UnsafeMutablePointer<cp_addr>) -> Bool {
        guard a.pointee.family == b.pointee.family else { return false }
        let length = a.pointee.family == AF_INET ? 4 : 16
        return withUnsafeBytes(of: &a.pointee.bytes) { left in
            withUnsafeBytes(of: &b.pointee.bytes) { right in memcmp(left.baseAddress!, right.baseAddress!, length) == 0 }
        }
    }
}

/// The probes of one `sendmmsg`: their packets, send items, sequence numbers and tokens.
/// Owned by the engine thread's `SweepScheduler`.
final class OutgoingBatch {
    /// An echo request of the largest payload (1,400 bytes) and its ICMP header, rounded up.
    static let packetCapacity = 1_416
    let capacity = Int(CP_BATCH_MAX)
    let packets: UnsafeMutableBufferPointer<UInt8>
    let items: UnsafeMutableBufferPointer<cp_send_item>
    let sequences: UnsafeMutableBufferPointer<UInt16>
    let tokens: UnsafeMutableBufferPointer<UInt64>

    init() {
        packets = .allocate(capacity: capacity * Self.packetCapacity)
        items = .allocate(capacity: capacity)
        items.initialize(repeating: cp_send_item())
        sequences = .allocate(capacity: capacity)
        sequences.initialize(repeating: 0)
        tokens = .allocate(capacity: capacity)
        tokens.initialize(repeating: 0)
    }

    deinit {
        packets.deallocate()
        items.deallocate()
        sequences.deallocate()
        tokens.deallocate()
    }

    func packet(_ slot: Int) -> UnsafeMutablePointer<UInt8> { packets.baseAddress! + slot * Self.packetCapacity }
}
