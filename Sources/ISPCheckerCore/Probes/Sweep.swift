import ISPCheckerPrimitives
import ISPCheckerResults

extension ProbeEngine {
    /// Pings many targets at once: address literals and CIDR prefixes ("10.77.128.0/20"),
    /// expanded by `SweepTargets.expand`. See `sweep(_:options:)` for the addresses form.
    public func sweep(_ targets: [String], options: SweepOptions = .default) throws(ProbeError) -> AsyncThrowingStream<SweepResult, any Error> {
        try sweep(SweepTargets.expand(targets), options: options)
    }

    /// `sweepBatches(_:options:)` for address literals and CIDR prefixes.
    public func sweepBatches(_ targets: [String], options: SweepOptions = .default) throws(ProbeError) -> AsyncThrowingStream<[SweepResult], any Error> {
        try sweepBatches(SweepTargets.expand(targets), options: options)
    }

    /// Pings thousands of addresses from this engine at `options.packetsPerSecond`, through
    /// the engine's raw ICMP socket of each family, and streams one `SweepResult` per address
    /// as soon as all of its probes have been answered or have timed out (completion order, not
    /// list order: `SweepResult.index` says which). The stream ends when every target is done.
    /// Finished targets are handed over in groups: at the latest 100 ms after they complete,
    /// or as soon as 256 are ready (one wake-up of the consuming task per result was most of a
    /// slow sweep's CPU time).
    ///
    /// Sequence numbers are 16 bits per family: at most 65,536 sweep probes of one family (all
    /// sweeps of the engine together) wait at once; beyond that the sweep sends its next probe
    /// only when an earlier one completes. Pings of the same engine are unaffected (they use
    /// another echo identifier).
    ///
    /// Stop listening (cancel the consuming task, or drop the iterator) and the engine stops the
    /// sweep at its next loop turn and frees its state; probes already sent are ignored.
    ///
    /// - Throws: `.invalidArgument` for an empty list, more than `SweepTargets.maximumCount`
    ///   addresses, or options out of range; `.permissionDenied` when a target's family has
    ///   only the unprivileged datagram socket (a sweep needs a raw one, whose echo identifier
    ///   the engine chooses); `.addressFamilyUnavailable` when it has no socket at all;
    ///   `.engineShutDown`. The stream itself fails only with `.engineShutDown`.
    public func sweep(_ targets: [IPAddress], options: SweepOptions = .default) throws(ProbeError) -> AsyncThrowingStream<SweepResult, any Error> {
        let id = try checkSweep(targets, options: options)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: SweepResult.self, throwing: (any Error).self)
        let core = self.core
        continuation.onTermination = { termination in
            if case .cancelled = termination { core.submit(.cancel(id)) }
        }
        try start(id, targets, options, sink: .results(continuation))
        return stream
    }

    /// The same sweep as `sweep(_:options:)`, delivering the targets finished in one turn of
    /// the engine loop as one array: the consumer wakes once per batch rather than once per
    /// target, which is cheaper for sweeps of thousands of single-probe targets.
    public func sweepBatches(_ targets: [IPAddress], options: SweepOptions = .default) throws(ProbeError) -> AsyncThrowingStream<[SweepResult], any Error> {
        let id = try checkSweep(targets, options: options)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [SweepResult].self, throwing: (any Error).self)
        let core = self.core
        continuation.onTermination = { termination in
            if case .cancelled = termination { core.submit(.cancel(id)) }
        }
        try start(id, targets, options, sink: .batches(continuation))
        return stream
    }

    /// Hands the sweep to the engine thread (the stream's cancellation hook is already set).
    private func start(_ id: UInt32, _ targets: [IPAddress], _ options: SweepOptions, sink: SweepSink) throws(ProbeError) {
        guard core.submit(.start(SweepRequest(id: id, addresses: targets, options: options, sink: sink))) else {
            throw .engineShutDown
        }
        logger.debug("sweep started", metadata: ["targets": "\(targets.count)", "probes per target": "\(options.probesPerTarget)", "rate": "\(options.packetsPerSecond)"])
    }

    /// Validates a sweep and reserves its id.
    private func checkSweep(_ targets: [IPAddress], options: SweepOptions) throws(ProbeError) -> UInt32 {
        try SweepTargets.checkCount(targets)
        try options.validate()
        if core.isShutDown { throw .engineShutDown }
        for family in Set(targets.map(\.family)) {
            let socket = try socket(for: family)
            guard socket.kind == .raw, core.sweepIdentifier != nil else {
                throw .permissionDenied(hint: "a sweep needs a raw \(family) ICMP socket (its echo identifier is the engine's to choose): run as root or grant CAP_NET_RAW")
            }
        }
        return core.reserveSweepID()
    }
}
