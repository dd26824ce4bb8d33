import CProbe
import Synchronization
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// An ICMP socket the engine owns; closed exactly once.
final class ICMPSocket: Sendable {
    let descriptor: Int32
    let family: IPFamily
    let kind: SocketKind
    /// The echo identifier replies carry: ours for raw sockets, the kernel's for datagram ones.
    let identifier: UInt16

    init(descriptor: Int32, family: IPFamily, kind: SocketKind, identifier: UInt16) {
        self.descriptor = descriptor
        self.family = family
        self.kind = kind
        self.identifier = identifier
    }

    deinit { close(descriptor) }
}

/// The state shared by the tasks that send probes and the I/O thread that receives replies.
struct EngineState: ~Copyable {
    var pending: [ProbeKey: PendingEcho] = [:]
    var nextSequence: [IPFamily: UInt16] = [.ipv4: UInt16.random(in: 0...UInt16.max), .ipv6: UInt16.random(in: 0...UInt16.max)]
    var shutDown = false
    /// Work that must run on the engine thread (inside its network namespace).
    var jobs: [@Sendable () -> Void] = []
    /// Sweeps to start or cancel, taken by the engine thread's `SweepScheduler`.
    var sweepCommands: [SweepCommand] = []
    var nextSweepID: UInt32 = 1

    /// A sequence number no outstanding probe of that family uses, or nil when all 65,536 are.
    mutating func allocateSequence(_ family: IPFamily) -> UInt16? {
        var candidate = nextSequence[family, default: 0]
        for _ in 0...Int(UInt16.max) {
            candidate &+= 1
            if pending[ProbeKey(family: family, sequence: candidate)] == nil {
                nextSequence[family] = candidate
                return candidate
            }
        }
        return nil
    }
}

/// The part of a `ProbeEngine` both sides touch. Mutable state lives behind `Locked` (pthread
/// mutexes, which ThreadSanitizer sees, unlike Synchronization's `Mutex` on Linux: scripts/test.sh
/// runs the engine under TSan); continuations are always resumed outside them.
final class EngineCore: Sendable {
    let state = Locked(EngineState())
    let traces = Locked(TraceRegistry())
    /// How far recently traced or pinged destinations are (where traces stop probing).
    let pathLengths = Locked(PathLengthMemory())
    let sockets: [IPFamily: ICMPSocket]
    /// Present for the families whose ICMP socket is raw: traceroute needs raw sockets.
    let traceSockets: [IPFamily: TraceSockets]
    let unavailableFamilies: [IPFamily: ProbeError]
    let captureActive: Bool
    let captureGrace: Duration
    let wakeDescriptor: Int32
    /// The echo identifier of sweep probes (raw sockets only): not the one pings use, so the
    /// two never share sequence numbers. Nil when no family has a raw socket.
    let sweepIdentifier: UInt16?
    /// Sweep probes waiting for an answer, and the most there have been at once (published by
    /// the engine thread once per loop).
    let sweepInFlight = Atomic<Int>(0)
    let sweepPeakInFlight = Atomic<Int>(0)

    /// False when the configuration asked for no traceroute sockets (`EngineConfiguration.traceroute`).
    let tracerouteEnabled: Bool
    /// True when traces are ICMP only (`EngineConfiguration.icmpTracesOnly`): no trace sockets.
    let icmpTracesOnly: Bool

    init(sockets: [IPFamily: ICMPSocket], traceSockets: [IPFamily: TraceSockets], unavailableFamilies: [IPFamily: ProbeError], captureActive: Bool, captureGrace: Duration, wakeDescriptor: Int32, sweepIdentifier: UInt16? = nil, tracerouteEnabled: Bool = true, icmpTracesOnly: Bool = false) {
        self.sweepIdentifier = sweepIdentifier
        self.tracerouteEnabled = tracerouteEnabled
        self.icmpTracesOnly = icmpTracesOnly
        self.sockets = sockets
        self.traceSockets = traceSockets
        self.unavailableFamilies = unavailableFamilies
        self.captureActive = captureActive
        self.captureGrace = captureGrace
        self.wakeDescriptor = wakeDescriptor
    }

    deinit { close(wakeDescriptor) }

    var isShutDown: Bool { state.withLock { $0.shutDown } }

    var inFlightCount: Int { state.withLock { $0.pending.count } }

    func wake() {
        _ = cp_wake_signal(wakeDescriptor)
    }

    /// Runs `body` on the engine thread, inside the engine's network namespace (route lookups,
    /// sockets that must live there). Nil when the engine has shut down.
    func onEngineThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let accepted = state.withLock { state in
                guard !state.shutDown else { return false }
                state.jobs.append { continuation.resume(returning: body()) }
                return true
            }
            if accepted { wake() } else { continuation.resume(returning: nil) }
        }
    }

    /// A fresh sweep id (never 0).
    func reserveSweepID() -> UInt32 {
        state.withLock { state in
            let id = state.nextSweepID
            state.nextSweepID = id == UInt32.max ? 1 : id + 1
            return id
        }
    }

    /// Queues a sweep command for the engine thread; false when the engine has shut down.
    @discardableResult
    func submit(_ command: SweepCommand) -> Bool {
        let accepted = state.withLock { state in
            guard !state.shutDown else { return false }
            state.sweepCommands.append(command)
            return true
        }
        if accepted { wake() }
        return accepted
    }

    /// The error of a trace on an engine opened without traceroute sockets.
    static let tracerouteDisabled = ProbeError.invalidArgument(
        name: "engine", reason: "this engine was opened without traceroute sockets (EngineConfiguration.traceroute is false)")

    /// The error of a UDP or TCP trace on an engine opened for ICMP traces only.
    static let udpAndTCPTracesDisabled = ProbeError.invalidArgument(
        name: "engine", reason: "this engine was opened for ICMP traces only (EngineConfiguration.icmpTracesOnly): use -M icmp, or an engine with UDP and TCP trace sockets")

    /// What marks a packet as one of this engine's trace probes in `family`: nil when the
    /// family has no raw socket (no traces) or traces are off.
    func traceIdentity(_ family: IPFamily) -> TraceFlowIdentity? {
        guard tracerouteEnabled, let socket = sockets[family], socket.kind == .raw else { return nil }
        if let trace = traceSockets[family] { return trace.identity(echoIdentifier: socket.identifier) }
        return icmpTracesOnly ? TraceFlowIdentity(udpPort: nil, tcpPort: nil, tcpSequenceSalt: 0, echoIdentifier: socket.identifier) : nil
    }

    /// What the engine thread takes over at the end of each loop turn, under one lock.
    struct Turn {
        var shutDown: Bool
        /// Whether any ping waits for its reply (only then does `expire` have work).
        var pingsPending: Bool
        var jobs: [@Sendable () -> Void]
        var sweepCommands: [SweepCommand]
    }

    /// Takes the queued jobs and sweep commands, and says whether the engine is shutting down
    /// and whether pings are pending: one lock per loop turn instead of four.
    func takeTurn() -> Turn {
        state.withLock { state in
            var turn = Turn(shutDown: state.shutDown, pingsPending: !state.pending.isEmpty, jobs: [], sweepCommands: [])
            if !state.jobs.isEmpty { swap(&turn.jobs, &state.jobs) }
            if !state.sweepCommands.isEmpty { swap(&turn.sweepCommands, &state.sweepCommands) }
            return turn
        }
    }

    /// Sends one echo request and waits for its reply, its timeout, or cancellation.
    func echo(to destination: IPAddress, socket: ICMPSocket, timeout: Duration, payloadSize: Int) async -> EchoOutcome {
        let ticket = Locked<ProbeKey?>(nil)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<EchoOutcome, Never>) in
                let token = UInt64.random(in: 1...UInt64.max)
                let deadline = ContinuousClock.now.advanced(by: timeout)
                let registered: ProbeKey? = state.withLock { state in
                    guard !state.shutDown, let sequence = state.allocateSequence(destination.family) else { return nil }
                    let key = ProbeKey(family: destination.family, sequence: sequence)
                    state.pending[key] = PendingEcho(token: token, destination: destination, deadline: deadline, continuation: continuation)
                    return key
                }
                guard let key = registered else {
                    continuation.resume(returning: EchoOutcome(sequence: 0, status: .engineShutDown))
                    return
                }
                ticket.withLock { $0 = key }
                send(key: key, token: token, destination: destination, socket: socket, payloadSize: payloadSize)
                // The engine thread waits only until the deadlines it knows of: tell it this one.
                wake()
                if Task.isCancelled { cancel(key) }
            }
        } onCancel: {
            if let key = ticket.withLock({ $0 }) { cancel(key) }
        }
    }

    private func send(key: ProbeKey, token: UInt64, destination: IPAddress, socket: ICMPSocket, payloadSize: Int) {
        var packet = [UInt8](repeating: 0, count: payloadSize + 8)
        var length = 0
        var result = cp_echo_build(destination.family.posixValue, socket.identifier, key.sequence, token, payloadSize, &packet, packet.count, &length)
        var sentAt: Int64 = 0
        if result == 0 {
            var address = destination.raw
            result = cp_send_to(socket.descriptor, packet, length, &address, &sentAt)
        }
        let now = ContinuousClock.now
        let completion: (CheckedContinuation<EchoOutcome, Never>, EchoOutcome)? = state.withLock { state in
            guard var entry = state.pending[key] else { return nil }
            if result < 0 {
                state.pending[key] = nil
                return (entry.continuation, EchoOutcome(sequence: key.sequence, status: .sendFailed(errno: -result)))
            }
            entry.sent = true
            entry.userSendNanoseconds = sentAt
            if let outcome = entry.outcomeIfReady(sequence: key.sequence, now: now, captureActive: captureActive) {
                state.pending[key] = nil
                return (entry.continuation, outcome)
            }
            state.pending[key] = entry
            return nil
        }
        if let (continuation, outcome) = completion { continuation.resume(returning: outcome) }
    }

    func cancel(_ key: ProbeKey) {
        let removed = state.withLock { $0.pending.removeValue(forKey: key) }
        removed?.continuation.resume(returning: EchoOutcome(sequence: key.sequence, status: .cancelled))
    }

    /// Applies `update` to the outstanding probe `key` if its token matches, then completes it
    /// when it has all it needs. Returns whether the packet belonged to a probe.
    @discardableResult
    func update(_ key: ProbeKey, token: UInt64, now: ContinuousClock.Instant, _ change: (inout PendingEcho) -> Void) -> Bool {
        let (matched, completion): (Bool, (CheckedContinuation<EchoOutcome, Never>, EchoOutcome)?) = state.withLock { state in
            guard var entry = state.pending[key], entry.token == token else { return (false, nil) }
            change(&entry)
            if let outcome = entry.outcomeIfReady(sequence: key.sequence, now: now, captureActive: captureActive) {
                state.pending[key] = nil
                return (true, (entry.continuation, outcome))
            }
            state.pending[key] = entry
            return (true, nil)
        }
        if let (continuation, outcome) = completion { continuation.resume(returning: outcome) }
        return matched
    }

    /// Completes every probe whose deadline or capture grace has passed. Returns the nearest
    /// deadline of the probes still waiting (nil when none waits by time).
    func expire(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        let (completions, next): ([(CheckedContinuation<EchoOutcome, Never>, EchoOutcome)], ContinuousClock.Instant?) = state.withLock { state in
            // The loop comes here only when pings were pending at the end of its turn.
            if state.pending.isEmpty { return ([], nil) }
            var done: [(CheckedContinuation<EchoOutcome, Never>, EchoOutcome)] = []
            var next: ContinuousClock.Instant?
            for (key, entry) in state.pending {
                if let outcome = entry.outcomeIfReady(sequence: key.sequence, now: now, captureActive: captureActive) {
                    done.append((entry.continuation, outcome))
                    state.pending[key] = nil
                } else if let at = entry.nextDeadline(captureActive: captureActive) {
                    next = min(next ?? at, at)
                }
            }
            return (done, next)
        }
        for (continuation, outcome) in completions { continuation.resume(returning: outcome) }
        return next
    }

    // MARK: - Trace ticks

    /// A fresh id for one trace's tick requests.
    func reserveTraceID() -> UInt64 {
        traces.withLock { registry in
            let id = registry.nextTraceID
            registry.nextTraceID &+= 1
            return id
        }
    }

    /// Asks the engine thread to send `sink` a `.tick` once `instant` has come, in place of
    /// the trace's earlier request. A waiting trace is woken at its nearest deadline, not by a
    /// timer: a trace that waits a second for a silent hop costs no CPU meanwhile.
    func requestTick(_ traceID: UInt64, at instant: ContinuousClock.Instant, sink: AsyncStream<TraceEvent>.Continuation) {
        let mustWake = traces.withLock { registry -> Bool in
            registry.wakeups[traceID] = TraceWakeup(at: instant, sink: sink)
            switch registry.engineWait {
            case .awake: return false // it looks at every request before it waits again
            case .until(let planned): return instant < planned
            case .indefinitely: return true
            }
        }
        if mustWake { wake() }
    }

    /// Withdraws a trace's tick request (the trace has finished or stopped waiting).
    func cancelTick(_ traceID: UInt64) {
        _ = traces.withLock { $0.wakeups.removeValue(forKey: traceID) }
    }

    /// Engine thread, after each wait: sends a `.tick(now)` to every trace whose instant has
    /// come, and notes that the thread is awake (requests need no wake-up until it waits again).
    func tickDueTraces(now: ContinuousClock.Instant) {
        let due: [AsyncStream<TraceEvent>.Continuation] = traces.withLock { registry in
            registry.engineWait = .awake
            guard !registry.wakeups.isEmpty else { return [] }
            var due: [AsyncStream<TraceEvent>.Continuation] = []
            for (id, wakeup) in registry.wakeups where wakeup.at <= now {
                due.append(wakeup.sink)
                registry.wakeups[id] = nil
            }
            return due
        }
        for sink in due { sink.yield(.tick(now)) }
    }

    /// Engine thread, just before it waits: how long it may wait, until the nearest trace
    /// tick or `deadline` (nil: no deadline at all), recorded under the registry's lock so that
    /// a request for an earlier tick made from now on wakes it; and whether any trace probe
    /// waits for an answer or a tick.
    func waitDeadline(before deadline: ContinuousClock.Instant?) -> (deadline: ContinuousClock.Instant?, tracesActive: Bool) {
        traces.withLock { registry in
            var next = deadline
            for wakeup in registry.wakeups.values { next = min(next ?? wakeup.at, wakeup.at) }
            registry.engineWait = next.map { .until($0) } ?? .indefinitely
            return (next, !registry.routes.isEmpty || !registry.wakeups.isEmpty)
        }
    }

    /// Marks the engine shut down and fails every outstanding probe.
    func shutDown() {
        let orphans: [(ProbeKey, PendingEcho)] = state.withLock { state in
            guard !state.shutDown else { return [] }
            state.shutDown = true
            let all = Array(state.pending)
            state.pending.removeAll()
            return all
        }
        for (key, entry) in orphans {
            entry.continuation.resume(returning: EchoOutcome(sequence: key.sequence, status: .engineShutDown))
        }
        let traceSinks = traces.withLock { registry in
            let sinks = registry.routes.values.map(\.sink)
            registry.routes.removeAll()
            registry.wakeups.removeAll()
            return sinks
        }
        for sink in traceSinks { sink.finish() }
        wake()
    }
}
