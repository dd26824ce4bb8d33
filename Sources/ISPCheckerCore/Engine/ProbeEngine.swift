import CProbe
import Logging
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// What an engine managed to open, and how it will time probes.
public struct EngineStatus: Sendable, Codable, Equatable {
    /// The socket kind per family that could be opened.
    public var sockets: [IPFamily: SocketKind]
    /// The interface the capture listens on ("any" for all), nil without a capture.
    public var captureDevice: String?
    /// Why no capture is running, when there is none.
    public var captureUnavailableReason: String?
    /// The best clock probes of this engine can get.
    public var bestClock: ClockSource
    /// Whether the engine thread dropped every capability after opening its descriptors.
    public var capabilitiesDropped: Bool
    public var networkNamespace: String?

    /// snake_case, like every JSON isp-checker writes (docs/ping.schema.json, `engine`).
    enum CodingKeys: String, CodingKey {
        case sockets
        case captureDevice = "capture_device"
        case captureUnavailableReason = "capture_unavailable_reason"
        case bestClock = "best_clock"
        case capabilitiesDropped = "capabilities_dropped"
        case networkNamespace = "network_namespace"
    }
}

/// Sends probes and receives their replies for any number of concurrent callers.
///
/// One engine owns one ICMP socket per address family, one packet capture for kernel
/// timestamps, and one thread that receives every reply and hands it to the probe it
/// belongs to (matched by identifier, sequence number and a per-probe token). Create one per
/// process (or per network namespace) and share it; it shuts down when released.
public final class ProbeEngine: Sendable {
    let core: EngineCore
    public let status: EngineStatus
    let logger: Logger

    public init(configuration: EngineConfiguration = .default) throws(ProbeError) {
        let handOff = SetupHandOff<Result<(EngineCore, EngineStatus), ProbeError>>()
        let settings = configuration
        try startEngineThread {
            switch EngineSetup.open(settings) {
            case .failure(let error):
                handOff.fulfil(.failure(error))
            case .success(let opened):
                let loop = ReceiveLoop(core: opened.core, capture: opened.capture)
                handOff.fulfil(.success((opened.core, opened.status)))
                loop.run()
            }
        }
        (core, status) = try handOff.wait().get()
        logger = configuration.logger
        if configuration.capabilities == .dropOnEngineAndCallingThread {
            let result = cp_caps_drop_all()
            if result < 0 {
                core.shutDown()
                throw .systemError(operation: "dropping capabilities", errno: -result)
            }
        }
        logger.debug("probe engine ready", metadata: [
            "sockets": "\(status.sockets.map { "\($0.key)=\($0.value)" }.sorted())",
            "capture": "\(status.captureDevice ?? "none")",
            "clock": "\(status.bestClock)",
        ])
    }

    /// Opens the engine's descriptors on the calling thread, runs `beforeStarting` there, and
    /// only then starts the engine's thread, which inherits what the calling thread kept.
    ///
    /// For an executable that drops every privilege of the process in `beforeStarting`
    /// (`ProcessPrivileges.drop(to:)`, with `ProcessPrivileges.enginePolicy`): called from
    /// `main` before any other thread exists, the drop then has one thread to change. glibc
    /// changes the user of every thread by signalling each one (setgroups, setresgid, setresuid
    /// and the check that uid 0 cannot come back: four round trips to the engine thread), and
    /// the check reads every thread's status; with the engine thread started afterwards neither
    /// has more than the main thread to do. The capability policy and the network namespace
    /// (`EngineConfiguration.networkNamespace`, entered by the thread that opens) apply to the
    /// calling thread. When `beforeStarting` throws, the engine is shut down and the error
    /// rethrown.
    public init(configuration: EngineConfiguration, beforeStarting: () throws -> Void) throws {
        let opened: EngineSetup.Opened
        switch EngineSetup.open(configuration) {
        case .failure(let error): throw error
        case .success(let value): opened = value
        }
        // Handed to the engine thread, and never touched here again once it is started.
        nonisolated(unsafe) let loop = ReceiveLoop(core: opened.core, capture: opened.capture)
        var failure: (any Error)?
        do { try beforeStarting() } catch { failure = error }
        // The loop owns the descriptors and the capture: started even after a failure, so
        // that shutting it down closes them as usual.
        try startEngineThread { loop.run() }
        (core, status) = (opened.core, opened.status)
        logger = configuration.logger
        if let failure {
            core.shutDown()
            throw failure
        }
        if configuration.capabilities == .dropOnEngineAndCallingThread {
            let result = cp_caps_drop_all()
            if result < 0 {
                core.shutDown()
                throw ProbeError.systemError(operation: "dropping capabilities", errno: -result)
            }
        }
    }

    deinit { core.shutDown() }

    /// Stops the engine: outstanding probes complete with `engineShutDown`, new ones fail.
    public func shutdown() { core.shutDown() }

    /// The TTL at which this engine's traces reached each destination, for a caller that keeps
    /// them between processes (`PathLengthFile`).
    public var measuredPathLengths: [IPAddress: Int] { core.pathLengths.withLock { $0.measuredDistances } }

    /// Seeds the engine with distances measured earlier (by another process): a first trace to
    /// one of them probes straight up to it, as a second trace in one process does.
    public func rememberPathLengths(_ lengths: [IPAddress: Int]) {
        core.pathLengths.withLock { $0.seed(lengths) }
    }

    /// Probes waiting for an answer right now, pings and trace probes (0 once every probe has
    /// finished or been cancelled).
    public var inFlightProbes: Int {
        core.inFlightCount + core.traces.withLock { $0.routes.count } + core.sweepInFlight.load(ordering: .relaxed)
    }

    /// The most sweep probes this engine has had waiting for an answer at once since it started.
    public var peakSweepInFlightProbes: Int { core.sweepPeakInFlight.load(ordering: .relaxed) }

    func socket(for family: IPFamily) throws(ProbeError) -> ICMPSocket {
        if let socket = core.sockets[family] { return socket }
        throw core.unavailableFamilies[family] ?? .addressFamilyUnavailable(family, hint: "no ICMP socket could be opened for it")
    }
}

/// Opens everything an engine needs, on the engine's own thread.
enum EngineSetup {
    struct Opened {
        var core: EngineCore
        var status: EngineStatus
        var capture: OpaquePointer?
    }

    static func open(_ configuration: EngineConfiguration) -> Result<Opened, ProbeError> {
        let logger = configuration.logger
        if let path = configuration.namespacePath {
            let result = cp_netns_enter(path)
            if result < 0 { return .failure(.namespaceUnavailable(configuration.networkNamespace ?? path, errno: -result)) }
        }
        let rawIdentifier = UInt16.random(in: 1...UInt16.max)
        // Sweeps get an identifier of their own, so their 65,536 sequence numbers are all theirs.
        var sweepIdentifier = UInt16.random(in: 1...UInt16.max)
        while sweepIdentifier == rawIdentifier { sweepIdentifier = UInt16.random(in: 1...UInt16.max) }
        var sockets: [IPFamily: ICMPSocket] = [:]
        var unavailable: [IPFamily: ProbeError] = [:]
        for family in [IPFamily.ipv4, .ipv6] {
            guard configuration.families.contains(family) else {
                unavailable[family] = .addressFamilyUnavailable(family, hint: "this engine was opened without \(family) sockets (EngineConfiguration.families)")
                continue
            }
            var kind: Int32 = 0
            // Errors pass the raw socket's filter too: traceroute reads them from it.
            let descriptor = cp_icmp_socket_open(family.posixValue, configuration.allowRawSockets ? 1 : 0, 1, &kind)
            guard descriptor >= 0 else {
                unavailable[family] = openError(family: family, errno: -descriptor)
                continue
            }
            var identifier = rawIdentifier
            if kind == CP_SOCK_DGRAM {
                let result = cp_socket_local_ident(descriptor, &identifier)
                if result < 0 {
                    close(descriptor)
                    unavailable[family] = .systemError(operation: "getsockname on the ICMP socket", errno: -result)
                    continue
                }
            }
            if kind == CP_SOCK_RAW {
                // A sweep's burst of replies and send timestamps shares this receive buffer;
                // the default (~200 KiB, a few hundred packets) would drop them. Best effort.
                _ = cp_socket_grow_buffers(descriptor, 8 << 20)
            }
            sockets[family] = ICMPSocket(descriptor: descriptor, family: family, kind: kind == CP_SOCK_RAW ? .raw : .datagram, identifier: identifier)
        }
        if sockets.isEmpty {
            let error = unavailable[.ipv4].flatMap { if case .permissionDenied = $0 { $0 } else { nil } }
                ?? unavailable[.ipv6] ?? unavailable[.ipv4] ?? .permissionDenied(hint: ProbeError.icmpPermissionHint)
            return .failure(error)
        }

        var traceSockets: [IPFamily: TraceSockets] = [:]
        for (family, socket) in sockets where socket.kind == .raw && configuration.traceroute && !configuration.icmpTracesOnly {
            switch TraceSockets.open(family) {
            case .success(let opened): traceSockets[family] = opened
            case .failure(let error): logger.notice("no \(family) traceroute sockets", metadata: ["error": "\(error)"])
            }
        }

        var capture: OpaquePointer?
        var captureDevice: String?
        var captureReason: String?
        switch configuration.capture {
        case .disabled:
            captureReason = "capture disabled by configuration"
        case .automatic, .interface:
            let device: String? = if case .interface(let name) = configuration.capture { name } else { nil }
            let hasRaw = sockets.values.contains { $0.kind == .raw }
            let filter = captureFilter(sockets: sockets, traceSockets: traceSockets, extraIdentifiers: hasRaw ? [sweepIdentifier] : [],
                                       icmpTraces: configuration.traceroute && configuration.icmpTracesOnly)
            var errorText = [CChar](repeating: 0, count: 512)
            let result = cp_capture_open(device, filter, 256, &capture, &errorText, errorText.count)
            if result == 0 {
                captureDevice = device ?? "any"
            } else {
                capture = nil
                let message = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                captureReason = "pcap: \(message.isEmpty ? ProbeError.describe(errno: -result) : message)"
                logger.notice("no packet capture; RTTs fall back to socket timestamps", metadata: ["reason": "\(captureReason ?? "")"])
            }
        }

        var dropped = false
        if configuration.capabilities != .keep {
            let result = configuration.capabilities == .dropAllButUserChange ? cp_caps_drop_all_but_setid() : cp_caps_drop_all()
            if result < 0 {
                if let capture { cp_capture_close(capture) }
                return .failure(.systemError(operation: "dropping capabilities", errno: -result))
            }
            dropped = true
        }

        let wake = cp_wake_open()
        guard wake >= 0 else {
            if let capture { cp_capture_close(capture) }
            return .failure(.systemError(operation: "eventfd", errno: -wake))
        }
        let core = EngineCore(
            sockets: sockets, traceSockets: traceSockets, unavailableFamilies: unavailable, captureActive: capture != nil,
            captureGrace: .milliseconds(configuration.captureGraceMilliseconds), wakeDescriptor: wake,
            sweepIdentifier: sockets.values.contains { $0.kind == .raw } ? sweepIdentifier : nil,
            tracerouteEnabled: configuration.traceroute, icmpTracesOnly: configuration.icmpTracesOnly)
        let status = EngineStatus(
            sockets: sockets.mapValues(\.kind), captureDevice: captureDevice, captureUnavailableReason: captureReason,
            bestClock: capture != nil ? .pcap : .kernelSocket, capabilitiesDropped: dropped,
            networkNamespace: configuration.networkNamespace)
        return .success(Opened(core: core, status: status, capture: capture))
    }

    /// A BPF filter admitting only what the engine's probes send and what answers them: echo
    /// requests/replies with our identifiers, our UDP and TCP trace probes and the segments
    /// back to their ports, and ICMP errors (which quote our probes; the loop checks the quote).
    /// cp_capture_filter writes it: the one builder, which the C tests check against pcap.
    /// `icmpTraces`: the engine traces with ICMP only (no trace sockets), so the errors that
    /// quote its echo requests are admitted per family with a raw socket.
    static func captureFilter(sockets: [IPFamily: ICMPSocket], traceSockets: [IPFamily: TraceSockets], extraIdentifiers: [UInt16] = [],
                              icmpTraces: Bool = false) -> String {
        let identifiers = Set(sockets.values.map(\.identifier) + extraIdentifiers).sorted()
        // The trace sockets serve every trace: no destination, so every ICMP error of the family.
        let traces = [IPFamily.ipv4, .ipv6].flatMap { family -> [cp_capture_trace] in
            if icmpTraces, let socket = sockets[family], socket.kind == .raw {
                return [cp_capture_trace(method: CP_TRACE_METHOD_ICMP, family: family.posixValue, dst: cp_addr(), sport: 0, dport: 0, ident: socket.identifier)]
            }
            guard let trace = traceSockets[family] else { return [] }
            return [(CP_TRACE_METHOD_UDP, trace.udpPort), (CP_TRACE_METHOD_TCP, trace.tcpPort)].map { method, port in
                cp_capture_trace(method: method, family: family.posixValue, dst: cp_addr(), sport: port, dport: 0, ident: 0)
            }
        }
        var text = [CChar](repeating: 0, count: 1 + Int(CP_CAPTURE_FILTER_ECHO_MAX) * identifiers.count + Int(CP_CAPTURE_FILTER_TRACE_MAX) * traces.count)
        let result = cp_capture_filter(identifiers, identifiers.count, traces, traces.count, &text, text.count)
        // open() returns before this without an ICMP socket, and the buffer has the size cprobe.h promises.
        precondition(result == 0, "cp_capture_filter: \(ProbeError.describe(errno: -result))")
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func openError(family: IPFamily, errno code: Int32) -> ProbeError {
        switch code {
        case EPERM, EACCES:
            return .permissionDenied(hint: ProbeError.icmpPermissionHint)
        case EAFNOSUPPORT, EPROTONOSUPPORT:
            return .addressFamilyUnavailable(family, hint: "the kernel has no \(family) stack, or it is disabled")
        default:
            return .systemError(operation: "opening an \(family) ICMP socket", errno: code)
        }
    }
}
