import Foundation
import TestSupport

/// The built CLI next to the test bundle (`swift build` builds it before `swift test` runs).
let cliPath: String = {
    let bundleDirectory = Bundle.main.bundleURL.path
    for candidate in [bundleDirectory + "/isp-checker", CommandLine.arguments[0].split(separator: "/").dropLast().joined(separator: "/") + "/isp-checker"] {
        let path = candidate.hasPrefix("/") ? candidate : "/" + candidate
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return repositoryRoot.appendingPathComponent(".build/debug/isp-checker").path
}()

/// A network lab built by `lab/lab.sh`: client — r1 … rN — destination, in namespaces whose
/// names start with the lab's prefix. Tests call `down()` in a `defer`, so the lab goes away
/// even when an expectation fails; `lab.sh down-all` at the start of a run clears labs left by
/// a crashed run.
struct Lab {
    let prefix: String
    let routers: Int
    /// Built with `lab.sh up --realistic`: kernel-default ICMP rate limits in every node and
    /// checksum/TSO/GSO offload on the veths, as on real networks and in containers. Otherwise
    /// idealised: every ICMP error is sent and every checksum is complete on the wire.
    let realistic: Bool
    static let script = repositoryRoot.appendingPathComponent("lab/lab.sh").path
    /// The start of every lab's namespace names: `ispc-t`, or $ISPC_LAB_TEST_PREFIX so that two
    /// test runs on one machine (two checkouts) never build or tear down each other's labs.
    static let prefixBase = ProcessInfo.processInfo.environment["ISPC_LAB_TEST_PREFIX"] ?? "ispc-t"

    /// `realistic` has no default on purpose: each test says which lab it runs in, and why, at
    /// its call (test in the realistic lab first, the idealised one only where a test needs it).
    static func up(_ name: String, routers: Int = 3, extra: [String] = [], realistic: Bool) throws -> Lab {
        let prefix = "\(prefixBase)\(name)"
        _ = try? run("/bin/bash", [script, "down", "--prefix", prefix], check: false)
        try run("/bin/bash", [script, "up", "--prefix", prefix, "--routers", "\(routers)"] + (realistic ? ["--realistic"] : []) + extra)
        return Lab(prefix: prefix, routers: routers, realistic: realistic)
    }

    func down() {
        _ = try? run("/bin/bash", [Lab.script, "down", "--prefix", prefix], check: false)
    }

    /// Runs a lab.sh subcommand for this lab (`loss`, `delay`, `ratelimit`, `silent`).
    func configure(_ subcommand: String, _ arguments: [String]) throws {
        try run("/bin/bash", [Lab.script, subcommand, "--prefix", prefix] + arguments)
    }

    var client: String { "\(prefix)-c" }
    func namespace(_ node: String) -> String { "\(prefix)-\(node)" }

    /// The destination's address on its link.
    var destination4: String { "10.99.\(routers + 1).2" }
    var destination6: String { "fd00:99:\(routers + 1)::2" }
    /// Router k's address on the link toward the client.
    func router4(_ k: Int) -> String { "10.99.\(k).2" }
    func router6(_ k: Int) -> String { "fd00:99:\(k)::2" }

    /// The routers' addresses in order and the destination's, one hop a line (`lab.sh path`;
    /// ECMP hops list their addresses separated by spaces).
    func path(v6: Bool) throws -> [String] {
        let output = try run("/bin/bash", [Lab.script, "path", "--prefix", prefix] + (v6 ? ["--v6"] : []))
        return output.stdout.split(separator: "\n").map(String.init)
    }

    /// Runs a command inside one of the lab's namespaces.
    @discardableResult
    func exec(_ node: String, _ arguments: [String], check: Bool = true) throws -> CommandOutput {
        try run("/usr/sbin/ip", ["netns", "exec", namespace(node)] + arguments, check: check)
    }

    func sysctl(_ node: String, _ setting: String) throws {
        try exec(node, ["sysctl", "-q", "-w", setting])
    }
}
