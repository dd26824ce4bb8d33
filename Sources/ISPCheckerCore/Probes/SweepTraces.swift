import ISPCheckerPrimitives
import ISPCheckerResults

extension ProbeEngine {
    /// `sweepTraces(_:options:)` for address literals and CIDR prefixes ("10.77.128.0/20"),
    /// expanded by `SweepTargets.expand`.
    public func sweepTraces(_ targets: [String], options: SweepTraceOptions = .default) throws(ProbeError) -> AsyncThrowingStream<SweepTraceResult, any Error> {
        try sweepTraces(SweepTargets.expand(targets), options: options)
    }

    /// Traces many addresses from this engine, at most `options.maxConcurrentTraces` at once,
    /// and streams one `SweepTraceResult` per address as soon as its trace has finished
    /// (completion order, not list order: `SweepTraceResult.index` says which). The stream ends
    /// when every target has been traced.
    ///
    /// Each trace is `traceroute(_:options:)` with `options.trace`; with `options.probesPerSecond`
    /// the traces also share one send rate, so the sweep as a whole never exceeds it. Concurrent traces share the
    /// engine's raw sockets but never a probe id: the engine gives every outstanding probe of a
    /// family and method an id of its own, and delivers an answer only to the trace whose probe
    /// it quotes and whose destination it concerns, so no trace sees another's replies.
    ///
    /// A target that cannot be traced (no route to it, say) is a result whose `outcome` is the
    /// error; the other targets go on. Stop listening (cancel the consuming task, or drop the
    /// iterator) and the running traces are cancelled at their next wait and no new one starts.
    ///
    /// - Throws: `.invalidArgument` for an empty list, more than `SweepTargets.maximumCount`
    ///   addresses, or options out of range (`SweepTraceOptions.validate()`);
    ///   `.permissionDenied` when a target's family has no raw sockets (traces need them: root
    ///   or CAP_NET_RAW when the engine was created); `.addressFamilyUnavailable`;
    ///   `.engineShutDown`. The stream itself fails only with `.engineShutDown`.
    public func sweepTraces(_ targets: [IPAddress], options: SweepTraceOptions = .default) throws(ProbeError) -> AsyncThrowingStream<SweepTraceResult, any Error> {
        try checkSweepTraces(targets, options: options)
        var traceOptions = options.trace
        // Every target is an address: its own family is the only one it can be traced in.
        traceOptions.family = .any
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: SweepTraceResult.self, throwing: (any Error).self)
        let limit = options.maxConcurrentTraces
        let pacer = options.probesPerSecond.map { SharedPacer(probesPerSecond: $0, burst: traceOptions.burst) }
        let task = Task { [self, traceOptions] in
            await withTaskGroup(of: SweepTraceResult.self) { group in
                var next = 0
                func startNext() {
                    let (index, address) = (next, targets[next])
                    next += 1
                    group.addTask {
                        do throws(ProbeError) {
                            let trace = try await self.traceroute(address.description, options: traceOptions, sharing: pacer)
                            return SweepTraceResult(index: index, address: address, outcome: .success(trace))
                        } catch {
                            return SweepTraceResult(index: index, address: address, outcome: .failure(error))
                        }
                    }
                }
                while next < min(limit, targets.count) { startNext() }
                while let result = await group.next() {
                    // The consumer has gone: the group's remaining traces are cancelled with us.
                    if Task.isCancelled { break }
                    if result.error == .engineShutDown {
                        group.cancelAll()
                        continuation.finish(throwing: ProbeError.engineShutDown)
                        return
                    }
                    continuation.yield(result)
                    if next < targets.count { startNext() }
                }
                group.cancelAll()
                continuation.finish()
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        logger.debug("trace sweep started", metadata: [
            "targets": "\(targets.count)", "concurrency": "\(limit)", "method": "\(traceOptions.method)",
            "rate": "\(options.probesPerSecond.map { "\($0)/s" } ?? "per trace")",
        ])
        return stream
    }

    /// Validates a sweep of traces before anything is sent, so bad input fails at the call.
    private func checkSweepTraces(_ targets: [IPAddress], options: SweepTraceOptions) throws(ProbeError) {
        try SweepTargets.checkCount(targets)
        try options.validate()
        if core.isShutDown { throw .engineShutDown }
        if !core.tracerouteEnabled { throw EngineCore.tracerouteDisabled }
        for family in Set(targets.map(\.family)) where core.sockets[family] == nil || core.traceSockets[family] == nil {
            throw core.unavailableFamilies[family]
                ?? .permissionDenied(hint: "tracing \(family) targets needs raw sockets: run as root or grant CAP_NET_RAW (setcap cap_net_raw+ep isp-checker)")
        }
    }
}
