import ArgumentParser
import ISPChecker

/// Options every probing subcommand shares: where and how the engine opens its sockets.
struct EngineOptions: ParsableArguments {
    @Option(name: .customLong("netns"), help: "Run the probes inside this network namespace (name from 'ip netns' or a path).")
    var networkNamespace: String?

    @Flag(help: "Do not open a packet capture; time with socket timestamps instead.")
    var noCapture = false

    @Option(help: "Capture on this interface instead of all of them.")
    var captureInterface: String?

    @Flag(help: "Use the unprivileged datagram ICMP socket even when a raw socket is allowed.")
    var unprivileged = false

    @Flag(help: "Keep capabilities and the user after setup (by default every privilege is dropped once the sockets are open).")
    var keepCapabilities = false

    @OptionGroup var privileges: PrivilegeOptions

    /// Opens the engine, then drops every privilege of the process (unless
    /// --keep-capabilities): from here on no thread holds a capability, or uid 0.
    func makeEngine() throws -> ProbeEngine {
        let capture: EngineConfiguration.Capture = noCapture ? .disabled : captureInterface.map { .interface($0) } ?? .automatic
        // The whole process moves, before any other thread exists: the DNS and HTTP probe
        // threads of `run` are then born inside, with no privilege needed to get there.
        if let networkNamespace { try ProcessPrivileges.enterNetworkNamespace(networkNamespace) }
        let engine = try ProbeEngine(configuration: EngineConfiguration(
            networkNamespace: networkNamespace,
            capture: capture,
            capabilities: keepCapabilities ? .keep : ProcessPrivileges.enginePolicy,
            allowRawSockets: !unprivileged
        ))
        if !keepCapabilities { try privileges.drop() }
        return engine
    }
}

/// `--user`, and the drop every subcommand that probes or parses makes before it does.
struct PrivilegeOptions: ParsableArguments {
    @Option(help: "Started as root: the user (USER or USER:GROUP) to continue as once the sockets are open (default nobody, with its group nogroup).")
    var user: String?

    func validate() throws {
        if let user { do { _ = try ProcessPrivileges.Account(parsing: user) } catch { throw ValidationError("--user: \(error)") } }
    }

    /// Drops every privilege of the process (ProcessPrivileges.drop). Call on the main thread
    /// before any task runs.
    func drop() throws {
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

    func validate() throws {
        if ipv4 && ipv6 { throw ValidationError("-4 and -6 exclude each other") }
    }

    var preference: FamilyPreference { ipv4 ? .ipv4 : ipv6 ? .ipv6 : .any }
}
