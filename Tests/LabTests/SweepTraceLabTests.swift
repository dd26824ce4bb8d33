import Foundation
import ISPChecker
import Testing
import TestSupport

/// Sweeps of traces (`ProbeEngine.sweepTraces`, `isp-checker sweep --trace`) through the lab's
/// three-router chain to addresses of the destination's range (10.77.128.0/20, answered by the
/// destination namespace itself), checked against the routers' real addresses.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct SweepTraceLabTests {
    func engine(in lab: Lab) throws -> ProbeEngine {
        try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
    }

    /// The routers' addresses in path order, from the lab itself (its last line is the destination's own).
    func routers(_ lab: Lab, v6: Bool = false) throws -> [String] {
        let output = try run("/bin/bash", [Lab.script, "path", "--prefix", lab.prefix] + (v6 ? ["--v6"] : []))
        return output.stdout.split(separator: "\n").dropLast().map(String.init)
    }

    func collect(_ stream: AsyncThrowingStream<SweepTraceResult, any Error>) async throws -> [SweepTraceResult] {
        var results: [SweepTraceResult] = []
        for try await result in stream { results.append(result) }
        return results
    }

    @Test func twoHundredConcurrentTracesEachReachTheirOwnTargetThroughTheRealRouters() async throws {
        // idealised: 200 traces each need one answer from every router at once; the kernel's per-destination limit (burst 6) would silence them.
        let lab = try Lab.up("swtr200", realistic: false)
        defer { lab.down() }
        let routers = try routers(lab)
        #expect(routers.count == 3)
        let engine = try engine(in: lab)
        let targets = Array(try SweepTargets.expand(["10.77.128.0/24"]).prefix(200))
        let maxHops = 8
        let options = SweepTraceOptions(trace: TraceOptions(maxHops: maxHops), maxConcurrentTraces: 32)

        // Watches the engine's outstanding probes while the traces run: the most seen at once.
        let watcher = Task {
            var most = 0
            while !Task.isCancelled {
                most = max(most, engine.inFlightProbes)
                try? await Task.sleep(for: .milliseconds(1))
            }
            return most
        }
        let results = try await collect(try engine.sweepTraces(targets, options: options))
        watcher.cancel()
        let observed = await watcher.value

        #expect(results.map(\.index).sorted() == Array(0..<200))
        // Each its own destination, never another trace's: replies did not cross.
        let wrong = wrongTraces(results, targets: targets, routers: routers)
        #expect(wrong.isEmpty, "\(wrong.count) wrong: \(wrong.prefix(10))")
        // At most 32 traces of at most 8 probes each at once, and more than one trace at a time.
        #expect(observed <= 32 * maxHops)
        #expect(observed > maxHops, "peak \(observed) probes in flight")
        #expect(engine.inFlightProbes == 0)
    }

    /// Every trace reached its own target through exactly these routers, one answer per hop,
    /// the last from `lastHop` (the target itself unless given).
    func wrongTraces(_ results: [SweepTraceResult], targets: [IPAddress], routers: [String], lastHop: String? = nil) -> [String] {
        results.compactMap { result in
            let target = targets[result.index]
            guard result.address == target, let trace = result.trace else { return "\(target): \(String(describing: result.error))" }
            let path = trace.hops.map { $0.addresses.first?.address.description ?? "*" }
            let right = trace.address == target && trace.stop == .destinationReached && path == routers + [lastHop ?? target.description]
                && trace.hops.last?.isDestination == true
                && trace.hops.allSatisfy { $0.addresses.count == 1 && $0.received == 1 }
            return right ? nil : "\(target): \(trace.stop) \(path)"
        }
    }

    /// A sweep-wide rate is one budget for all running traces, not one per trace: 16 traces of 4
    /// probes at 50 probes/s take at least 63/50 s, where 16 traces pacing themselves alone at
    /// 50/s would need 3/50 s.
    @Test func aSweepWideRateIsSharedByEveryRunningTrace() async throws {
        // idealised: measures the sweep's own pacing, which the kernel's ICMP limits would blur.
        let lab = try Lab.up("swtrrate", realistic: false)
        defer { lab.down() }
        let routers = try routers(lab)
        let engine = try engine(in: lab)
        let targets = try SweepTargets.expand(["10.77.129.0/28"])
        let trace = TraceOptions(maxHops: 4, probesPerSecond: 50, burst: 1)
        let options = SweepTraceOptions(trace: trace, maxConcurrentTraces: 16, probesPerSecond: 50)
        let started = ContinuousClock.now
        let results = try await collect(try engine.sweepTraces(targets, options: options))
        let elapsed = ContinuousClock.now - started
        #expect(results.count == 16)
        let wrong = wrongTraces(results, targets: targets, routers: routers)
        #expect(wrong.isEmpty, "\(wrong)")
        #expect(elapsed >= .milliseconds(1_260), "64 probes at 50/s after a burst of 1: \(elapsed)")
        #expect(elapsed < .milliseconds(4_000), "and not much longer: \(elapsed)")
    }

    /// The destination serves fd00:77::/64 by a local route, so IPv6 answers a UDP probe's port
    /// unreachable from its own interface's address (it picks the source of an ICMPv6 error
    /// anew): the trace still ends there, at the destination, as traceroute's does.
    @Test func ipv6TracesReachTheirTargetsThroughTheRealRouters() async throws {
        // idealised: 16 concurrent traces each need every hop answered once; IPv6's 100 ms per-destination limit would silence them.
        let lab = try Lab.up("swtrsix", realistic: false)
        defer { lab.down() }
        let routers = try routers(lab, v6: true)
        #expect(routers.count == 3 && routers.allSatisfy { $0.hasPrefix("fd00:99:") }, "\(routers)")
        let destination = lab.destination6
        let engine = try engine(in: lab)
        let targets = try SweepTargets.expand(["fd00:77::100/122"])
        #expect(targets.count == 64 && targets.allSatisfy { $0.family == .ipv6 })
        let options = SweepTraceOptions(trace: TraceOptions(maxHops: 8), maxConcurrentTraces: 16)
        let results = try await collect(try engine.sweepTraces(targets, options: options))
        #expect(results.map(\.index).sorted() == Array(0..<64))
        let wrong = wrongTraces(results, targets: targets, routers: routers, lastHop: destination)
        #expect(wrong.isEmpty, "\(wrong.count) wrong: \(wrong.prefix(10))")
        #expect(engine.inFlightProbes == 0)
    }

    @Test func cancellingTheConsumerStopsEveryRunningTrace() async throws {
        // idealised: about cancellation, not the network.
        let lab = try Lab.up("swtrcancel", realistic: false)
        defer { lab.down() }
        // The destination never answers: every trace would wait out its 30 s timeout.
        try lab.configure("silent", ["--node", "d"])
        let engine = try engine(in: lab)
        let options = SweepTraceOptions(trace: TraceOptions(maxHops: 6, timeout: .seconds(30)), maxConcurrentTraces: 16)
        let stream = try engine.sweepTraces(["10.77.130.0/24"], options: options)
        let consumer = Task { try await collect(stream) }
        var waited = 0
        while engine.inFlightProbes < 16 * 3 && waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(engine.inFlightProbes >= 16 * 3, "16 traces have their silent hops outstanding")
        #expect(engine.inFlightProbes <= 16 * 6)
        let cancelled = ContinuousClock.now
        consumer.cancel()
        let delivered = try await consumer.value
        #expect(delivered.isEmpty)
        // Freed once each trace sees its cancellation, long before the 30 s timeout.
        while engine.inFlightProbes > 0 && ContinuousClock.now - cancelled < .seconds(10) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(engine.inFlightProbes == 0)
        #expect(ContinuousClock.now - cancelled < .seconds(10))
    }

    @Test func anEngineWithoutTracerouteSocketsSweepsAndRefusesTraces() async throws {
        // idealised: exact counts; the point is which sockets the engine opens.
        let lab = try Lab.up("swnotrace", realistic: false)
        defer { lab.down() }
        let engine = try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capture: .disabled, capabilities: .keep, traceroute: false))
        var received = 0
        for try await result in try engine.sweep(["10.77.128.0/28"], options: SweepOptions(packetsPerSecond: 10_000, timeout: .milliseconds(500))) {
            received += result.received
        }
        #expect(received == 16)
        let refused = ProbeError.invalidArgument(name: "engine", reason: "this engine was opened without traceroute sockets (EngineConfiguration.traceroute is false)")
        #expect(throws: refused) { try engine.sweepTraces(["10.77.128.1"]) }
        await #expect(throws: refused) { _ = try await engine.traceroute(lab.destination4) }
    }

    @Test func badSweepTraceInputIsATypedError() throws {
        // idealised: typed input errors only, no packet matters.
        let lab = try Lab.up("swtrinput", realistic: false)
        defer { lab.down() }
        let engine = try engine(in: lab)
        #expect(throws: ProbeError.invalidArgument(name: "targets", reason: "the list is empty; give at least one address")) {
            try engine.sweepTraces([IPAddress]())
        }
        #expect(performing: { try engine.sweepTraces(["10.77.128.0/33"]) }, throws: { error in
            guard case ProbeError.invalidArgument(name: "targets", _) = error else { return false }
            return true
        })
        for options in [SweepTraceOptions(maxConcurrentTraces: 0), SweepTraceOptions(trace: TraceOptions(maxHops: 65))] {
            #expect(performing: { try engine.sweepTraces(["10.77.128.1"], options: options) }, throws: { error in
                guard case ProbeError.invalidArgument = error else { return false }
                return true
            })
        }
        engine.shutdown()
        #expect(throws: ProbeError.engineShutDown) { try engine.sweepTraces(["10.77.128.1"]) }
    }

    struct TraceLine: Decodable {
        struct Trace: Decodable {
            struct Hop: Decodable {
                struct Address: Decodable { var address: String }
                var ttl: Int
                var addresses: [Address]
            }
            var address: String
            var hops: [Hop]
        }
        var index: Int
        var address: String
        var hops: Int?
        var destinationReached: Bool?
        var lossStartTTL: Int?
        var trace: Trace?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case index, address, hops, trace, error
            case destinationReached = "destination_reached"
            case lossStartTTL = "loss_start_ttl"
        }
    }

    struct TraceSummaryLine: Decodable {
        struct Summary: Decodable { var traced: Int; var reached: Int; var failed: Int; var seconds: Double }
        var traceSummary: Summary
    }

    /// The keys of `sweep --trace --json` are snake_case; the summaries read them by their Swift names.
    var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    struct SweepLine: Decodable {
        struct Summary: Decodable { var targets: Int; var targetsWithoutReply: Int }
        var summary: Summary
    }

    @Test func cliTracesTheAnsweringTargetsAsJSONLines() throws {
        // idealised: the CLI's JSON lines need every hop of every concurrent trace answered.
        let lab = try Lab.up("swtrcli", realistic: false)
        defer { lab.down() }
        let routers = try routers(lab)
        // 10.77.128.3 never answers ping: it is not traced.
        try lab.configure("echo-drop", ["--node", "d", "--to", "10.77.128.3", "--drop", "1", "--every", "1"])
        let output = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/29", "-W", "0.5", "--trace", "--trace-concurrency", "4", "--max-hops", "8", "--json"], check: false)
        #expect(output.status == 1, "one target never answers: \(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map { Data($0.utf8) }
        // The sweep's report, one line per trace, the traces' summary.
        try #require(lines.count == 1 + 7 + 1, "\(output.stdout)")
        #expect(try JSONSchema.violations(of: output, schema: "sweep-trace", lines: true) == [])
        #expect(try JSONSchema.violations(of: lines[0], schema: "sweep") == [], "the first line is the sweep's report")
        let sweep = try decoder.decode(SweepLine.self, from: lines[0])
        #expect(sweep.summary.targets == 8 && sweep.summary.targetsWithoutReply == 1)
        let traces = try lines.dropFirst().dropLast().map { try JSONDecoder().decode(TraceLine.self, from: $0) }
        let summary = try decoder.decode(TraceSummaryLine.self, from: lines[8]).traceSummary
        #expect(summary.traced == 7 && summary.reached == 7 && summary.failed == 0 && summary.seconds > 0, "\(summary)")
        let expected = (0..<8).filter { $0 != 3 }.map { "10.77.128.\($0)" }
        #expect(traces.map(\.address).sorted() == expected)
        for line in traces {
            #expect(line.error == nil && line.destinationReached == true && line.hops == 4 && line.lossStartTTL == nil, "\(line)")
            #expect(line.address == "10.77.128.\(line.index)")
            let trace = try #require(line.trace)
            #expect(trace.address == line.address)
            #expect(trace.hops.map { $0.addresses.first?.address ?? "*" } == routers + [line.address])
        }
    }

    @Test func cliTraceAllTracesTheSilentTargetsTooOneTextLineEach() throws {
        // idealised: every hop of every concurrent trace must answer.
        let lab = try Lab.up("swtrall", realistic: false)
        defer { lab.down() }
        // Ping gets no answer from 10.77.128.3, but its UDP traces do.
        try lab.configure("echo-drop", ["--node", "d", "--to", "10.77.128.3", "--drop", "1", "--every", "1"])
        let output = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/30", "-W", "0.5", "--trace-all", "-m", "8"], check: false)
        #expect(output.status == 1, "one target never answers ping: \(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        for last in 0..<4 {
            let address = "10.77.128.\(last)"
            let line = lines.first { $0.hasPrefix("\(address) : 4 hops") }
            #expect(line?.contains("destination reached, no loss, last answer hop 4 \(address),") == true, "\(lines)")
        }
        #expect(lines.contains { $0.hasPrefix("--- traces: 4 traced, 4 reached their destination, 0 failed") }, "\(lines)")
    }

    @Test func cliRejectsATraceConcurrencyOfZeroAsAUsageError() throws {
        // idealised: typed errors only, no packet matters.
        let lab = try Lab.up("swtrbad", realistic: false)
        defer { lab.down() }
        let zero = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/30", "--trace", "--trace-concurrency", "0"], check: false)
        #expect(zero.status == 64, "usage errors exit 64 (ExitStatus)")
        #expect(zero.stderr.contains("--trace-concurrency must be 1 ... 1000"), "\(zero.stderr)")
        #expect(zero.stdout.isEmpty, "nothing is pinged before the options are checked")
        let rate = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/30", "--trace", "--trace-rate", "0"], check: false)
        #expect(rate.status == 64)
        #expect(rate.stderr.contains("--trace-rate must be 1 ... 1000000"), "\(rate.stderr)")
        let withoutTrace = try lab.exec("c", [cliPath, "sweep", "10.77.128.0/30", "--trace-concurrency", "8"], check: false)
        #expect(withoutTrace.status == 64)
        #expect(withoutTrace.stderr.contains("need --trace"), "\(withoutTrace.stderr)")
    }
}
