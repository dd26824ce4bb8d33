import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

extension ProbeEngine {
    /// Traces the path to `target`: every TTL probed at once (bounded by the options' rate),
    /// Paris-style stable flow by default, repeated for `options.rounds` rounds like mtr.
    ///
    /// Needs the engine's raw sockets (root or CAP_NET_RAW when the engine was created).
    /// - Throws: `ProbeError` for bad options or targets, a family without raw sockets, no
    ///   route at all, or `.cancelled`.
    public func traceroute(_ target: String, options: TraceOptions = .default) async throws(ProbeError) -> TraceResult {
        try await traceroute(target, options: options, sharing: nil)
    }

    /// `traceroute(_:options:)` sharing `pacer`'s send rate with other traces (a sweep's).
    func traceroute(_ target: String, options: TraceOptions, sharing pacer: SharedPacer?) async throws(ProbeError) -> TraceResult {
        try await TraceRun.run(engine: self, target: target, options: options, pacer: pacer, onUpdate: nil)
    }

    /// `traceroute(_:options:)` that also hands every hop and round update to `onUpdate` as it
    /// happens (`.finished` is not among them: the result is returned). Unlike
    /// `traceUpdates(_:options:)`, it runs entirely in the calling task, so it stays on the
    /// task's executor (the CLI runs a trace on its main thread: no thread pool to start).
    public func traceroute(_ target: String, options: TraceOptions = .default,
                           onUpdate: @escaping (TraceUpdate) -> Void) async throws(ProbeError) -> TraceResult {
        try await TraceRun.run(engine: self, target: target, options: options, pacer: nil, onUpdate: onUpdate)
    }

    /// The same trace as a stream of hop updates as they happen, ending with `.finished`.
    /// Stopping the iteration (or cancelling its task) cancels the trace.
    public func traceUpdates(_ target: String, options: TraceOptions = .default) -> AsyncThrowingStream<TraceUpdate, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let result = try await TraceRun.run(engine: self, target: target, options: options) { continuation.yield($0) }
                    continuation.yield(.finished(result))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// One probe of one round.
private struct RoundProbe {
    let ttl: Int
    let sentAt: ContinuousClock.Instant
    let deadline: ContinuousClock.Instant
    var userSendNanoseconds: Int64 = 0
    /// What a NAT may rewrite, as the probe left: compared with an error's quote.
    var sent: SentProbeHeader?
    var captureSendNanoseconds: Int64?
    var answer: TraceAnswer?
    var captureAnswerNanoseconds: Int64?
    var captureGraceDeadline: ContinuousClock.Instant?
    var done = false

    var rtt: (nanoseconds: Int64, clock: ClockSource)? {
        guard let answer else { return nil }
        if let sent = captureSendNanoseconds, let received = captureAnswerNanoseconds, received >= sent {
            return (received - sent, .pcap)
        }
        if let received = answer.kernelNanoseconds, received >= userSendNanoseconds {
            return (received - userSendNanoseconds, .kernelReceive)
        }
        return (max(0, answer.userNanoseconds - userSendNanoseconds), .userspace)
    }
}

/// The state of one running trace. Lives in the calling task; the receive loop reaches it
/// only through the `AsyncStream` its probes are registered with.
private final class TraceRun {
    let core: EngineCore
    let options: TraceOptions
    let target: String
    let destination: IPAddress
    let source: IPAddress
    /// Nil only for an ICMP trace on an engine opened for ICMP traces only.
    let sockets: TraceSockets?
    let echoSocket: ICMPSocket
    let method: TraceProbeKey.Method
    let events: AsyncStream<TraceEvent>
    let sink: AsyncStream<TraceEvent>.Continuation
    let onUpdate: ((TraceUpdate) -> Void)?
    let pacer: SharedPacer?
    /// Paris ICMP: the checksum every echo probe of this trace carries.
    let icmpChecksum: UInt16
    var hops: [Int: HopStatistics] = [:]
    /// Probes sent so far; classic UDP mode walks the destination port with it, like traceroute.
    var probesSent = 0
    var registered: Set<UInt16> = []
    /// The echo request of the running round that estimates the distance, while registered.
    var estimatorID: UInt16?
    /// Token bucket of the send rate: up to `burst` tokens, refilled at `probesPerSecond`.
    var tokens: Double
    var tokensUpdated: ContinuousClock.Instant = .now
    /// This trace's id for its tick requests (`EngineCore.requestTick`), and the instant it
    /// last asked to be woken at, while that request stands.
    let traceID: UInt64
    var requestedTick: ContinuousClock.Instant?

    /// - Parameter pacer: a send rate this trace shares with others (a sweep's), on top of its own.
    static func run(engine: ProbeEngine, target: String, options: TraceOptions, pacer: SharedPacer? = nil,
                    onUpdate: ((TraceUpdate) -> Void)?) async throws(ProbeError) -> TraceResult {
        try options.validate()
        let core = engine.core
        if core.isShutDown { throw .engineShutDown }
        if !core.tracerouteEnabled { throw EngineCore.tracerouteDisabled }
        let destination = try await TargetResolver.resolve(target, preference: options.family)
        let sockets = core.traceSockets[destination.family]
        if sockets == nil, core.icmpTracesOnly, options.method != .icmp { throw EngineCore.udpAndTCPTracesDisabled }
        // Past the line above, an engine without trace sockets here traces with ICMP only.
        guard let echoSocket = core.sockets[destination.family], echoSocket.kind == .raw, sockets != nil || core.icmpTracesOnly else {
            throw core.unavailableFamilies[destination.family]
                ?? .permissionDenied(hint: "traceroute needs raw sockets: run as root or grant CAP_NET_RAW (setcap cap_net_raw+ep isp-checker)")
        }
        let source: IPAddress
        switch await core.routeSource(to: destination) {
        case .success(let found): source = found
        case .failure(.engineShutDown): throw .engineShutDown
        case .failure(.lookup(let errno)): throw .systemError(operation: "finding a route to \(destination)", errno: errno)
        }
        let run = TraceRun(core: core, options: options, target: target, destination: destination, source: source,
                           sockets: sockets, echoSocket: echoSocket, pacer: pacer, onUpdate: onUpdate)
        defer { run.finish() }
        return try await run.trace()
    }

    private init(core: EngineCore, options: TraceOptions, target: String, destination: IPAddress, source: IPAddress,
                 sockets: TraceSockets?, echoSocket: ICMPSocket, pacer: SharedPacer?, onUpdate: ((TraceUpdate) -> Void)?) {
        self.core = core
        self.pacer = pacer
        self.options = options
        self.target = target
        self.destination = destination
        self.source = source
        self.sockets = sockets
        self.echoSocket = echoSocket
        self.onUpdate = onUpdate
        switch options.method {
        case .udp: method = .udp
        case .icmp: method = .icmp
        case .tcp: method = .tcp
        }
        (events, sink) = AsyncStream.makeStream(of: TraceEvent.self, bufferingPolicy: .unbounded)
        icmpChecksum = UInt16.random(in: 1...0xfffe)
        tokens = Double(options.burst)
        traceID = core.reserveTraceID()
    }

    private func trace() async throws(ProbeError) -> TraceResult {
        let started = ContinuousClock.now
        var iterator = events.makeAsyncIterator()
        var lastTTL = options.maxHops
        var stop: TraceStop = .maxHopsReached
        var roundStarted = started
        for round in 1...options.rounds {
            // Rounds start `roundInterval` apart, as mtr's do; a round that waited out a lost
            // probe's timeout is followed at once (rounds never overlap: a router never gets
            // more than one probe of this trace per interval).
            if round > 1 && options.roundInterval > .zero {
                do { try await Task.sleep(until: roundStarted.advanced(by: options.roundInterval), clock: .continuous) } catch { throw .cancelled }
            }
            if Task.isCancelled { throw .cancelled }
            roundStarted = .now
            // Once a round found the end of the path, later rounds stop probing there, as mtr does.
            let (roundStopTTL, roundStop, probedUpTo) = try await runRound(round, lastTTL: lastTTL, iterator: &iterator)
            if let roundStopTTL, let roundStop, roundStopTTL <= lastTTL {
                if roundStopTTL < lastTTL || stop == .maxHopsReached { stop = roundStop }
                lastTTL = roundStopTTL
            } else if roundStopTTL == nil {
                // No end found: later rounds probe as far as this one did, no farther.
                lastTTL = min(lastTTL, max(options.firstHop, probedUpTo))
            }
            onUpdate?(.roundFinished(round, hops: hopList(upTo: lastTTL)))
        }
        var hopsOut = hopList(upTo: lastTTL)
        if options.resolveHopNames {
            let names = await ReverseResolver.names(for: Set(hopsOut.flatMap { $0.addresses.map(\.address) }))
            for index in hopsOut.indices {
                for slot in hopsOut[index].addresses.indices {
                    hopsOut[index].addresses[slot].name = names[hopsOut[index].addresses[slot].address]
                }
            }
        }
        return TraceResult(
            target: target, address: destination, method: options.method, paris: options.paris, rounds: options.rounds,
            hops: hopsOut, stop: stop,
            durationMilliseconds: (ContinuousClock.now - started).inMilliseconds)
    }

    private func hopList(upTo lastTTL: Int) -> [TraceHop] {
        (options.firstHop...max(options.firstHop, lastTTL)).map { hops[$0]?.snapshot ?? HopStatistics(ttl: $0).snapshot }
    }

    /// TTLs a round probes at once when nothing says how far the destination is: the gateway,
    /// the access network and the first routers past it, as far as traceroute's first batch
    /// reaches (16 probes in flight, 3 a TTL: TTLs 1-5) with a third of its probes. A
    /// destination this close answers in the first round trip; one probe past it costs it one
    /// ICMP error of its budget (a burst of 6 on Linux), once per destination: the engine
    /// remembers the distance afterwards (`PathLengthMemory`).
    static let initialWindow = 5
    /// TTLs added at once when the farthest probe was answered by a router.
    static let growthWindow = 4
    /// How far past the expected distance a round still grows: the way back, which the
    /// estimate measures, may be a hop or two shorter than the way there. A destination that
    /// answers echoes at that distance but not the trace's probes (a firewall dropping UDP to
    /// high ports) is not chased to `maxHops`, one timeout a window.
    static let estimateSlack = 2

    /// Sends one probe per TTL up to where the destination is expected, and waits until every
    /// TTL up to the nearest terminal answer (destination or unreachable) is answered or timed
    /// out. A probe past the destination would cost the destination one of the ICMP errors its
    /// rate limit allows, so a round never probes every TTL blindly: it probes up to the TTL
    /// the engine remembers for this destination (an earlier trace, a ping's reply TTL), or
    /// else the first `initialWindow` TTLs plus one echo request to the destination whose
    /// reply TTL tells how far it is; and it grows by `growthWindow` while routers answer its
    /// farthest probe.
    /// Returns the terminal TTL and stop, when there was one, and the farthest TTL probed.
    private func runRound(_ round: Int, lastTTL: Int, iterator: inout AsyncStream<TraceEvent>.Iterator) async throws(ProbeError) -> (Int?, TraceStop?, Int) {
        var probes: [UInt16: RoundProbe] = [:]
        var terminalTTL: Int?
        var terminal: TraceStop?
        let first = options.firstHop
        let last = max(first, lastTTL)
        // A round after one that found the destination probes up to it.
        let known = lastTTL < options.maxHops || round > 1 ? lastTTL : nil
        let hint = known ?? core.pathLengths.withLock { $0.hint(for: destination) }
        var estimate = hint
        var sentUpTo = first - 1
        /// Until when the round waits for the estimator's reply before it grows blindly.
        var estimatorDeadline: ContinuousClock.Instant?
        defer { if let estimatorID { unregisterEstimator(estimatorID) } }

        func sendUpTo(_ limit: Int) async throws(ProbeError) {
            let target = min(limit, last)
            while sentUpTo < target {
                sentUpTo += 1
                if let terminalTTL, sentUpTo > terminalTTL { return }
                try await pace()
                guard let (probeID, probe) = send(ttl: sentUpTo) else { continue }
                probes[probeID] = probe
            }
        }

        try await sendUpTo(hint ?? (first + Self.initialWindow - 1))
        if hint == nil && sentUpTo < last && sendEstimator() {
            estimatorDeadline = ContinuousClock.now.advanced(by: options.timeout)
        }

        func pending() -> Bool {
            probes.values.contains { !$0.done && $0.ttl <= (terminalTTL ?? Int.max) }
        }
        /// The farthest probe sent so far came back from a router (or went unanswered): the
        /// destination lies farther out.
        func farthestPassed() -> Bool {
            let farthest = probes.values.filter { $0.ttl == sentUpTo }
            if farthest.contains(where: { $0.answer.map { terminalStop(for: $0) == nil } == true }) { return true }
            return farthest.allSatisfy { $0.done && $0.answer == nil }
        }
        /// Whether the expected distance was asked once more: a destination that spent its ICMP
        /// budget (another trace, a burst) stays mute for a second; growing past it then makes
        /// the path one hop too long (or, when the first window already went past it, leaves
        /// it behind silent hops), while one more probe there, after the first waited out its
        /// timeout, finds a refilled budget.
        var askedAgain = false
        /// Whether an unanswered probe at `ttl` is asked again (then the first does not count:
        /// each hop keeps one probe a round): the expected distance, while nothing there or
        /// farther out answered, and, at the farthest TTL sent, while the round could grow.
        func willAskAgain(at ttl: Int) -> Bool {
            !askedAgain && terminalTTL == nil && ttl == estimate && (ttl < sentUpTo || sentUpTo < last)
                && !probes.values.contains { $0.ttl >= ttl && $0.answer != nil }
        }
        /// The TTL to ask again now: the expected distance, once every probe there is done.
        func askAgainTTL() -> Int? {
            guard let again = estimate, again >= first, again <= sentUpTo, willAskAgain(at: again),
                  probes.values.allSatisfy({ $0.ttl != again || $0.done }) else { return nil }
            return again
        }
        /// Probes done without an answer at a TTL that `willAskAgain`: recorded when the round
        /// ends unless asked again.
        var held: [UInt16] = []
        /// The round's clock: the newest tick read (see `TraceEvent.tick`).
        var now = ContinuousClock.now
        var giveUp: [UInt16: ContinuousClock.Instant] = [:]
        while true {
            // Past the routers already answering: up to the estimate when there is one (while the
            // estimator may still answer, growing would only guess), else a window farther.
            let waitingForEstimate = estimate == nil && estimatorDeadline.map { now < $0 } == true
            let ceiling = min(last, estimate.map { $0 + Self.estimateSlack } ?? last)
            if terminalTTL == nil && !waitingForEstimate && farthestPassed() {
                if let again = askAgainTTL() {
                    askedAgain = true
                    held.removeAll { probes[$0]?.ttl == again }
                    try await pace()
                    if let (probeID, probe) = send(ttl: again) { probes[probeID] = probe }
                    // At the farthest TTL: its answer decides whether to grow. Nearer in (the
                    // first window went past the estimate): growing goes on beside it, and the
                    // probe asked again, sent first, meets the refilled budget first.
                    if again == sentUpTo { continue }
                }
                if sentUpTo < ceiling {
                    let next = estimate.map { $0 > sentUpTo ? $0 : sentUpTo + Self.growthWindow } ?? sentUpTo + Self.growthWindow
                    try await sendUpTo(min(next, ceiling))
                    continue
                }
            }
            guard pending() || (terminalTTL == nil && waitingForEstimate) else { break }
            // Woken by the engine at the nearest deadline (a probe's timeout or give-up, a capture
            // grace, the estimator's wait), or sooner by an answer.
            if let wakeAt = nextDeadline(probes, giveUp: giveUp, terminalTTL: terminalTTL,
                                         estimatorDeadline: waitingForEstimate ? estimatorDeadline : nil),
               wakeAt != requestedTick {
                requestedTick = wakeAt
                core.requestTick(traceID, at: wakeAt, sink: sink)
            }
            guard let event = await iterator.next() else { throw core.isShutDown ? .engineShutDown : .cancelled }
            if Task.isCancelled { throw .cancelled }
            // Deadlines are judged as of the newest tick read, not the wall clock: events queued
            // while the round was sending are read in order before time moves on.
            if case .tick(let at) = event {
                now = max(now, at)
                requestedTick = nil // the engine sends one tick per request
            }
            switch event {
            case .captureSent(let id, let nanoseconds):
                if probes[id]?.captureSendNanoseconds == nil { probes[id]?.captureSendNanoseconds = nanoseconds }
            case .captureAnswer(let id, let nanoseconds):
                if probes[id]?.captureAnswerNanoseconds == nil { probes[id]?.captureAnswerNanoseconds = nanoseconds }
            case .answer(let id, let answer) where id == estimatorID:
                guard answer.kind == .echoReply, answer.from == destination, let replyTTL = answer.replyTTL,
                      let ttl = PathLengthMemory.estimate(replyTTL: replyTTL) else { break }
                core.pathLengths.withLock { $0.noteReplyTTL(destination, replyTTL: replyTTL) }
                estimate = ttl
                if terminalTTL == nil && ttl > sentUpTo { try await sendUpTo(ttl) }
            case .answer(let id, let answer):
                guard var probe = probes[id], probe.answer == nil, !probe.done else { break }
                // An echo reply must come from the destination itself.
                if answer.kind == .echoReply && answer.from != destination { break }
                probe.answer = answer
                // From when the answer was read: `now` is the last tick's, which may be long past.
                if core.captureActive { probe.captureGraceDeadline = ContinuousClock.now.advanced(by: core.captureGrace) }
                probes[id] = probe
                if let stop = terminalStop(for: answer), probe.ttl <= (terminalTTL ?? Int.max) {
                    terminalTTL = probe.ttl
                    terminal = stop
                }
            case .tick:
                break
            }
            giveUp = silentHopDeadlines(probes, round: round)
            for (id, probe) in probes where !probe.done && isComplete(probe, now: now, giveUpAt: giveUp[id]) {
                probes[id]?.done = true
                guard probe.ttl <= (terminalTTL ?? Int.max) else { continue }
                if probe.answer == nil && willAskAgain(at: probe.ttl) { held.append(id) } else { record(probe, round: round) }
            }
        }
        for id in held {
            if let probe = probes[id], probe.ttl <= (terminalTTL ?? Int.max) { record(probe, round: round) }
        }
        // Probes past the terminal TTL went beyond the destination: they do not count.
        for id in probes.keys { unregister(id) }
        if requestedTick != nil {
            core.cancelTick(traceID)
            requestedTick = nil
        }
        if terminal == .destinationReached, let terminalTTL {
            core.pathLengths.withLock { $0.noteReached(destination, atTTL: terminalTTL) }
        }
        return (terminalTTL, terminal, sentUpTo)
    }

    /// One echo request to the destination, outside the hop probes: echo replies are not
    /// rate limited like ICMP errors, and the TTL the reply arrives with tells how far the
    /// destination is; its id is `estimatorID` while registered. False when it could not be sent.
    private func sendEstimator() -> Bool {
        let route = TraceRoute(destination: destination, sink: sink, source: source)
        let avoiding = registered
        guard let probeID = core.traces.withLock({ $0.allocate(destination.family, .icmp, route: route, avoiding: avoiding) }) else { return false }
        estimatorID = probeID
        var packet = [UInt8](repeating: 0, count: 64)
        var length = 0
        var src = source.raw
        var dst = destination.raw
        var sentAt: Int64 = 0
        let built = cp_trace_build_icmp_echo(destination.family.posixValue, &src, &dst, echoSocket.identifier, probeID,
                                             UInt16.random(in: 1...0xfffe), Int(CP_TRACE_MIN_PAYLOAD), &packet, packet.count, &length)
        guard built == 0, cp_trace_send(echoSocket.descriptor, packet, length, &dst, 0, -1, &sentAt) >= 0 else {
            unregisterEstimator(probeID)
            return false
        }
        return true
    }

    private func unregisterEstimator(_ probeID: UInt16) {
        let key = TraceProbeKey(family: destination.family, method: .icmp, probeID: probeID)
        _ = core.traces.withLock { $0.routes.removeValue(forKey: key) }
        estimatorID = nil
    }

    /// For each unanswered probe with an answered probe farther out: when to give it up
    /// (`SilentHopWait.adaptive`), earlier than its full timeout.
    /// After the first round, a probe past every TTL that ever answered (the silent tail of a
    /// path that goes dark, or of a destination that filters the probes) is given up the same
    /// way, against the slowest answer of its round: it waited out its full timeout in an earlier
    /// round already.
    private func silentHopDeadlines(_ probes: [UInt16: RoundProbe], round: Int) -> [UInt16: ContinuousClock.Instant] {
        guard case .adaptive(let factor, let minimum) = options.silentHopWait else { return [:] }
        let answered = probes.values.compactMap { probe in probe.rtt.map { (ttl: probe.ttl, rtt: $0.nanoseconds, sentAt: probe.sentAt) } }
        guard !answered.isEmpty else { return [:] }
        var deadlines: [UInt16: ContinuousClock.Instant] = [:]
        let everAnswered = round > 1 ? hops.values.filter { !$0.rttsMilliseconds.isEmpty }.map(\.ttl).max() : nil
        for (id, probe) in probes where probe.answer == nil && !probe.done {
            // The slowest answer from farther out bounds how long this hop may reasonably take,
            // counted from the later of the two sends (a round sends farther TTLs later once it
            // knows how far the destination is).
            let inSilentTail = everAnswered.map { probe.ttl > $0 } ?? false
            let farther = inSilentTail ? answered : answered.filter { $0.ttl > probe.ttl }
            guard let slowest = farther.map(\.rtt).max(), let latestSend = farther.map(\.sentAt).max() else { continue }
            let wait = max(Duration.nanoseconds(slowest) * factor, minimum)
            deadlines[id] = min(probe.deadline, max(probe.sentAt, latestSend).advanced(by: wait))
        }
        return deadlines
    }

    /// The nearest instant at which a probe of the round may complete without a packet: the
    /// timeout or give-up of an unanswered one, the capture grace of an answered one; or the
    /// end of the estimator's wait. Nil when nothing is waiting by time.
    private func nextDeadline(_ probes: [UInt16: RoundProbe], giveUp: [UInt16: ContinuousClock.Instant], terminalTTL: Int?,
                              estimatorDeadline: ContinuousClock.Instant?) -> ContinuousClock.Instant? {
        var next = estimatorDeadline
        for (id, probe) in probes where !probe.done && probe.ttl <= (terminalTTL ?? Int.max) {
            let at: ContinuousClock.Instant?
            if probe.answer == nil {
                at = giveUp[id] ?? probe.deadline
            } else {
                at = probe.captureGraceDeadline
            }
            if let at { next = min(next ?? at, at) }
        }
        return next
    }

    private func isComplete(_ probe: RoundProbe, now: ContinuousClock.Instant, giveUpAt: ContinuousClock.Instant?) -> Bool {
        guard probe.answer != nil else { return now >= (giveUpAt ?? probe.deadline) }
        let timed = probe.captureSendNanoseconds != nil && probe.captureAnswerNanoseconds != nil
        return timed || !core.captureActive || now >= (probe.captureGraceDeadline ?? now)
    }

    private func terminalStop(for answer: TraceAnswer) -> TraceStop? {
        answer.kind.terminalStop(from: answer.from, destination: destination)
    }

    private func record(_ probe: RoundProbe, round: Int) {
        var hop = hops[probe.ttl] ?? HopStatistics(ttl: probe.ttl)
        hop.recordSent()
        if let answer = probe.answer, let rtt = probe.rtt {
            var code: UnreachableCode?
            if case .unreachable(let value) = answer.kind { code = UnreachableCode(family: destination.family, code: value) }
            hop.record(from: answer.from, rttNanoseconds: rtt.nanoseconds, clock: rtt.clock, mpls: answer.mpls,
                       unreachableCode: code, isDestination: terminalStop(for: answer) == .destinationReached)
            if let sent = probe.sent, let quote = answer.quote {
                hop.noteQuote(sent: sent, quoted: quote, timeExceeded: answer.kind == .timeExceeded)
            }
        }
        hops[probe.ttl] = hop
        onUpdate?(.hop(hop.snapshot, round: round))
    }

    // MARK: - Sending

    /// Waits for the rate limit: `burst` probes at once, refilled at `probesPerSecond`; then for
    /// a slot of the shared rate, when there is one.
    private func pace() async throws(ProbeError) {
        if Task.isCancelled { throw .cancelled }
        let rate = Double(options.probesPerSecond)
        let now = ContinuousClock.now
        tokens = min(Double(options.burst), tokens + (now - tokensUpdated).inMilliseconds / 1000 * rate)
        tokensUpdated = now
        if tokens < 1 {
            let wait = Duration.seconds((1 - tokens) / rate)
            do { try await Task.sleep(for: wait) } catch { throw .cancelled }
            tokens = 1
            tokensUpdated = ContinuousClock.now
        }
        tokens -= 1
        try await pacer?.pace()
    }

    private func send(ttl: Int) -> (UInt16, RoundProbe)? {
        let route = TraceRoute(destination: destination, sink: sink, source: source)
        let avoiding: Set<UInt16> = estimatorID.map { [$0] } ?? []
        guard let probeID = core.traces.withLock({ $0.allocate(destination.family, method, route: route, avoiding: avoiding) }) else { return nil }
        registered.insert(probeID)
        let now = ContinuousClock.now
        var probe = RoundProbe(ttl: ttl, sentAt: now, deadline: now.advanced(by: options.timeout))
        var packet = [UInt8](repeating: 0, count: options.payloadSize + 64)
        var length = 0
        var src = source.raw
        var dst = destination.raw
        let family = destination.family.posixValue
        var built: Int32
        var descriptor: Int32
        var port: UInt16 = 0
        switch (options.method, sockets) {
        case (.udp, let sockets?):
            // Paris keeps the port, classic walks it with the probe like traceroute does.
            port = options.paris ? options.udpBasePort : options.udpBasePort &+ UInt16(truncatingIfNeeded: probesSent)
            built = cp_trace_build_udp_datagram(family, &src, &dst, sockets.udpPort, port, probeID, options.payloadSize, &packet, packet.count, &length)
            descriptor = sockets.udpRawDescriptor
        case (.icmp, _):
            // Paris holds the checksum (what load balancers hash for ICMP); classic lets it vary.
            let checksum = options.paris ? icmpChecksum : UInt16.random(in: 1...0xfffe)
            built = cp_trace_build_icmp_echo(family, &src, &dst, echoSocket.identifier, probeID, checksum, options.payloadSize, &packet, packet.count, &length)
            descriptor = echoSocket.descriptor
        case (.tcp(let destinationPort), let sockets?):
            built = cp_trace_build_tcp_syn(family, &src, &dst, sockets.tcpPort, destinationPort, sockets.tcpSequenceSalt | UInt32(probeID), &packet, packet.count, &length)
            descriptor = sockets.tcpDescriptor
        case (.udp, nil), (.tcp, nil):
            preconditionFailure("run() lets a UDP or TCP trace start only with the engine's trace sockets")
        }
        probesSent += 1
        var sentAt: Int64 = 0
        // Raw sockets take no port in the address (the datagram carries it).
        let result = built == 0 ? cp_trace_send(descriptor, packet, length, &dst, 0, Int32(ttl), &sentAt) : built
        if result < 0 {
            // Not sent (no route, buffer full): the probe counts as lost at once.
            probe = RoundProbe(ttl: ttl, sentAt: now, deadline: now)
        }
        probe.userSendNanoseconds = sentAt
        if built == 0 {
            // The checksum as built is the one the wire carries: raw sockets send it whole (no
            // offload), IPv4 echo requests are complete, and for IPv6 the builder made the
            // kernel's pseudo-header sum come out as the fixed value.
            let checksumOffset = switch options.method { case .udp: 6; case .icmp: 2; case .tcp: 16 }
            let checksum = length >= checksumOffset + 2 ? UInt16(packet[checksumOffset]) << 8 | UInt16(packet[checksumOffset + 1]) : nil
            let port: UInt16? = switch options.method { case .udp: sockets?.udpPort; case .icmp: nil; case .tcp: sockets?.tcpPort }
            probe.sent = SentProbeHeader(source: source, sourcePort: port, transportChecksum: checksum)
        }
        return (probeID, probe)
    }

    private func unregister(_ probeID: UInt16) {
        let key = TraceProbeKey(family: destination.family, method: method, probeID: probeID)
        _ = core.traces.withLock { $0.routes.removeValue(forKey: key) }
        registered.remove(probeID)
    }

    private func finish() {
        for probeID in registered { unregister(probeID) }
        core.cancelTick(traceID)
        sink.finish()
    }
}

extension TraceAnswer.Kind {
    /// Why an answer of this kind from `from` ends a trace to `destination`, nil when it does
    /// not: the one rule of live traces and of traces rebuilt from captures.
    func terminalStop(from: IPAddress, destination: IPAddress) -> TraceStop? {
        switch self {
        case .echoReply, .tcpReply:
            return from == destination ? .destinationReached : nil
        case .unreachable(let code):
            let unreachable = UnreachableCode(family: destination.family, code: code)
            // Only the host a probe is addressed to answers for its port (a router forwards the
            // probe), and it may answer from another of its addresses: IPv6 picks the source of
            // an error anew, so a host that serves a whole prefix by a local route, or one with
            // several interfaces, answers from its interface's address. traceroute and mtr
            // stop there too.
            if from == destination || unreachable.isPortUnreachable { return .destinationReached }
            return .unreachable(unreachable)
        case .timeExceeded, .packetTooBig, .parameterProblem:
            return nil
        }
    }
}
