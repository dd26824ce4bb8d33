import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

extension ProbeEngine {
    /// Sends `count` ICMP echo requests to `target`, one every `interval`, and waits up to
    /// `timeout` for each reply.
    ///
    /// - Parameters:
    ///   - target: an IPv4/IPv6 literal or a host name.
    ///   - count: probes to send, 1 ... 1,000,000.
    ///   - interval: time between the starts of two probes, ≥ 0.
    ///   - timeout: how long each probe waits for its reply, > 0.
    ///   - payloadSize: ICMP payload bytes, 12 ... 1400 (56 like iputils by default).
    ///   - family: which family to use when a name has both.
    ///   - progress: called with each probe as it completes (for live output), in completion order.
    /// - Returns: every probe and the summary; no answer at all is 100 % loss, not an error.
    /// - Throws: `ProbeError` for bad arguments, unresolvable targets, or a family with no socket;
    ///   `.cancelled` when the calling task is cancelled (outstanding probes are freed at once).
    public func ping(
        _ target: String,
        count: Int = 5,
        interval: Duration = .seconds(1),
        timeout: Duration = .seconds(2),
        payloadSize: Int = 56,
        family: FamilyPreference = .any,
        progress: (@Sendable (PingProbe) -> Void)? = nil
    ) async throws(ProbeError) -> PingResult {
        try Self.validatePingArguments(count: count, interval: interval, timeout: timeout, payloadSize: payloadSize)
        if core.isShutDown { throw .engineShutDown }
        let address = try await TargetResolver.resolve(target, preference: family)
        let socket = try socket(for: address.family)
        let core = self.core
        let start = ContinuousClock.now

        // Probes complete while later ones are still being sent: collect (and report) them as
        // they come rather than after the last send.
        let (completed, sink) = AsyncStream.makeStream(of: (Int, EchoOutcome).self)
        async let collected: [(Int, EchoOutcome)] = {
            var outcomes: [(Int, EchoOutcome)] = []
            for await outcome in completed {
                outcomes.append(outcome)
                // How far the target is: where a trace to it may stop probing.
                if let ttl = outcome.1.ttl { core.pathLengths.withLock { $0.noteReplyTTL(address, replyTTL: ttl) } }
                if let progress, outcome.1.status != .cancelled, outcome.1.status != .engineShutDown {
                    progress(PingProbe(index: outcome.0, outcome: outcome.1))
                }
            }
            return outcomes
        }()
        await withDiscardingTaskGroup { group in
            for index in 0..<count {
                if index > 0 {
                    do { try await Task.sleep(until: start.advanced(by: interval * index), clock: .continuous) } catch { break }
                }
                if Task.isCancelled { break }
                group.addTask {
                    sink.yield((index, await core.echo(to: address, socket: socket, timeout: timeout, payloadSize: payloadSize)))
                }
            }
        }
        sink.finish()
        let outcomes = await collected
        if Task.isCancelled { throw .cancelled }
        if outcomes.contains(where: { $0.1.status == .engineShutDown }) { throw .engineShutDown }

        let probes = outcomes.sorted { $0.0 < $1.0 }.map { index, outcome in
            PingProbe(index: index, outcome: outcome)
        }
        logger.debug("ping finished", metadata: ["target": "\(target)", "address": "\(address)", "received": "\(probes.filter { $0.status == .received }.count)/\(count)"])
        return PingResult(target: target, address: address, socketKind: socket.kind, probes: probes)
    }
    /// The largest payload a ping sends (the C core builds up to `CP_ECHO_MAX_PAYLOAD`, for
    /// path MTU probes of a whole 1500-byte packet).
    static let maxPingPayload = 1400

    /// Checks ping arguments before anything is resolved or sent.
    static func validatePingArguments(count: Int, interval: Duration, timeout: Duration, payloadSize: Int) throws(ProbeError) {
        guard count >= 1 && count <= 1_000_000 else {
            throw .invalidArgument(name: "count", reason: "must be between 1 and 1000000, got \(count)")
        }
        guard interval >= .zero, interval <= .seconds(3600) else {
            throw .invalidArgument(name: "interval", reason: "must be 0 … 3600 seconds, got \(interval)")
        }
        guard timeout > .zero, timeout <= .seconds(3600) else {
            throw .invalidArgument(name: "timeout", reason: "must be positive and at most 3600 seconds, got \(timeout)")
        }
        guard payloadSize >= Int(CP_ECHO_MIN_PAYLOAD) && payloadSize <= maxPingPayload else {
            throw .invalidArgument(name: "payload size", reason: "must be between \(CP_ECHO_MIN_PAYLOAD) and \(maxPingPayload) bytes, got \(payloadSize)")
        }
    }
}

extension PingProbe {
    init(index: Int, outcome: EchoOutcome) {
        var status = Status.timedOut
        var error: String?
        switch outcome.status {
        case .received:
            status = .received
        case .sendFailed(let code):
            status = .sendFailed
            error = ProbeError.describe(errno: code)
        case .timedOut, .cancelled, .engineShutDown:
            status = .timedOut
        }
        self.init(index: index, sequence: outcome.sequence, status: status, rttNanoseconds: outcome.rttNanoseconds,
                  clock: outcome.clock, replyTTL: outcome.ttl, error: error)
    }
}
