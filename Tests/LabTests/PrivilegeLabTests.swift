import Foundation
import TestSupport
import Testing

/// The two documented ways to run isp-checker without root (docs/deployment.md): file
/// capabilities on the binary (`setcap cap_net_raw+ep`), and an ambient capability as systemd's
/// `AmbientCapabilities=CAP_NET_RAW` gives one. Either way the probe gets its raw socket and
/// capture, then no thread keeps any capability, effective or permitted.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct PrivilegeLabTests {
    /// CapEff and CapPrm of every thread of a process.
    func capabilities(of pid: Int32) throws -> [(effective: String, permitted: String)] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").map { task in
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            func field(_ name: String) -> String {
                status.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { $0.split(separator: "\t").last.map(String.init) } ?? "?"
            }
            return (field("CapEff:"), field("CapPrm:"))
        }
    }

    /// Runs a 20-probe ping with `launcher` in front of the CLI, checks every thread's
    /// capabilities halfway through, and returns the JSON it printed.
    func pingAndCheckCapabilities(_ lab: Lab, launcher: [String], cli: String) async throws -> String {
        let process = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client] + launcher + [cli, "ping", lab.destination4, "-c", "20", "-i", "0.1", "--json"])
        try await Task.sleep(for: .milliseconds(1000))
        #expect(process.isRunning, "\(process.stderr)")
        let threads = try capabilities(of: process.pid)
        #expect(threads.count > 1)
        #expect(threads.allSatisfy { $0.effective == "0000000000000000" && $0.permitted == "0000000000000000" }, "\(threads)")
        #expect(process.wait() == 0, "\(process.stderr)")
        return process.stdout
    }

    func expectRawAndKernelTimed(_ json: String) throws {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let ping = try #require(object["ping"] as? [String: Any])
        #expect(ping["socketKind"] as? String == "raw")
        #expect(ping["clockSource"] as? String == "pcap")
        #expect(ping["received"] as? Int == 20)
    }

    static let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    @Test func asRootEveryCapabilityIsGoneOnceTheSocketsAreOpen() async throws {
        // idealised: about capabilities, not the network.
        let lab = try Lab.up("prvroot", realistic: false)
        defer { lab.down() }
        try expectRawAndKernelTimed(try await pingAndCheckCapabilities(lab, launcher: [], cli: cliPath))
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
        try expectRawAndKernelTimed(try await pingAndCheckCapabilities(lab, launcher: Self.asNobody + ["--inh-caps=-all"], cli: binary))
    }

    @Test func anAmbientCapabilityAsSystemdGrantsItWorksForAnyUser() async throws {
        // idealised: about capabilities, not the network.
        let lab = try Lab.up("prvamb", realistic: false)
        defer { lab.down() }
        // What systemd does for User=nobody AmbientCapabilities=CAP_NET_RAW.
        let launcher = Self.asNobody + ["--inh-caps=+net_raw", "--ambient-caps=+net_raw"]
        try expectRawAndKernelTimed(try await pingAndCheckCapabilities(lab, launcher: launcher, cli: cliPath))
    }
}
