import ArgumentParser
import ISPChecker
import ISPCheckerPrimitives
import FoundationEssentials
import ISPChecker

#if canImport(Glibc)
import Glibc
#endif

/// `isp-checker lab`: builds the network lab with one fault, checks it as `run` would, prints
/// the diagnosis, and tears the lab down. Needs no Internet: every packet stays inside the
/// namespaces it builds (10.x addresses). The lab is realistic by default: every node keeps the
/// kernel's ICMP rate limits and the veths keep checksum offload, as where users run us.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Builds a namespace lab with a chosen fault, checks it, prints the diagnosis, tears it down (root).",
        discussion: "Scenarios: see --list (lab/scenarios.txt), or all. The lab keeps the kernel's default ICMP rate limits in every node and checksum offload on its links, as real hosts, routers and containers do; --idealised turns both off. The lab scripts are run from $ISPC_LAB_DIR, PREFIX/share/isp-checker/lab, or the checkout the binary was built in (never the working directory), and only when root owns them and no one else may write them."
    )

    struct Scenario {
        var name: String
        var summary: String
    }

    /// The scenarios lab/scenario.sh builds, from the list it reads itself (`folder`/scenarios.txt:
    /// a name, spaces, a summary per line); nil when that file cannot be read or lists none.
    static func scenarios(in folder: String) -> [Scenario]? {
        guard let text = try? TextFile.read(folder + "/scenarios.txt") else { return nil }
        let scenarios = text.split(separator: "\n").compactMap { line -> Scenario? in
            let name = line.prefix { $0 != " " }
            guard !name.isEmpty else { return nil }
            return Scenario(name: String(name), summary: String(line.dropFirst(name.count).drop { $0 == " " }))
        }
        return scenarios.isEmpty ? nil : scenarios
    }

    @Option(help: "Which fault to build: a scenario name, or all.")
    var scenario = "healthy"

    @Flag(help: "List the scenarios and exit.")
    var list = false

    @Flag(help: "Build the idealised lab: no ICMP rate limits, no checksum offload (the realistic lab is the default).")
    var idealised = false

    @Flag(help: "Print each run report as JSON instead of the summary.")
    var json = false

    @Option(name: .customLong("output"), help: "Write the run report as JSON to this file (one scenario only).")
    var outputFile: String?

    func validate() throws {
        // Without the lab folder or its list there is nothing to check against: run() says why.
        let known = Self.labFolder().flatMap(Self.scenarios(in:)) ?? []
        guard list || scenario == "all" || known.isEmpty || known.contains(where: { $0.name == scenario }) else {
            throw ValidationError("unknown scenario '\(scenario)'; one of: \(known.map(\.name).joined(separator: ", ")), all")
        }
        if scenario == "all" && outputFile != nil { throw ValidationError("--output takes one scenario, not all") }
    }

    func run() throws {
        let folder = try Self.requireLabFolder()
        // A named scenario needs no list (scenario.sh checks the name); --list and all do.
        let known = Self.scenarios(in: folder)
        func listOrFail() throws -> [Scenario] {
            guard let known else {
                errorOutput("isp-checker: error: cannot read the scenario list \(folder)/scenarios.txt (a name and a summary per line)\n")
                throw ExitCode(ExitStatus.noInput)
            }
            return known
        }
        if list {
            for scenario in try listOrFail() { output("\(padRight(scenario.name, 18))\(scenario.summary)") }
            return
        }
        guard getuid() == 0 else {
            errorOutput("isp-checker: error: the lab builds network namespaces: run as root (sudo isp-checker lab)\n")
            throw ExitCode(ExitStatus.noPermission)
        }
        let script = try Self.trustedScript(in: folder)
        let chosen = scenario == "all" ? try listOrFail().map(\.name) : [scenario]
        var worst: Int32 = 0
        // The child check gets ^C from the terminal and stops; this process must live on to
        // tear the lab down.
        signal(SIGINT, SIG_IGN)
        for name in chosen {
            if chosen.count > 1 || !json { output("== lab scenario: \(name): \(known?.first { $0.name == name }?.summary ?? "")") }
            let status = try check(scenario: name, script: script)
            if chosen.count > 1 && !json { output("") }
            worst = max(worst, status)
        }
        throw ExitCode(worst)
    }

    /// Builds the scenario's lab, runs the check inside its client namespace, tears it down.
    private func check(scenario name: String, script: String) throws -> Int32 {
        // One prefix per process: two `isp-checker lab` runs at once (a demo and a test) must not
        // tear down each other's lab.
        let prefix = "ispc-lab\(getpid())"
        defer { _ = try? Self.spawn("/bin/bash", [script, "down", "--prefix", prefix], captureOutput: true) }
        let up = try Self.spawn("/bin/bash", [script, "up", "--prefix", prefix, "--scenario", name] + (idealised ? ["--idealised"] : []),
                                captureOutput: true)
        guard up.status == 0 else {
            errorOutput("isp-checker: error: building the lab failed:\n\(up.output)")
            throw ExitCode(ExitStatus.unavailable)
        }
        var facts: [String: String] = [:]
        for line in up.output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { facts[parts[0]] = parts[1] }
        }
        guard let namespace = facts["client_namespace"], let target = facts["target"] else {
            errorOutput("isp-checker: error: lab/scenario.sh said nothing usable:\n\(up.output)")
            throw ExitCode(ExitStatus.software)
        }
        var arguments = ["netns", "exec", namespace, Self.executablePath, "run", "--target", target, "--count", "20", "--interval", "0.05",
                         "--timeout", "0.5", "--rounds", "10"]
        if let resolver = facts["resolver"] { arguments += ["--resolver", resolver] }
        if let name = facts["dns_name"] { arguments += ["--dns-name", name] }
        if let url = facts["url"] { arguments += ["--url", url] }
        if let extra = facts["run_args"] { arguments += extra.split(separator: " ").map(String.init) }
        if facts["baseline"] == "1" {
            // A fault that is a change (path-change): a first run before it, then the fault
            // (scenario.sh step), then the check with the first run as its history.
            // In a folder of its own (mkdtemp, 0700): root writes it, so no one may plant a link there.
            var template = Array("/tmp/ispc-lab.XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else {
                errorOutput("isp-checker: error: cannot make a folder in /tmp: \(String(cString: strerror(errno)))\n")
                throw ExitCode(ExitStatus.cannotCreate)
            }
            let folder = String(cString: made)
            let baseline = folder + "/baseline.json"
            defer { unlink(baseline); rmdir(folder) }
            if !json { output("baseline run before the change (its report is the next run's --history) ...") }
            let first = try Self.spawn("/usr/sbin/ip", arguments + ["--json", "--output", baseline], captureOutput: true)
            guard first.status < 64 else {
                errorOutput("isp-checker: error: the baseline run failed (exit \(first.status)):\n\(first.output)")
                throw ExitCode(ExitStatus.software)
            }
            let step = try Self.spawn("/bin/bash", [script, "step", "--prefix", prefix, "--scenario", name], captureOutput: true)
            guard step.status == 0 else {
                errorOutput("isp-checker: error: applying the scenario's change failed:\n\(step.output)")
                throw ExitCode(ExitStatus.unavailable)
            }
            arguments += ["--history", baseline]
            return try finalCheck(arguments)
        }
        return try finalCheck(arguments)
    }

    /// The scenario's check, as the user asked for its output.
    private func finalCheck(_ arguments: [String]) throws -> Int32 {
        var arguments = arguments
        if json { arguments.append("--json") }
        if let outputFile { arguments += ["--output", outputFile] }
        return try Self.spawn("/usr/sbin/ip", arguments, captureOutput: false).status
    }

    static var executablePath: String { ownExecutablePath }

    /// `folder`/scenario.sh, which root runs, once it is trusted: the script, everything else in
    /// its folder (lab.sh, relay.c, …) and every folder above it must be owned by root and
    /// writable by no one else, or anyone who could change them would run code as root.
    static func trustedScript(in folder: String) throws -> String {
        let found = folder + "/scenario.sh"
        if let reason = untrustedReason(script: found) {
            errorOutput("isp-checker: error: refusing to run \(found) as root: \(reason); it and its folder must be owned by root and writable by no one else (chown root, chmod go-w)\n")
            throw ExitCode(ExitStatus.noPermission)
        }
        return found
    }

    /// `labFolder()`, or exit 66 saying where it looked.
    static func requireLabFolder() throws -> String {
        guard let folder = labFolder() else {
            errorOutput("isp-checker: error: lab/scenario.sh not found next to \(executablePath) (PREFIX/share/isp-checker/lab or the checkout it was built in); set ISPC_LAB_DIR to the lab/ folder\n")
            throw ExitCode(ExitStatus.noInput)
        }
        return folder
    }

    /// The folder of lab/scenario.sh: from $ISPC_LAB_DIR, from the installed location
    /// (PREFIX/share/isp-checker/lab next to PREFIX/bin/isp-checker), or from the checkout the
    /// binary was built in (a SwiftPM build lives in .build/… inside it); never from the working
    /// directory. Not yet trusted (`trustedScript(in:)`): reading its scenario list needs no trust.
    static func labFolder() -> String? {
        var candidates: [String] = []
        if let directory = ProcessInfo.processInfo.environment["ISPC_LAB_DIR"] { candidates.append(directory + "/scenario.sh") }
        var directory = parentFolder(of: executablePath)
        candidates.append(parentFolder(of: directory) + "/share/isp-checker/lab/scenario.sh")
        for _ in 0..<6 {
            candidates.append((directory == "/" ? "" : directory) + "/lab/scenario.sh")
            directory = parentFolder(of: directory)
        }
        return candidates.first(where: { FileManager.default.fileExists(atPath: $0) }).map { parentFolder(of: $0) }
    }

    /// Why root must not run `script`, or nil when only root can change it: the resolved
    /// script, the other files of its folder, and every folder up to `/`.
    static func untrustedReason(script: String) -> String? {
        guard let resolved = realpath(script, nil) else { return "cannot resolve it: \(String(cString: strerror(errno)))" }
        let path = String(cString: resolved)
        free(resolved)
        /// `stickyAllowed`: a folder above the script's may be writable by others when it has the
        /// sticky bit (like /tmp): there only an entry's owner may rename or remove it, so the
        /// root-owned folder below cannot be swapped.
        func problem(_ path: String, stickyAllowed: Bool = false) -> String? {
            var info = stat()
            guard lstat(path, &info) == 0 else { return "\(path): \(String(cString: strerror(errno)))" }
            if info.st_uid != 0 { return "\(path) is owned by uid \(info.st_uid)" }
            let sticky = stickyAllowed && (info.st_mode & S_IFMT) == S_IFDIR && info.st_mode & S_ISVTX != 0
            if info.st_mode & (S_IWGRP | S_IWOTH) != 0 && !sticky { return "\(path) is writable by its group or by others" }
            return nil
        }
        let folder = parentFolder(of: path)
        var files = [path]
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) {
            files += entries.map { folder + "/" + $0 }.filter { $0 != path }
        }
        for file in files { if let reason = problem(file) { return reason } }
        if let reason = problem(folder) { return reason }
        var directory = parentFolder(of: folder)
        while true {
            if let reason = problem(directory, stickyAllowed: true) { return reason }
            if directory == "/" || directory.isEmpty { return nil }
            directory = parentFolder(of: directory)
        }
    }

    /// Runs a command to its end. With `captureOutput`, its stdout and stderr are returned;
    /// otherwise it writes to ours.
    static func spawn(_ executable: String, _ arguments: [String], captureOutput: Bool) throws -> (status: Int32, output: String) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("isp-checker-lab-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log").path
        if captureOutput {
            posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        defer { if captureOutput { unlink(logPath) } }
        // The child starts with default signal handling, ^C included.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let started = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard started == 0 else {
            errorOutput("isp-checker: error: cannot start \(executable): \(String(cString: strerror(started)))\n")
            throw ExitCode(ExitStatus.unavailable)
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = captureOutput ? ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "") : ""
        return (code, text)
    }
}
