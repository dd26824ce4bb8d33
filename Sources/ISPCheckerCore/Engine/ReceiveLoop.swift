import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// Runs on the engine's own thread: one loop that reads every answer to every probe of the
/// engine, from the sockets and from the capture, and hands each to the probe it belongs to
/// (pings by identifier, sequence and token; trace probes by what the ICMP error quotes).
/// It is created on that thread and never leaves it, so it needs no locking of its own.
final class ReceiveLoop {
    private let core: EngineCore
    private let capture: OpaquePointer?
    /// For the trace TCP socket's segments (a raw socket may see large coalesced ones).
    private var buffer = [UInt8](repeating: 0, count: 65_536)
    /// For the ICMP sockets' datagrams and send timestamps, read many per system call.
    private let incoming = ReceiveBatch()
    private let sweeps: SweepScheduler
    /// When a turn last read the sockets while reads were deferred (`WaitPlan.readsDue`).
    private var lastDeferredRead: Int64 = 0
    /// How far apart the reads of a paced sweep's turns may be: replies and send timestamps
    /// wait in the socket (kernel-stamped) until then, and are read a few per system call.
    static let deferredReadInterval: Int64 = 4_000_000

    init(core: EngineCore, capture: OpaquePointer?) {
        self.core = core
        self.capture = capture
        sweeps = SweepScheduler(core: core)
    }

    deinit {
        if let capture { cp_capture_close(capture) }
    }

    func run() {
        let sockets = Array(core.sockets.values)
        let traceSockets = Array(core.traceSockets.values)
        // Descriptor order: the eventfd, the echo sockets, each trace family's TCP and UDP
        // sockets, the capture.
        var fds = [core.wakeDescriptor] + sockets.map(\.descriptor)
        // Nothing is expected on a trace UDP socket, but it is drained so it can never fill up.
        for trace in traceSockets { fds += [trace.tcpDescriptor, trace.udpDescriptor] }
        let traceBase = 1 + sockets.count
        let captureIndex = fds.count
        if let capture { fds.append(cp_capture_fd(capture)) }
        var waiter = ReadinessWait(fds)
        var plan = WaitPlan(timeout: 0, readsDeferred: false, readsDue: true)
        while true {
            if plan.readsDeferred {
                // The echo sockets are read whether or not something came (a read that finds
                // nothing costs what asking epoll would), on the turns the plan reads in.
                let echoSockets = plan.readsDue ? 1..<(1 + sockets.count) : 1..<1
                waiter.waitForWakeUp(timeoutMilliseconds: plan.timeout, assumedReady: echoSockets)
            } else {
                waiter.wait(timeoutMilliseconds: plan.timeout)
            }
            if waiter.isReady(0) { _ = cp_wake_drain(core.wakeDescriptor) }
            // The capture first: the kernel's packet tap sees an answer before the socket gets
            // it, so by the time an answer is on a socket its capture frame is in the ring and
            // the capture is reported ready with it. Only when ready: an empty capture costs
            // libpcap a poll() of its own, and at low sweep rates most turns are timeouts. A
            // frame that comes in during the turn makes the next wait return at once.
            if capture != nil, waiter.isReady(captureIndex) { drainCapture() }
            // Sockets with nothing readable are skipped; the error queue (send timestamps) is
            // read only when it has an entry, which shows as POLLERR.
            for (offset, socket) in sockets.enumerated() where waiter.isReady(1 + offset) {
                drainICMP(socket, errorQueue: waiter.events(1 + offset) & Int16(POLLERR) != 0)
            }
            for (offset, trace) in traceSockets.enumerated() {
                if waiter.isReady(traceBase + 2 * offset) { drainTCP(trace) }
                if waiter.isReady(traceBase + 2 * offset + 1) { drainDiscarding(trace.udpDescriptor) }
            }
            // Everything the other threads handed over, under one lock.
            let work = core.takeTurn()
            if work.shutDown { break }
            let now = ContinuousClock.now
            let echoDeadline = work.pingsPending ? core.expire(now: now) : nil
            core.tickDueTraces(now: now)
            for job in work.jobs { job() }
            sweeps.handle(work.sweepCommands)
            if !sweeps.isIdle {
                // One clock reading serves every sweep decision of the turn.
                let now = cp_monotonic_ns()
                // Timeouts are judged only after the answers that came in were read.
                if plan.readsDue { sweeps.expire(now: now) }
                if plan.readsDeferred && plan.readsDue { lastDeferredRead = now }
                sweeps.flush(now: now)
                // Last, so that the next poll finds their answers.
                sweeps.sendDue(now: now)
            }
            plan = waitPlan(echoDeadline: echoDeadline, pingsPending: work.pingsPending)
        }
        // Jobs queued before the shutdown still run here, on this thread.
        let rest = core.takeTurn()
        for job in rest.jobs { job() }
        sweeps.handle(rest.sweepCommands)
        sweeps.shutDown()
    }

    /// How long the next wait may last, and whether it watches the sockets.
    struct WaitPlan {
        var timeout: Int32
        /// Sleep until `timeout` (or a wake-up) and read what came in then, rather than wake
        /// for each answer.
        var readsDeferred: Bool
        /// Whether the turn after the wait reads the sockets (and judges timeouts): always,
        /// except while reads are deferred and the last read was less than
        /// `deferredReadInterval` before the wait ends.
        var readsDue: Bool
    }

    /// How long the next wait may last: until the nearest deadline of a ping or a trace, and
    /// while a sweep runs at most its own timeout (its next probe due, or 5 ms for its
    /// expiries). With nothing to wait for by time, the wait has no timeout: only a packet, a
    /// job, a command or a wake-up ends it, so an idle engine, or one whose trace waits a
    /// second for a silent hop, does not wake every few milliseconds.
    ///
    /// While a paced sweep is the engine's only work and its next probe is due within the
    /// wait, the wait watches only the wake-up descriptor: the answers that come in meanwhile
    /// are read when the loop wakes to send, one turn per probe instead of three (one for the
    /// send timestamp, one for the reply, one to send). Every sweep answer and send timestamp
    /// carries the kernel's clock (SO_TIMESTAMPNS, SO_TIMESTAMPING), so reading it up to one
    /// send interval (at most 5 ms) later changes no RTT; a probe's timeout is judged once per
    /// turn either way, after its answers are read. Above 250 probes a second the turns read
    /// only every `deferredReadInterval` (4 ms): at 1,000 a second one read of four replies
    /// and four send timestamps instead of four of one each, and timeouts are judged in those
    /// turns only. Pings and traces end that mode (their
    /// tasks wake the loop when they start), and a capture keeps it off (its frames are read
    /// as they come).
    private func waitPlan(echoDeadline: ContinuousClock.Instant?, pingsPending: Bool) -> WaitPlan {
        let now = cp_monotonic_ns()
        let sweepTimeout: Int32? = sweeps.isIdle ? nil : sweeps.pollTimeoutMilliseconds(now: now)
        let (deadline, tracesActive) = core.waitDeadline(before: echoDeadline)
        guard let deadline else {
            let timeout = sweepTimeout ?? -1
            // With a capture its frames bring the timestamps, and they are read only when ready.
            let deferred = timeout > 0 && capture == nil && !pingsPending && !tracesActive && sweeps.hasSendWaiting
            let wakesAt = now + Int64(timeout) * 1_000_000
            let due = !deferred || wakesAt - lastDeferredRead >= Self.deferredReadInterval
            return WaitPlan(timeout: timeout, readsDeferred: deferred, readsDue: due)
        }
        let remaining = deadline - ContinuousClock.now
        // Rounded up: a wait that ends before the deadline would only wait again.
        let milliseconds = remaining <= .zero ? 0 : Int32(clamping: remaining.totalNanoseconds / 1_000_000 + 1)
        return WaitPlan(timeout: min(sweepTimeout ?? Int32.max, milliseconds), readsDeferred: false, readsDue: true)
    }

    // MARK: - Capture

    private func drainCapture() {
        guard let capture else { return }
        var frame = cp_frame()
        // Bounded so that a flood of matching frames cannot starve the sockets.
        for _ in 0..<4096 {
            guard cp_capture_next(capture, &frame) == 1, let l3 = frame.l3, let family = IPFamily(posix: frame.family) else { return }
            if !captureEcho(frame, l3: l3, family: family) {
                captureTrace(frame, l3: l3, family: family)
            }
        }
    }

    /// A captured ping request or reply; false when the frame is no ping of ours.
    private func captureEcho(_ frame: cp_frame, l3: UnsafePointer<UInt8>, family: IPFamily) -> Bool {
        var info = cp_echo_info()
        guard cp_echo_parse(frame.family, 1, l3, frame.l3_len, nil, nil, &info) == 0 else { return false }
        if let sweepIdentifier = sweeps.identifier, info.ident == sweepIdentifier {
            sweeps.captured(info, family: family, timestamp: frame.ts_ns, direction: frame.direction)
            return true
        }
        guard let socket = core.sockets[family], info.ident == socket.identifier else { return false }
        let isRequest = info.type == UInt8(family == .ipv4 ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST)
        let timestamp = frame.ts_ns
        let direction = frame.direction
        core.update(ProbeKey(family: family, sequence: info.seq), token: info.token, now: .now) { entry in
            if isRequest {
                // libpcap keeps only the arriving copy of a loopback packet, so a request may
                // show as inbound there; on every other interface it shows as outbound once.
                guard entry.captureSendNanoseconds == nil, IPAddress(info.dst) == entry.destination else { return }
                entry.captureSendNanoseconds = timestamp
            } else {
                guard direction != CP_DIR_OUT, entry.captureReceiveNanoseconds == nil,
                      IPAddress(info.src) == entry.destination else { return }
                entry.captureReceiveNanoseconds = timestamp
            }
        }
        return true
    }

    /// A captured trace probe leaving, or an answer to one arriving.
    private func captureTrace(_ frame: cp_frame, l3: UnsafePointer<UInt8>, family: IPFamily) {
        guard let identity = traceIdentity(family) else { return }
        let traceSockets = core.traceSockets[family]
        let answerProto = UInt8(family == .ipv4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)
        var probe = cp_trace_packet()
        guard cp_trace_parse_probe(l3, frame.l3_len, &probe) == 0 else { return }

        // Only our own probes carry our source ports or an echo request with our identifier, so
        // a match is a probe leaving (on loopback libpcap shows it as arriving: direction is
        // no help there).
        if let key = TraceProbeKey.matching(probe, family: family, identity: identity) {
            deliver(key, destination: IPAddress(probe.dst), event: .captureSent(key.probeID, nanoseconds: frame.ts_ns))
            return
        }
        guard frame.direction != CP_DIR_OUT else { return }
        if probe.proto == answerProto {
            var reply = cp_trace_reply()
            guard cp_trace_parse_icmp(frame.family, 1, l3, frame.l3_len, nil, nil, &reply) == 0,
                  let (key, destination, translatedFrom) = traceKey(for: reply, family: family) else { return }
            deliver(key, destination: destination, translatedFrom: translatedFrom, event: .captureAnswer(key.probeID, nanoseconds: frame.ts_ns))
        } else if Int(probe.proto) == Int(IPPROTO_TCP), let sockets = traceSockets {
            var segment = cp_trace_tcp_reply()
            // A damaged segment's capture time is no answer's either (see drainTCP).
            guard cp_trace_parse_tcp(frame.family, 1, l3, frame.l3_len, nil, nil, &segment) == 0,
                  segment.checksum_state != CP_TRACE_CHECKSUM_WRONG,
                  let key = tcpKey(for: segment, sockets: sockets, family: family) else { return }
            deliver(key, destination: IPAddress(segment.src), event: .captureAnswer(key.probeID, nanoseconds: frame.ts_ns))
        }
    }

    // MARK: - Sockets

    /// Send timestamps the kernel queued for our echo requests: the clock when there is no capture.
    private func drainSendTimestamps(_ socket: ICMPSocket) {
        // Bounded, as drainICMP.
        for _ in 0..<64 {
            let read = Int(cp_recv_send_timestamps(socket.descriptor, incoming.bytes.baseAddress, ReceiveBatch.slot, incoming.capacity, incoming.lengths.baseAddress, incoming.timestamps.baseAddress))
            if read == -Int(EAGAIN) { return }
            if read < 0 { continue }
            for entry in 0..<read where incoming.lengths[entry] > 0 {
                sendTimestamp(socket, incoming.packet(entry), Int(incoming.lengths[entry]), timestamp: incoming.timestamps[entry])
            }
            // Fewer than asked for: the queue is empty now (a new entry shows in the next wait).
            if read < incoming.capacity { return }
        }
    }

    private func sendTimestamp(_ socket: ICMPSocket, _ packet: UnsafePointer<UInt8>, _ length: Int, timestamp: Int64) {
        var info = cp_echo_info()
        guard cp_echo_parse(socket.family.posixValue, 1, packet, length, nil, nil, &info) == 0,
              info.type == UInt8(socket.family == .ipv4 ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST)
        else { return }
        if socket.kind == .raw, let sweepIdentifier = sweeps.identifier, info.ident == sweepIdentifier {
            sweeps.sendTimestamp(info, family: socket.family, timestamp: timestamp)
            return
        }
        core.update(ProbeKey(family: socket.family, sequence: info.seq), token: info.token, now: .now) { entry in
            if entry.socketSendKernelNanoseconds == nil { entry.socketSendKernelNanoseconds = timestamp }
        }
    }

    private func drainICMP(_ socket: ICMPSocket, errorQueue: Bool) {
        // Before the replies: a reply must find its request's send timestamp already recorded.
        if errorQueue { drainSendTimestamps(socket) }
        // Bounded (64 reads of up to CP_BATCH_MAX datagrams) so that a flood cannot starve the rest.
        for _ in 0..<64 {
            let read = Int(cp_recv_batch(socket.descriptor, incoming.bytes.baseAddress, ReceiveBatch.slot, incoming.capacity, incoming.lengths.baseAddress, incoming.metas.baseAddress))
            if read == -Int(EAGAIN) { return }
            // -EINTR and the like: try again.
            if read < 0 { continue }
            // A datagram that did not fit its slot (-EMSGSIZE) was consumed: go on with the next.
            for entry in 0..<read where incoming.lengths[entry] >= 0 {
                datagram(socket, incoming.packet(entry), Int(incoming.lengths[entry]), meta: &incoming.metas[entry])
            }
            // Fewer than asked for: the socket is empty now (a new one shows in the next wait).
            if read < incoming.capacity { return }
        }
    }

    /// One datagram from an ICMP socket: a ping or sweep reply, or an answer to a trace probe.
    private func datagram(_ socket: ICMPSocket, _ packet: UnsafePointer<UInt8>, _ count: Int, meta: inout cp_recv_meta) {
        let withHeader: Int32 = socket.family == .ipv4 && socket.kind == .raw ? 1 : 0
        let haveAddresses = socket.family == .ipv6 && meta.has_to != 0
        var info = cp_echo_info()
        let parsed: Int32 = haveAddresses
            ? cp_echo_parse(socket.family.posixValue, withHeader, packet, count, &meta.from, &meta.to, &info)
            : cp_echo_parse(socket.family.posixValue, withHeader, packet, count, nil, nil, &info)
        if parsed == 0 {
            if socket.kind == .raw, let sweepIdentifier = sweeps.identifier, info.ident == sweepIdentifier {
                sweeps.reply(info, meta: meta, family: socket.family)
            } else {
                pingReply(info, meta: meta, socket: socket)
            }
            return
        }
        guard socket.kind == .raw else { return }
        var reply = cp_trace_reply()
        let traceParsed: Int32 = haveAddresses
            ? cp_trace_parse_icmp(socket.family.posixValue, withHeader, packet, count, &meta.from, &meta.to, &reply)
            : cp_trace_parse_icmp(socket.family.posixValue, withHeader, packet, count, nil, nil, &reply)
        guard traceParsed == 0, let (key, destination, translatedFrom) = traceKey(for: reply, family: socket.family),
              let from = reply.has_outer != 0 ? IPAddress(reply.outer_src) : IPAddress(meta.from),
              let answer = TraceAnswer(reply, from: from, kernelNanoseconds: meta.kernel_ts_ns > 0 ? meta.kernel_ts_ns : nil, userNanoseconds: meta.user_ts_ns,
                                     replyTTL: meta.ttl >= 0 ? Int(meta.ttl) : nil)
        else { return }
        deliver(key, destination: destination, translatedFrom: translatedFrom, event: .answer(key.probeID, answer))
    }

    private func pingReply(_ info: cp_echo_info, meta: cp_recv_meta, socket: ICMPSocket) {
        let replyType = UInt8(socket.family == .ipv4 ? CP_ICMP4_ECHO_REPLY : CP_ICMP6_ECHO_REPLY)
        guard info.type == replyType, socket.kind == .datagram || info.ident == socket.identifier,
              let from = IPAddress(meta.from) else { return }
        let now = ContinuousClock.now
        let grace = now.advanced(by: core.captureGrace)
        let ttl = meta.ttl >= 0 ? Int(meta.ttl) : (info.ttl > 0 ? Int(info.ttl) : nil)
        core.update(ProbeKey(family: socket.family, sequence: info.seq), token: info.token, now: now) { entry in
            guard !entry.replied, from == entry.destination else { return }
            entry.socketReceiveKernelNanoseconds = meta.kernel_ts_ns > 0 ? meta.kernel_ts_ns : nil
            entry.socketReceiveUserNanoseconds = meta.user_ts_ns
            entry.ttl = ttl
            entry.captureGraceDeadline = grace
        }
    }

    private func drainTCP(_ sockets: TraceSockets) {
        for _ in 0..<4096 {
            var meta = cp_recv_meta()
            let count = cp_recv(sockets.tcpDescriptor, &buffer, buffer.count, &meta)
            if count == -EAGAIN || count == -EWOULDBLOCK { return }
            if count < 0 { continue }
            var segment = cp_trace_tcp_reply()
            let withHeader: Int32 = sockets.family == .ipv4 ? 1 : 0
            // A segment whose checksum is wrong was damaged (or forged) on the way: its flags and
            // ack cannot be trusted, so it never answers a probe. (Correct, partial under
            // checksum offload, or IPv6 verified by the kernel all pass.)
            guard cp_trace_parse_tcp(sockets.family.posixValue, withHeader, buffer, Int(count), nil, nil, &segment) == 0,
                  segment.checksum_state != CP_TRACE_CHECKSUM_WRONG,
                  let key = tcpKey(for: segment, sockets: sockets, family: sockets.family),
                  let from = IPAddress(meta.from) else { continue }
            let answer = TraceAnswer(
                kind: .tcpReply(flags: segment.flags), from: from,
                kernelNanoseconds: meta.kernel_ts_ns > 0 ? meta.kernel_ts_ns : nil, userNanoseconds: meta.user_ts_ns,
                mpls: [], quotedTTL: nil, replyTTL: meta.ttl >= 0 ? Int(meta.ttl) : nil)
            deliver(key, destination: from, event: .answer(key.probeID, answer))
        }
    }

    private func drainDiscarding(_ descriptor: Int32) {
        for _ in 0..<64 {
            var meta = cp_recv_meta()
            if cp_recv(descriptor, &buffer, buffer.count, &meta) == -EAGAIN { return }
        }
    }

    // MARK: - Matching

    /// The trace probe an ICMP answer belongs to, with the destination that probe was sent to
    /// (from the quote, or for an echo reply its source), and for a quote from another source
    /// port (a NAT's translation, `matchingTranslated`) the quoted source address.
    private func traceKey(for reply: cp_trace_reply, family: IPFamily) -> (TraceProbeKey, IPAddress?, IPAddress?)? {
        if reply.kind == CP_TRACE_ECHO_REPLY {
            // The destination echoes the probe's payload back whole: its probe id must be the
            // sequence number, as we sent it (a reply with another payload is not an echo of ours).
            guard reply.echo_has_magic != 0, reply.echo_probe_id == reply.echo_seq,
                  let identifier = core.sockets[family]?.identifier, reply.echo_ident == identifier else { return nil }
            return (TraceProbeKey(family: family, method: .icmp, probeID: reply.echo_seq), reply.has_outer != 0 ? IPAddress(reply.outer_src) : nil, nil)
        }
        guard reply.has_quote != 0, let identity = traceIdentity(family) else { return nil }
        if let key = TraceProbeKey.matching(reply.quote, family: family, identity: identity) {
            return (key, IPAddress(reply.quote.dst), nil)
        }
        guard let key = TraceProbeKey.matchingTranslated(reply.quote, family: family, identity: identity),
              let quotedSource = IPAddress(reply.quote.src) else { return nil }
        return (key, IPAddress(reply.quote.dst), quotedSource)
    }

    private func traceIdentity(_ family: IPFamily) -> TraceFlowIdentity? {
        core.traceIdentity(family)
    }

    /// The TCP probe a segment from the destination answers: our port, ack = our seq + 1.
    private func tcpKey(for segment: cp_trace_tcp_reply, sockets: TraceSockets, family: IPFamily) -> TraceProbeKey? {
        guard segment.dport == sockets.tcpPort else { return nil }
        let acknowledged = segment.ack &- 1
        guard acknowledged & 0xffff_0000 == sockets.tcpSequenceSalt else { return nil }
        return TraceProbeKey(family: family, method: .tcp, probeID: UInt16(truncatingIfNeeded: acknowledged))
    }

    /// Hands an event to the trace that owns `key`, when the packet went to (or came from) that
    /// trace's destination. Echo replies from the loop carry no outer header on IPv6, so a nil
    /// destination is checked by the trace against the answer's source instead.
    private func deliver(_ key: TraceProbeKey, destination: IPAddress?, translatedFrom: IPAddress? = nil, event: TraceEvent) {
        let route = core.traces.withLock { $0.routes[key] }
        guard let route else { return }
        if let destination, destination != route.destination { return }
        // A quote from another port is ours translated only when its address was translated too.
        if let translatedFrom, route.source == nil || route.source == translatedFrom { return }
        route.sink.yield(event)
    }
}

/// Room for `CP_BATCH_MAX` datagrams of one `recvmmsg` and what came with each. Owned by the
/// engine thread's `ReceiveLoop`.
final class ReceiveBatch {
    /// Bytes per datagram: more than any echo reply of ours (1,400 payload bytes) or ICMP error
    /// quoting one, with its IP header. A larger datagram is consumed and skipped.
    static let slot = 2_048
    let capacity = Int(CP_BATCH_MAX)
    let bytes: UnsafeMutableBufferPointer<UInt8>
    let lengths: UnsafeMutableBufferPointer<Int32>
    let metas: UnsafeMutableBufferPointer<cp_recv_meta>
    let timestamps: UnsafeMutableBufferPointer<Int64>

    init() {
        bytes = .allocate(capacity: capacity * Self.slot)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0)
        metas = .allocate(capacity: capacity)
        metas.initialize(repeating: cp_recv_meta())
        timestamps = .allocate(capacity: capacity)
        timestamps.initialize(repeating: 0)
    }

    deinit {
        bytes.deallocate()
        lengths.deallocate()
        metas.deallocate()
        timestamps.deallocate()
    }

    func packet(_ entry: Int) -> UnsafeMutablePointer<UInt8> { bytes.baseAddress! + entry * Self.slot }
}
