import ArgumentParser
import ISPChecker

/// Options every probing subcommand shares: where and how the engine opens its sockets.
struct EngineOptions: ParsableArguments {
    @Option(name: .customLong("netns"), help: "Run the probes inside this network namespace (name from 'ip netns' or a path).")
    var networkNamespace: String?

    @Flag(help: "Do not open a packet capture; time with socket timestamps instead.")
    var noCapture = false

    @Flag(help: "Time with a packet capture (pcap) even where the command does not by default (trace).")
    var capture = false

    @Option(help: "Capture on this interface instead of all of them.")
    var captureInterface: String?

    @Flag(help: "Use the unprivileged datagram ICMP socket even when a raw socket is allowed.")
    var unprivileged = false

    @Flag(help: "Keep capabilities and the user after setup (by default every privilege is dropped once the sockets are open).")
    var keepCapabilities = false

    @OptionGroup var privileges: PrivilegeOptions

    func validate() throws { try settings.validate() }

    /// The options as plain values (what `makeEngine` works from).
    var settings: EngineSettings {
        EngineSettings(networkNamespace: networkNamespace, noCapture: noCapture, capture: capture,
                       captureInterface: captureInterface, unprivileged: unprivileged,
                       keepCapabilities: keepCapabilities, user: privileges.user)
    }

    /// `EngineSettings.makeEngine` of these options.
    func makeEngine(captureByDefault: Bool = true, traceroute: Bool = true, families: Set<IPFamily> = [.ipv4, .ipv6]) throws -> ProbeEngine {
        try settings.makeEngine(captureByDefault: captureByDefault, traceroute: traceroute, families: families)
    }
}

/// `EngineOptions` (with `--user`) as plain values: what a quickly read command (QuickParse)
/// carries instead of ArgumentParser's property wrappers, whose set-up costs a short command's
/// start more than its work (docs/benchmarks.md, issue 17).
struct EngineSettings: Equatable, Sendable {
    var networkNamespace: String?
    var noCapture = false
    var capture = false
    var captureInterface: String?
    var unprivileged = false
    var keepCapabilities = false
    var user: String?

    /// EngineOptions' and PrivilegeOptions' checks.
    func validate() throws {
        if capture && noCapture { throw ValidationError("--capture and --no-capture exclude each other") }
        try PrivilegeOptions.validate(user: user)
    }

    /// Opens the engine, then drops every privilege of the process (unless
    /// --keep-capabilities): from here on no thread holds a capability, or uid 0.
    /// - Parameter captureByDefault: whether the command opens a packet capture when neither
    ///   `--capture`, `--capture-interface` nor `--no-capture` says. A capture times every packet
    ///   at the interface's tap, exact to the nanosecond, but opening and closing an AF_PACKET
    ///   socket waits for the kernel's RCU grace periods (about 10 ms to open, 25-30 ms to close
    ///   on this machine kind, whatever the ring's size): more than a whole trace of a short path.
    ///   Commands whose figures are milliseconds and that run once (`trace`) time with socket
    ///   timestamps instead (a few microseconds from the tap; see docs/benchmarks.md).
    /// - Parameter traceroute: whether the command may trace (EngineConfiguration.traceroute).
    /// - Parameter icmpTracesOnly: the command traces with ICMP only, so the UDP and TCP probe
    ///   sockets stay closed (EngineConfiguration.icmpTracesOnly).
    /// - Parameter families: the address families the command's targets can have (both when
    ///   a name may resolve to either).
    func makeEngine(captureByDefault: Bool = true, traceroute: Bool = true, icmpTracesOnly: Bool = false,
                    families: Set<IPFamily> = [.ipv4, .ipv6]) throws -> ProbeEngine {
        let wantsCapture = !noCapture && (capture || captureInterface != nil || captureByDefault)
        let capture: EngineConfiguration.Capture = !wantsCapture ? .disabled : captureInterface.map { .interface($0) } ?? .automatic
        // The whole process moves, before any other thread exists: the DNS and HTTP probe
        // threads of `run` are then born inside, with no privilege needed to get there.
        if let networkNamespace { try ProcessPrivileges.enterNetworkNamespace(networkNamespace) }
        let configuration = EngineConfiguration(
            networkNamespace: networkNamespace,
            capture: capture,
            capabilities: keepCapabilities ? .keep : ProcessPrivileges.enginePolicy,
            allowRawSockets: !unprivileged,
            traceroute: traceroute,
            icmpTracesOnly: icmpTracesOnly,
            families: families.isEmpty ? [.ipv4, .ipv6] : families
        )
        if keepCapabilities { return try ProbeEngine(configuration: configuration) }
        // The descriptors are opened on this thread and the privileges dropped before the
        // engine thread starts: the drop then changes one thread, not two (ProbeEngine's
        // `init(configuration:beforeStarting:)`), 0.2 ms less CPU for a trace.
        let user = user
        return try ProbeEngine(configuration: configuration) { try PrivilegeOptions.drop(user: user) }
    }
}

/// `--user`, and the drop every subcommand that probes or parses makes before it does.
struct PrivilegeOptions: ParsableArguments {
    @Option(help: "Started as root: the user (USER or USER:GROUP) to continue as once the sockets are open (default nobody, with its group nogroup).")
    var user: String?

    func validate() throws { try Self.validate(user: user) }

    static func validate(user: String?) throws {
        if let user { do { _ = try ProcessPrivileges.Account(parsing: user) } catch { throw ValidationError("--user: \(error)") } }
    }

    /// Drops every privilege of the process (ProcessPrivileges.drop). Call on the main thread
    /// before any task runs.
    func drop() throws { try Self.drop(user: user) }

    static func drop(user: String?) throws {
        let account = try user.map { try ProcessPrivileges.Account(parsing: $0) } ?? .default
        try ProcessPrivileges.drop(to: account)
    }
}

/// -4 / -6, shared by the probing subcommands.
struct FamilyFlags: ParsableArguments {
    @Flag(name: .customShort("4"), help: "Use IPv4.")
    var ipv4 = false

    @Flag(name: .customShort("6"), help: "Use IPv6.")
    var ipv6 = false

    func validate() throws { try Self.validate(ipv4: ipv4, ipv6: ipv6) }

    static func validate(ipv4: Bool, ipv6: Bool) throws {
        if ipv4 && ipv6 { throw ValidationError("-4 and -6 exclude each other") }
    }

    var preference: FamilyPreference { Self.preference(ipv4: ipv4, ipv6: ipv6) }

    static func preference(ipv4: Bool, ipv6: Bool) -> FamilyPreference { ipv4 ? .ipv4 : ipv6 ? .ipv6 : .any }
}
