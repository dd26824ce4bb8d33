import CServiceProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// How the bufferbloat probe loads the path and samples its latency.
public struct BufferbloatOptions: Sendable {
    /// The far end of the bulk TCP flows, `host:port` (`[v6]:port`): a server that reads and
    /// discards what it gets (the upload) and sends bytes without end (the download), such as
    /// `lab/bulk_server.py` or `socat TCP-LISTEN:PORT,fork,reuseaddr SYSTEM:'cat /dev/zero & cat >/dev/null'`.
    /// No default: the flows load the link, so the user names a server they may load.
    public var server: String
    /// How long each direction's flow runs (≥ 1 s): the cost of the probe is about twice this.
    public var flowDuration: Duration
    /// How long a flow runs before its RTT samples count: TCP's slow start fills the queue.
    public var warmUp: Duration
    /// Time between two echo requests to each hop, idle and under load.
    public var echoInterval: Duration
    /// Echo requests to each hop before the load (the idle RTT).
    public var idleEchoes: Int
    /// How long each echo request waits: long, a loaded queue holds replies for hundreds of ms.
    public var echoTimeout: Duration
    /// How long the flow's TCP handshake may take.
    public var connectTimeout: Duration
    public var family: FamilyPreference
    /// Network namespace the flows run in; `nil` for the caller's own. Echo requests go from
    /// the engine's.
    public var networkNamespace: String?

    public init(server: String, flowDuration: Duration = .seconds(4), warmUp: Duration = .seconds(1),
                echoInterval: Duration = .milliseconds(100), idleEchoes: Int = 10, echoTimeout: Duration = .seconds(2),
                connectTimeout: Duration = .seconds(3), family: FamilyPreference = .any, networkNamespace: String? = nil) {
        self.server = server
        self.flowDuration = flowDuration
        self.warmUp = warmUp
        self.echoInterval = echoInterval
        self.idleEchoes = idleEchoes
        self.echoTimeout = echoTimeout
        self.connectTimeout = connectTimeout
        self.family = family
        self.networkNamespace = networkNamespace
    }

    /// - Throws: `.invalidArgument` naming the option and its range.
    public func validate() throws(ProbeError) {
        guard flowDuration >= .seconds(1), flowDuration <= .seconds(60) else {
            throw .invalidArgument(name: "bufferbloat flow duration", reason: "must be 1 ... 60 s")
        }
        guard warmUp >= .zero, warmUp + .milliseconds(500) <= flowDuration else {
            throw .invalidArgument(name: "bufferbloat warm-up", reason: "must be ≥ 0 and leave at least 0.5 s of the flow")
        }
        guard echoInterval >= .milliseconds(10), echoInterval <= .seconds(1) else {
            throw .invalidArgument(name: "bufferbloat echo interval", reason: "must be 10 ms ... 1 s")
        }
        guard (1...100).contains(idleEchoes) else { throw .invalidArgument(name: "bufferbloat idle echoes", reason: "must be 1 ... 100") }
        guard echoTimeout.isPositive, connectTimeout.isPositive else {
            throw .invalidArgument(name: "bufferbloat timeout", reason: "must be > 0")
        }
    }
}

extension ProbeEngine {
    /// Latency under load: echo requests to every hop of `hops` and to `target`, idle, then while
    /// a bulk TCP flow to `options.server` uploads, then while one downloads (one direction at a
    /// time, so the hop whose queue grows is told per direction). Costs `idleEchoes` ×
    /// `echoInterval` plus two `flowDuration`s, and loads the link for those two: off unless asked.
    ///
    /// - Throws: `ProbeError` for bad options, an unresolvable target or server, a family with
    ///   no ICMP socket, or `.cancelled`. A flow that fails (refused, reset) is in the result's
    ///   `flows`, not an error.
    public func bufferbloat(_ target: String, hops: [BufferbloatResult.PathHop] = [],
                            options: BufferbloatOptions) async throws(ProbeError) -> BufferbloatResult {
        try options.validate()
        if core.isShutDown { throw .engineShutDown }
        let started = ContinuousClock.now
        let (serverHost, serverPort) = try TCPTarget.split(options.server)
        guard (1...65535).contains(serverPort) else { throw .invalidArgument(name: "bufferbloat server port", reason: "must be 1-65535, got \(serverPort)") }
        let address = try await TargetResolver.resolve(target, preference: options.family)
        // The target's family when the server has it; else any: both families usually share the
        // access line, where queues grow.
        let serverAddress: IPAddress
        do {
            serverAddress = try await TargetResolver.resolve(serverHost, preference: address.family == .ipv4 ? .ipv4 : .ipv6)
        } catch {
            serverAddress = try await TargetResolver.resolve(serverHost, preference: .any)
        }
        var points = hops.filter { $0.address != address && $0.address.family == address.family }.sorted { $0.ttl < $1.ttl }
        points.append(BufferbloatResult.PathHop(ttl: (points.last?.ttl ?? 0) + 1, address: address))
        let family: FamilyPreference = address.family == .ipv4 ? .ipv4 : .ipv6

        let idle = await samples(points, count: options.idleEchoes, interval: options.echoInterval / 2,
                                 timeout: options.echoTimeout, family: family)
        if Task.isCancelled { throw .cancelled }
        var latencies = points.enumerated().map { index, point in
            BufferbloatResult.HopLatency(ttl: point.ttl, address: point.address, isDestination: index == points.count - 1,
                                         idleMilliseconds: BufferbloatResult.median(idle[index] ?? []))
        }
        var flows: [BufferbloatResult.Flow] = []
        var destinationSamples: [Double] = []
        let window = options.flowDuration - options.warmUp - .milliseconds(200)
        let count = max(1, Int(window / options.echoInterval))
        for direction in BufferbloatResult.Direction.allCases {
            let (flow, loaded) = await loadedSamples(direction, server: serverAddress, port: serverPort, points: points,
                                                     count: count, options: options, family: family)
            if Task.isCancelled { throw .cancelled }
            flows.append(flow)
            for index in latencies.indices {
                let median = BufferbloatResult.median(loaded[index] ?? [])
                if direction == .upload { latencies[index].uploadMilliseconds = median } else { latencies[index].downloadMilliseconds = median }
            }
            destinationSamples += loaded[points.count - 1] ?? []
        }
        return BufferbloatResult(server: options.server, target: target, address: address, hops: latencies, flows: flows,
                                 loadedDestinationSamplesMilliseconds: destinationSamples,
                                 durationMilliseconds: (ContinuousClock.now - started).inMilliseconds)
    }

    /// One direction's flow and, from `warmUp` into it, `count` echo requests to every point.
    /// A flow that fails stops the echoes: there is no load to measure.
    private func loadedSamples(_ direction: BufferbloatResult.Direction, server: IPAddress, port: Int,
                               points: [BufferbloatResult.PathHop], count: Int, options: BufferbloatOptions,
                               family: FamilyPreference) async -> (BufferbloatResult.Flow, [Int: [Double]]) {
        enum Part: Sendable {
            case flow(BufferbloatResult.Flow)
            case echoes([Int: [Double]])
        }
        return await withTaskGroup(of: Part.self) { group in
            group.addTask {
                let durationMs = options.flowDuration.clampedMilliseconds
                let connectMs = options.connectTimeout.clampedMilliseconds
                let outcome = await Self.captureFlow { () async throws(ProbeError) -> BufferbloatResult.Flow in
                    try await runOnProbeThread(namespace: options.networkNamespace) { cancel in
                        var bytes: UInt64 = 0
                        var elapsed: Int64 = 0
                        let status = cs_tcp_bulk(server.description, UInt16(port), direction == .download ? 1 : 0,
                                                 connectMs, durationMs, cancel, &bytes, &elapsed)
                        if status == -ECANCELED { return .failure(.cancelled) }
                        let error: String? = status == 0 ? nil
                            : status == -ETIMEDOUT ? "no TCP handshake with the load server \(options.server) within \(connectMs) ms"
                            : "load server \(options.server): \(ProbeError.describe(errno: -status))"
                        return .success(BufferbloatResult.Flow(direction: direction, bytes: bytes,
                                                               durationMilliseconds: Double(elapsed) / 1_000_000, error: error))
                    }
                }
                return .flow(outcome ?? BufferbloatResult.Flow(direction: direction, bytes: 0, durationMilliseconds: 0, error: "cancelled"))
            }
            group.addTask {
                do { try await Task.sleep(for: options.warmUp) } catch { return .echoes([:]) }
                return .echoes(await self.samples(points, count: count, interval: options.echoInterval,
                                                  timeout: options.echoTimeout, family: family))
            }
            var flow = BufferbloatResult.Flow(direction: direction, bytes: 0, durationMilliseconds: 0, error: "cancelled")
            var echoes: [Int: [Double]] = [:]
            while let part = await group.next() {
                switch part {
                case .flow(let value):
                    flow = value
                    if value.error != nil { group.cancelAll() }
                case .echoes(let value):
                    echoes = value
                }
            }
            return (flow, flow.error == nil ? echoes : [:])
        }
    }

    /// RTTs (ms) of `count` echo requests to each point, all points at once, by point index.
    private func samples(_ points: [BufferbloatResult.PathHop], count: Int, interval: Duration, timeout: Duration,
                         family: FamilyPreference) async -> [Int: [Double]] {
        await withTaskGroup(of: (Int, [Double]).self) { group in
            for (index, point) in points.enumerated() {
                group.addTask {
                    let ping = try? await self.ping(point.address.description, count: count, interval: interval, timeout: timeout, family: family)
                    return (index, ping?.probes.compactMap(\.rttMilliseconds) ?? [])
                }
            }
            var result: [Int: [Double]] = [:]
            for await (index, rtts) in group { result[index] = rtts }
            return result
        }
    }

    private static func captureFlow(_ body: () async throws(ProbeError) -> BufferbloatResult.Flow) async -> BufferbloatResult.Flow? {
        do { return try await body() } catch { return nil }
    }
}
