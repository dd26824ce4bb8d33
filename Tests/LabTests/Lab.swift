import Foundation
import Testing

/// A child process started with posix_spawn, its output going to temporary files.
///
/// Foundation's `Process.waitUntilExit` was seen hanging here after `lab.sh` had exited
/// (it leaves a daemonised relay behind), so the tests spawn and reap children themselves.
final class Subprocess {
    let pid: pid_t
    private let outputPath: String
    private let errorPath: String
    private var exitStatus: Int32?

    init(_ executable: String, _ arguments: [String]) throws {
        let directory = FileManager.default.temporaryDirectory.path
        let stamp = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        outputPath = "\(directory)/ispc-test-\(stamp).out"
        errorPath = "\(directory)/ispc-test-\(stamp).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // The test runner's threads block signals; a child would inherit that mask and
        // ignore the SIGTERM that stops it. Start it with no signal blocked and defaults.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw LabError.commandFailed("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
        unlink(outputPath)
        unlink(errorPath)
    }

    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { exitStatus = Self.decode(status); return false }
        return result == 0
    }

    func terminate() { if isRunning { kill(pid, SIGTERM) } }

    @discardableResult
    func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let decoded = Self.decode(status)
        exitStatus = decoded
        return decoded
    }

    var stdout: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// Output of a finished command.
struct CommandOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a command to completion and captures its output.
@discardableResult
func run(_ executable: String, _ arguments: [String], check: Bool = true) throws -> CommandOutput {
    let process = try Subprocess(executable, arguments)
    let status = process.wait()
    let output = CommandOutput(status: status, stdout: process.stdout, stderr: process.stderr)
    if check && output.status != 0 {
        throw LabError.commandFailed("\(executable) \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)\(output.stdout)")
    }
    return output
}

enum LabError: Error, CustomStringConvertible {
    case commandFailed(String)
    var description: String {
        switch self { case .commandFailed(let text): return text }
    }
}

/// The repository root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The built CLI next to the test bundle (`swift build` builds it before `swift test` runs).
let cliPath: String = {
    let bundleDirectory = Bundle.main.bundleURL.path
    for candidate in [bundleDirectory + "/isp-checker", CommandLine.arguments[0].split(separator: "/").dropLast().joined(separator: "/") + "/isp-checker"] {
        let path = candidate.hasPrefix("/") ? candidate : "/" + candidate
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return repositoryRoot.appendingPathComponent(".build/debug/isp-checker").path
}()

/// Whether this process may build network namespaces.
let isRoot = getuid() == 0

/// A network lab built by `lab/lab.sh`: client — r1 … rN — destination, in namespaces whose
/// names start with the lab's prefix. Tests call `down()` in a `defer`, so the lab goes away
/// even when an expectation fails; `lab.sh down-all` at the start of a run clears labs left by
/// a crashed run.
struct Lab {
    let prefix: String
    let routers: Int
    static let script = repositoryRoot.appendingPathComponent("lab/lab.sh").path

    static func up(_ name: String, routers: Int = 3, extra: [String] = []) throws -> Lab {
        let prefix = "ispc-t\(name)"
        _ = try? run("/bin/bash", [script, "down", "--prefix", prefix], check: false)
        try run("/bin/bash", [script, "up", "--prefix", prefix, "--routers", "\(routers)"] + extra)
        return Lab(prefix: prefix, routers: routers)
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

    /// Runs a command inside one of the lab's namespaces.
    @discardableResult
    func exec(_ node: String, _ arguments: [String], check: Bool = true) throws -> CommandOutput {
        try run("/usr/sbin/ip", ["netns", "exec", namespace(node)] + arguments, check: check)
    }

    func sysctl(_ node: String, _ setting: String) throws {
        try exec(node, ["sysctl", "-q", "-w", setting])
    }
}
