import ArgumentParser
import ISPChecker

/// `sweep --trace …`: which targets a sweep traces after its pings, and how.
struct SweepTraceArguments: ParsableArguments {
    @Flag(help: "After the pings, trace every target that answered at least one ping.")
    var trace = false

    @Flag(help: "After the pings, trace every target, answering or not (implies --trace).")
    var traceAll = false

    @Option(help: "Traces running at once (1-\(SweepTraceOptions.maximumConcurrentTraces), default 64).")
    var traceConcurrency: Int?

    @Option(name: [.customShort("m"), .long], help: "Last TTL each trace probes (1-64, default 30).")
    var maxHops: Int?

    @Option(help: "Trace probe method: udp (default), icmp or tcp.")
    var traceMethod: TraceCommand.Method?

    @Option(help: "Destination port of tcp trace probes (udp: first port).")
    var tracePort: UInt16?

    @Option(help: "Seconds each trace probe waits for its answer (default 1).")
    var traceTimeout: Double?

    @Option(help: "Most trace probes per second for the whole sweep, shared by the running traces (default: no sweep-wide limit, each trace at most 1000/s).")
    var traceRate: Int?

    /// Whether any targets are traced.
    var enabled: Bool { trace || traceAll }

    func validate() throws {
        let given = traceConcurrency != nil || maxHops != nil || traceMethod != nil || tracePort != nil || traceTimeout != nil
            || traceRate != nil
        if given && !enabled { throw ValidationError("trace options need --trace or --trace-all") }
        if let traceTimeout { try OptionRange.seconds(traceTimeout, flag: "--trace-timeout") }
        if let traceConcurrency {
            try OptionRange.integer(traceConcurrency, flag: "--trace-concurrency", 1...SweepTraceOptions.maximumConcurrentTraces)
        }
        if let maxHops { try OptionRange.integer(maxHops, flag: "-m/--max-hops", 1...64) }
        if let traceRate { try OptionRange.integer(traceRate, flag: "--trace-rate", 1...SweepTraceOptions.maximumProbesPerSecond) }
        if traceMethod == .tcp && tracePort == nil { throw ValidationError("--trace-method tcp needs --trace-port (e.g. 443)") }
    }

    /// The library options these arguments ask for, checked by the library's own validation.
    /// - Throws: `ProbeError.invalidArgument` for a value out of range.
    func options() throws(ProbeError) -> SweepTraceOptions {
        var trace = TraceOptions.default
        switch traceMethod ?? .udp {
        case .udp:
            trace.method = .udp
            if let tracePort { trace.udpBasePort = tracePort }
        case .icmp: trace.method = .icmp
        case .tcp: trace.method = .tcp(port: tracePort ?? 443)
        }
        if let maxHops { trace.maxHops = maxHops }
        if let traceTimeout { trace.timeout = .seconds(traceTimeout) }
        let options = SweepTraceOptions(
            trace: trace, maxConcurrentTraces: traceConcurrency ?? SweepTraceOptions.default.maxConcurrentTraces,
            probesPerSecond: traceRate)
        try options.validate()
        return options
    }
}
