import Foundation
import ISPChecker
import TestSupport
import Testing

/// What every thread of a running isp-checker process holds (docs/deployment.md): started as
/// root, once its sockets, capture and store are open no thread keeps a capability (effective,
/// permitted or bounding), uid 0 or gid 0, and every thread has `NoNewPrivs: 1`. Started by
/// another user with a file or ambient capability, no thread keeps a capability either.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct PrivilegeLabTests {
    /// One thread's line of `/proc/PID/task/TID/status`.
    struct ThreadStatus: CustomStringConvertible {
        var fields: [String: String]
        func value(_ name: String) -> String { fields[name] ?? "?" }
        /// The real uid (first of real, effective, saved, filesystem).
        var uid: String { value("Uid").split(separator: "\t").first.map(String.init) ?? "?" }
        var gid: String { value("Gid").split(separator: "\t").first.map(String.init) ?? "?" }
        var allIDs: [String] { (value("Uid") + "\t" + value("Gid")).split(separator: "\t").map(String.init) }
        var description: String {
            "Uid \(value("Uid")) Gid \(value("Gid")) CapEff \(value("CapEff")) CapPrm \(value("CapPrm")) CapBnd \(value("CapBnd")) CapAmb \(value("CapAmb")) NoNewPrivs \(value("NoNewPrivs"))"
        }
    }

    static let noCapabilities = "0000000000000000"

    /// The status of every thread of a process.
    func threads(of pid: Int32) throws -> [ThreadStatus] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").map { task in
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            var fields: [String: String] = [:]
            for line in status.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            return ThreadStatus(fields: fields)
        }
    }

    /// Started as root: every thread without any capability, uid or gid 0, and with NoNewPrivs.
    func expectNothingLeftOfRoot(_ pid: Int32, atLeast minimumThreads: Int = 2, _ what: String) throws {
        let statuses = try threads(of: pid)
        #expect(statuses.count >= minimumThreads, "\(what): \(statuses)")
        for thread in statuses {
            #expect(thread.value("CapEff") == Self.noCapabilities, "\(what): \(thread)")
            #expect(thread.value("CapPrm") == Self.noCapabilities, "\(what): \(thread)")
            #expect(thread.value("CapBnd") == Self.noCapabilities, "\(what): \(thread)")
            #expect(thread.value("CapAmb") == Self.noCapabilities, "\(what): \(thread)")
            #expect(!thread.allIDs.contains("0"), "\(what): \(thread)")
            #expect(thread.uid == "65534" && thread.gid == "65534", "\(what): continues as nobody:nogroup: \(thread)")
            #expect(thread.value("NoNewPrivs") == "1", "\(what): \(thread)")
        }
    }

    /// Started by nobody with a capability: none left on any thread, NoNewPrivs everywhere.
    /// (The bounding set needs CAP_SETPCAP to be emptied; NoNewPrivs makes it moot.)
    func expectNoCapabilityLeft(_ pid: Int32, _ what: String) throws {
        let statuses = try threads(of: pid)
        #expect(statuses.count > 1, "\(what): \(statuses)")
        for thread in statuses {
            #expect(thread.value("CapEff") == Self.noCapabilities && thread.value("CapPrm") == Self.noCapabilities
                && thread.value("CapAmb") == Self.noCapabilities && thread.value("NoNewPrivs") == "1", "\(what): \(thread)")
        }
    }

    /// Starts `arguments` inside the lab's client namespace and waits `settle` for it to be busy.
    func start(_ lab: Lab, _ arguments: [String], launcher: [String] = [], settle: Duration = .milliseconds(1000)) async throws -> Subprocess {
        let process = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client] + launcher + arguments)
        try await Task.sleep(for: settle)
        #expect(process.isRunning, "\(arguments): \(process.stderr)")
        return process
    }

    func expectRawAndKernelTimed(_ json: String) throws {
        #expect(try JSONSchema.violations(of: Data(json.utf8), schema: "ping") == [])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
        let ping = try #require(object["ping"] as? [String: Any])
        #expect(ping["socket_kind"] as? String == "raw")
        #expect(ping["clock_source"] as? String == "pcap")
        #expect(ping["received"] as? Int == 20)
    }

    static let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    static let ping20 = ["-c", "20", "-i", "0.1", "--json"]

    @Test func asRootPingKeepsNoCapabilityAndContinuesAsNobody() async throws {
        // idealised: about privileges, not the network.
        let lab = try Lab.up("prvroot", realistic: false)
        defer { lab.down() }
        let process = try await start(lab, [cliPath, "ping", lab.destination4] + Self.ping20)
        try expectNothingLeftOfRoot(process.pid, "ping")
        #expect(process.wait() == 0, "\(process.stderr)")
        try expectRawAndKernelTimed(process.stdout)
    }

    @Test func asRootTraceKeepsNoCapabilityAndContinuesAsNobody() async throws {
        let lab = try Lab.up("prvtrc", realistic: false)
        defer { lab.down() }
        let process = try await start(lab, [cliPath, "trace", lab.destination4, "--rounds", "5", "--json"], settle: .milliseconds(700))
        try expectNothingLeftOfRoot(process.pid, "trace")
        #expect(process.wait() == 0, "\(process.stdout) \(process.stderr)")
        #expect(try JSONSchema.violations(of: Data(process.stdout.utf8), schema: "trace") == [])
    }

    @Test func asRootDNSWaitingOnASilentResolverKeepsNoCapabilityAndContinuesAsNobody() async throws {
        let lab = try ServiceLab("prvdns", servers: [])
        defer { lab.stop() }
        // ldns waits on a resolver that never answers: the moment it would parse an answer.
        let process = try await start(lab.lab, [cliPath, "dns", "www.lab", "--resolver", ServiceLab.dropped, "--timeout", "4"])
        try expectNothingLeftOfRoot(process.pid, atLeast: 2, "dns")
        #expect((1...2).contains(process.wait()), "a silent resolver is a warning or critical: \(process.stdout) \(process.stderr)")
    }

    @Test func asRootReplayReadsItsInputAsNobody() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-prvrep-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("capture.pcap").path
        try Data("not a capture".utf8).write(to: URL(fileURLWithPath: input))
        // Only root may read it: replay, started as root, has left root before it opens it.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: input)
        let unreadable = try run(cliPath, ["run", "--mode", "replay", "--input", input], check: false)
        #expect(unreadable.status == 66, "\(unreadable.stderr)")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: input)
        let readable = try run(cliPath, ["run", "--mode", "replay", "--input", input], check: false)
        #expect(readable.status == 66, "\(readable.stderr)")
        #expect(readable.stderr != unreadable.stderr, "readable, the file gets past the open: \(readable.stderr) / \(unreadable.stderr)")
    }

    @Test func asRootTheMonitorKeepsNoCapabilityAndItsStoreWorksAsNobody() async throws {
        let lab = try Lab.up("prvmon", realistic: false)
        defer { lab.down() }
        let monitor = URL(fileURLWithPath: cliPath).deletingLastPathComponent().appendingPathComponent("isp-checker-monitor").path
        try #require(FileManager.default.isExecutableFile(atPath: monitor), "build isp-checker-monitor")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-prvmon-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        // The configuration beside root's other files; the store in a folder of its own.
        try FileManager.default.createDirectory(atPath: base + "/store", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: base)
        try """
        targets:
          - host: \(lab.destination4)
            class: critical
        probe_intervals:
          critical_targets: 1s
        """.write(toFile: base + "/checker.yaml", atomically: true, encoding: .utf8)
        let process = try await start(lab, [monitor, "--config", base + "/checker.yaml", "--sqlite", base + "/store/runs.sqlite", "--port", "0"],
                                      settle: .milliseconds(200))
        defer { if process.isRunning { kill(process.pid, SIGKILL); _ = process.wait() } }
        let deadline = ContinuousClock.now + .seconds(60)
        while !process.stdout.contains("stored ") && process.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(process.stdout.contains("stored "), "no run stored: \(process.stderr)")
        // The HTTP server, the store, the pool and the engine are all running now.
        try expectNothingLeftOfRoot(process.pid, atLeast: 4, "monitor")
        let store = try FileManager.default.attributesOfItem(atPath: base + "/store/runs.sqlite")
        #expect((store[.ownerAccountID] as? NSNumber)?.intValue == 65534, "the store was handed to nobody: \(store)")
        process.terminate()
        #expect(process.wait() == 0, "\(process.stderr)")
    }

    @Test func theMonitorRefusesAStoreInAFolderItCannotHandOver() async throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-prvmst-\(getpid())").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: base) }
        try "root's".write(toFile: base + "/other-file", atomically: true, encoding: .utf8)
        let monitor = URL(fileURLWithPath: cliPath).deletingLastPathComponent().appendingPathComponent("isp-checker-monitor").path
        let result = try run(monitor, ["--sqlite", base + "/runs.sqlite", "--port", "0", "--demo-runs", "1"], check: false)
        #expect(result.status == 77, "\(result.stderr)")
        #expect(result.stderr.contains("holds other files too"), "\(result.stderr)")
        let folder = try FileManager.default.attributesOfItem(atPath: base)
        #expect((folder[.ownerAccountID] as? NSNumber)?.intValue == 0, "a shared folder stays root's")
    }

    @Test func runWithNetnsStillProbesDNSAndHTTPInsideTheNamespace() throws {
        let lab = try ServiceLab("prvns", servers: [.dnsmasq, .nginx])
        defer { lab.stop() }
        // From the host namespace: the process enters the lab's before it drops root.
        let result = try run(cliPath, ["run", "--netns", lab.lab.client, "--target", ServiceLab.good, "--count", "3", "--interval", "0.05",
                                       "--no-trace", "--resolver", ServiceLab.good, "--dns-name", "www.lab",
                                       "--url", "http://\(ServiceLab.good)/", "--json"], check: false)
        #expect(try JSONSchema.violations(of: result, schema: "report") == [])
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(result.stdout.utf8))
        let probes = Dictionary(report.probes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(probes["dns"]?.status == .ok, "\(result.stdout) \(result.stderr)")
        #expect(probes["http"]?.status == .ok, "\(result.stdout) \(result.stderr)")
        #expect(probes["ping"]?.status == .ok, "\(result.stdout) \(result.stderr)")
    }

    @Test func theCLIRefusesASetUserIDInstall() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-suid-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("isp-checker").path
        try FileManager.default.copyItem(atPath: cliPath, toPath: binary)
        try FileManager.default.setAttributes([.posixPermissions: 0o4755], ofItemAtPath: binary)
        let result = try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary, "ping", "127.0.0.1", "-c", "1"], check: false)
        #expect(result.status == 77, "\(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("set-user-ID"), "\(result.stderr)")
    }

    @Test func aBinaryWithFileCapabilitiesWorksForAnyUser() async throws {
        // idealised: about capabilities, not the network.
        let lab = try Lab.up("prvfile", realistic: false)
        defer { lab.down() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-setcap-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("isp-checker").path
        try FileManager.default.copyItem(atPath: cliPath, toPath: binary)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary)
        try run("/usr/sbin/setcap", ["cap_net_raw+ep", binary])
        // ping_group_range stays closed: only the file capability can open the raw socket.
        let process = try await start(lab, [binary, "ping", lab.destination4] + Self.ping20, launcher: Self.asNobody + ["--inh-caps=-all"])
        try expectNoCapabilityLeft(process.pid, "setcap ping")
        #expect(process.wait() == 0, "\(process.stderr)")
        try expectRawAndKernelTimed(process.stdout)
    }

    @Test func anAmbientCapabilityAsSystemdGrantsItWorksForAnyUser() async throws {
        // idealised: about capabilities, not the network.
        let lab = try Lab.up("prvamb", realistic: false)
        defer { lab.down() }
        // What systemd does for User=nobody AmbientCapabilities=CAP_NET_RAW.
        let launcher = Self.asNobody + ["--inh-caps=+net_raw", "--ambient-caps=+net_raw"]
        let process = try await start(lab, [cliPath, "ping", lab.destination4] + Self.ping20, launcher: launcher)
        try expectNoCapabilityLeft(process.pid, "ambient ping")
        #expect(process.wait() == 0, "\(process.stderr)")
        try expectRawAndKernelTimed(process.stdout)
    }
}

/// `sudo isp-checker lab` runs lab/scenario.sh as root: only from where the binary is installed
/// (or built), never from the working directory, and only when no one but root can change it.
@Suite(.serialized, .enabled(if: isRoot, "runs the lab command as root"))
struct LabScriptTrustTests {
    /// PREFIX/bin/isp-checker and PREFIX/share/isp-checker/lab/scenario.sh, under the build
    /// folder (root's, not world-writable, unlike /tmp).
    struct Install {
        let prefix: String
        var binary: String { prefix + "/bin/isp-checker" }
        var lab: String { prefix + "/share/isp-checker/lab" }
        var marker: String { prefix + "/ran" }

        init(_ name: String, script: Bool, base: String = repositoryRoot.appendingPathComponent(".build").path) throws {
            prefix = "\(base)/privh-\(name)-\(getpid())"
            let manager = FileManager.default
            try manager.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: prefix)
            try manager.copyItem(atPath: cliPath, toPath: binary)
            if script { try Self.writeScript(in: lab, marker: marker) }
        }

        /// A scenario.sh that only leaves a mark that it ran, then fails.
        static func writeScript(in folder: String, marker: String) throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            try "#!/bin/bash\ntouch '\(marker)'\nexit 3\n".write(toFile: folder + "/scenario.sh", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder + "/scenario.sh")
        }

        func remove() { try? FileManager.default.removeItem(atPath: prefix) }
    }

    @Test func aRootOwnedScriptAtTheInstalledLocationRuns() throws {
        let install = try Install("labok", script: true)
        defer { install.remove() }
        let result = try run(install.binary, ["lab"], check: false)
        #expect(FileManager.default.fileExists(atPath: install.marker), "\(result.stderr)")
        #expect(result.status == 69, "the script failed on purpose: \(result.stderr)")
    }

    @Test func aFolderAboveThatIsStickyLikeTmpIsAcceptedAndOneThatIsNotIsRefused() throws {
        // /tmp (1777): others may write there but not replace root's folder inside it.
        let sticky = try Install("labtmp", script: true, base: FileManager.default.temporaryDirectory.path)
        defer { sticky.remove() }
        let accepted = try run(sticky.binary, ["lab"], check: false)
        #expect(FileManager.default.fileExists(atPath: sticky.marker), "\(accepted.stderr)")
        #expect(accepted.status == 69, "the script failed on purpose: \(accepted.stderr)")

        // A world-writable folder without the sticky bit above the install: anyone could rename it.
        let open = repositoryRoot.appendingPathComponent(".build/privh-open-\(getpid())").path
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: open) }
        #expect(chmod(open, 0o777) == 0)
        let unsafe = try Install("labopen", script: true, base: open)
        let refused = try run(unsafe.binary, ["lab"], check: false)
        #expect(refused.status == 77, "\(refused.stderr)")
        #expect(refused.stderr.contains("writable by its group or by others"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: unsafe.marker))
    }

    @Test func aGroupWritableScriptIsRefused() throws {
        let install = try Install("labgw", script: true)
        defer { install.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o775], ofItemAtPath: install.lab + "/scenario.sh")
        let result = try run(install.binary, ["lab"], check: false)
        #expect(result.status == 77, "\(result.stderr)")
        #expect(result.stderr.contains("refusing to run"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: install.marker))
    }

    @Test func aScriptNotOwnedByRootIsRefused() throws {
        let install = try Install("labown", script: true)
        defer { install.remove() }
        #expect(chown(install.lab + "/lab-helper.sh", 65534, 65534) != 0, "no such file yet")
        try "".write(toFile: install.lab + "/lab-helper.sh", atomically: true, encoding: .utf8)
        #expect(chown(install.lab + "/lab-helper.sh", 65534, 65534) == 0)
        let result = try run(install.binary, ["lab"], check: false)
        #expect(result.status == 77, "a file beside it belongs to nobody: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: install.marker))
    }

    @Test func theWorkingDirectoryIsNeverSearched() throws {
        // Outside the checkout, so that no lab/ is found above the binary either.
        let install = try Install("labcwd", script: false, base: FileManager.default.temporaryDirectory.path)
        defer { install.remove() }
        let workingDirectory = install.prefix + "/work"
        try Install.writeScript(in: workingDirectory + "/lab", marker: install.marker)
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(workingDirectory)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        let result = try run(install.binary, ["lab"], check: false)
        #expect(result.status == 66, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: install.marker))
    }
}
