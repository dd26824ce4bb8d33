import Foundation
import TestSupport
import Testing

/// The CLI as users run it: in a namespace, as root and as nobody, with real sockets.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct CLILabTests {
    struct Report: Decodable {
        struct Ping: Decodable {
            var received: Int
            var sent: Int
            var lossPercent: Double
            var socketKind: String
            var clockSource: String?
        }
        struct Engine: Decodable {
            var capabilitiesDropped: Bool
            var captureDevice: String?
        }
        var ping: Ping
        var engine: Engine
    }

    /// `ping --json`, checked against docs/ping.schema.json (snake_case keys) first.
    func decode(_ text: String) throws -> Report {
        let violations = try JSONSchema.violations(of: Data(text.utf8), schema: "ping")
        #expect(violations.isEmpty, "ping --json does not conform to docs/ping.schema.json: \(violations)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Report.self, from: Data(text.utf8))
    }

    /// CapEff of every thread of a process, from /proc.
    func effectiveCapabilities(of pid: Int32) throws -> [String] {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        return try tasks.map { task in
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            let line = status.split(separator: "\n").first { $0.hasPrefix("CapEff:") } ?? ""
            return line.split(separator: "\t").last.map(String.init) ?? "?"
        }
    }

    @Test func capabilitiesAreDroppedAfterSetupWhileProbesGoOn() async throws {
        // realistic: the CLI as users run it, in a container-like namespace (ping only: echo is not rate limited).
        let lab = try Lab.up("caps", realistic: true)
        defer { lab.down() }
        // `ip netns exec` execs in place: the pid stays the CLI's.
        let process = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client, cliPath, "ping", lab.destination4, "-c", "20", "-i", "0.1", "--json"])
        try await Task.sleep(for: .milliseconds(800))
        #expect(process.isRunning)
        let comm = try String(contentsOfFile: "/proc/\(process.pid)/comm", encoding: .utf8)
        #expect(comm.hasPrefix("isp-checker"))
        let mainStatus = try String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8)
        #expect(mainStatus.contains("CapEff:\t0000000000000000"))
        let perThread = try effectiveCapabilities(of: process.pid)
        #expect(perThread.count > 1)
        #expect(perThread.allSatisfy { $0 == "0000000000000000" }, "CapEff per thread: \(perThread)")
        #expect(process.wait() == 0, "\(process.stderr)")
        let report = try decode(process.stdout)
        #expect(report.engine.capabilitiesDropped)
        #expect(report.ping.received == 20)
        #expect(report.ping.clockSource == "pcap")
        #expect(report.ping.socketKind == "raw")
    }

    @Test func unprivilegedUserGetsTheDatagramSocketOrATypedError() throws {
        // realistic: the CLI as users run it, in a container-like namespace (ping only).
        let lab = try Lab.up("nobody", realistic: true)
        defer { lab.down() }
        let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                        cliPath, "ping", lab.destination4, "-c", "5", "-i", "0.05", "--json"]

        try lab.sysctl("c", "net.ipv4.ping_group_range=0 2147483647")
        let allowed = try lab.exec("c", asNobody, check: false)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let report = try decode(allowed.stdout)
        #expect(report.ping.socketKind == "datagram")
        #expect(report.ping.received == 5)
        // No capture without CAP_NET_RAW, but both timestamps still come from the kernel.
        #expect(report.ping.clockSource == "kernel_socket")
        #expect(report.engine.captureDevice == nil)

        try lab.sysctl("c", "net.ipv4.ping_group_range=1 0")
        let denied = try lab.exec("c", asNobody, check: false)
        #expect(denied.status == 77)
        #expect(denied.stderr.contains("permission denied"))
        #expect(denied.stderr.contains("CAP_NET_RAW"))
        #expect(denied.stderr.contains("ping_group_range"))
    }

    @Test func badInputGivesClearErrors() throws {
        // realistic: the CLI's user-visible errors and exit statuses as users see them.
        let lab = try Lab.up("input", realistic: true)
        defer { lab.down() }
        // The lab's resolv.conf points at 127.0.0.1 inside the namespace: no query leaves it.
        let unresolvable = try lab.exec("c", [cliPath, "ping", "nosuch.lab", "-c", "1"], check: false)
        #expect(unresolvable.status == 68)
        #expect(unresolvable.stderr.contains("cannot resolve 'nosuch.lab'"))

        let byName = try lab.exec("c", [cliPath, "ping", "dest.lab", "-c", "2", "-i", "0.05", "--json"], check: false)
        #expect(byName.status == 0, "\(byName.stderr)")
        #expect(try decode(byName.stdout).ping.received == 2)

        for (arguments, message) in [
            (["ping", "", "-c", "1"], "empty target"),
            (["ping", "10.99.1.300", "-c", "1"], "malformed target"),
            (["ping", "10.99.1.2", "-c", "0"], "--count must be 1 "),
            (["ping", "10.99.1.2", "--interval=-1"], "--interval"),
        ] {
            let output = try lab.exec("c", [cliPath] + arguments, check: false)
            #expect(output.status != 0)
            #expect((output.stderr + output.stdout).contains(message), "\(arguments): \(output.stderr)")
        }

        let unreachable = try lab.exec("c", [cliPath, "ping", "10.66.0.1", "-c", "2", "-i", "0.05", "-W", "0.3", "--json"], check: false)
        #expect(unreachable.status == 1)
        #expect(try decode(unreachable.stdout).ping.lossPercent == 100)
    }

    struct TraceReport: Decodable {
        struct Hop: Decodable {
            struct Address: Decodable { var address: String; var name: String? }
            var ttl: Int
            var addresses: [Address]
            var isDestination: Bool
        }
        var hops: [Hop]
    }

    /// `trace --json`, checked against docs/trace.schema.json (the run report's trace) first.
    func decodeTrace(_ output: CommandOutput) throws -> TraceReport {
        let violations = try JSONSchema.violations(of: output, schema: "trace")
        #expect(violations.isEmpty, "trace --json does not conform to docs/trace.schema.json: \(violations)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(TraceReport.self, from: Data(output.stdout.utf8))
    }

    @Test func aTraceLoadsNoCaptureOrServiceLibraryAndRemembersTheDistance() throws {
        // realistic: the default trace as a user runs it, in a container-like namespace.
        let lab = try Lab.up("trcache", routers: 3, realistic: true)
        defer { lab.down() }
        let cache = NSTemporaryDirectory() + "trcache-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let env = ["/usr/bin/env", "XDG_CACHE_HOME=\(cache)", "LD_DEBUG=libs"]
        let hops = ["10.99.1.2", "10.99.2.2", "10.99.3.2", "10.99.4.2"]

        // The first trace: socket timestamps, and neither libpcap nor libcurl, OpenSSL or ldns
        // mapped (they are opened at their first use); it leaves the distance for the next one.
        let first = try lab.exec("c", env + [cliPath, "trace", lab.destination4])
        #expect(first.stdout.contains("clock kernel_socket"), "\(first.stdout)")
        // ld.so's LD_DEBUG=libs says "find library=NAME" for each library it maps, linked or dlopened.
        let mapped = first.stderr.split(separator: "\n").filter { $0.contains("find library=") }
        #expect(mapped.contains { $0.contains("find library=libc.so") }, "LD_DEBUG gave no library list: \(first.stderr)")
        for library in ["libpcap", "libcurl", "libldns", "libssl", "libcrypto", "lib_FoundationICU", "libFoundation.so"] {
            #expect(!mapped.contains { $0.contains("find library=\(library)") }, "\(library) was loaded: \(mapped)")
        }
        let file = try String(contentsOfFile: cache + "/isp-checker/path-lengths", encoding: .utf8)
        #expect(file.hasPrefix("10.99.4.2 4 "), "\(file)")

        // A stale distance (the path grew) still gives every hop; the file is corrected.
        try "10.99.4.2 2 \(Int(Date().timeIntervalSince1970))\n".write(toFile: cache + "/isp-checker/path-lengths", atomically: false, encoding: .utf8)
        let stale = try lab.exec("c", env + [cliPath, "trace", lab.destination4, "--json"])
        let staleHops = try decodeTrace(stale).hops
        #expect(staleHops.map { $0.addresses.first?.address ?? "*" } == hops)
        #expect(try String(contentsOfFile: cache + "/isp-checker/path-lengths", encoding: .utf8).hasPrefix("10.99.4.2 4 "))

        // --capture times with pcap (and loads it); it and --no-capture exclude each other.
        let captured = try lab.exec("c", env + [cliPath, "trace", lab.destination4, "--capture"])
        #expect(captured.stdout.contains("clock pcap"), "\(captured.stdout)")
        #expect(captured.stderr.contains("find library=libpcap"))
        let both = try lab.exec("c", [cliPath, "trace", lab.destination4, "--capture", "--no-capture"], check: false)
        #expect(both.status == 64)
        #expect(both.stderr.contains("--capture and --no-capture exclude each other"))
    }

    @Test func aMissingLibraryIsNamedWithItsPackageAndACaptureFallsBack() throws {
        // No lab: loopback only. Each library is hidden in a private mount namespace by mounting
        // /dev/null over it, as on a host where its package is not installed.
        func hiding(_ link: String, _ arguments: [String]) throws -> CommandOutput {
            let resolved = try #require(realpath(link, nil), "\(link) is not installed")
            defer { free(resolved) }
            let library = String(cString: resolved)
            let command = "mount --bind /dev/null \(library) && exec \(([cliPath] + arguments).joined(separator: " "))"
            return try run("/usr/bin/unshare", ["-m", "/bin/sh", "-c", command], check: false)
        }
        let dns = try hiding("/lib/x86_64-linux-gnu/libldns.so.3", ["dns", "example.lab", "-r", "127.0.0.1:1", "--timeout", "0.2"])
        #expect(dns.status == 69)
        #expect(dns.stderr.contains("libldns.so.3") && dns.stderr.contains("apt install libldns3"), "\(dns.stderr)")
        let http = try hiding("/lib/x86_64-linux-gnu/libcurl.so.4", ["http", "http://127.0.0.1:1/", "--timeout", "0.2"])
        #expect(http.status == 69)
        #expect(http.stderr.contains("apt install libcurl4"), "\(http.stderr)")
        // Without libpcap the engine times with socket timestamps and says why.
        let ping = try hiding("/lib/x86_64-linux-gnu/libpcap.so.0.8", ["ping", "127.0.0.1", "-c", "1", "--json"])
        #expect(ping.status == 0)
        #expect(ping.stdout.contains("apt install libpcap0.8") && ping.stdout.contains("\"clock_source\" : \"kernel_socket\""), "\(ping.stdout)")
        #expect(try decode(ping.stdout).engine.captureDevice == nil)
    }

    @Test func traceNamesHopsOnlyWhenAsked() throws {
        // realistic: the user-visible trace (UDP, ICMP, TCP) with checksum offload and ICMP limits, as in a container.
        let lab = try Lab.up("trcli", routers: 3, realistic: true)
        defer { lab.down() }
        // Names come from the lab's hosts file inside the namespace; its resolv.conf points at
        // 127.0.0.1, so no query can leave.
        let named = try lab.exec("c", [cliPath, "trace", "dest.lab", "--resolve", "--json"])
        let hops = try decodeTrace(named).hops
        #expect(hops.map { $0.addresses.first?.name ?? "*" } == ["r1.lab", "r2.lab", "r3.lab", "dest.lab"])
        #expect(hops.last?.isDestination == true)

        let plain = try lab.exec("c", [cliPath, "trace", lab.destination4, "-M", "icmp", "--json"])
        let plainHops = try decodeTrace(plain).hops
        #expect(plainHops.map { $0.addresses.first?.address ?? "*" } == ["10.99.1.2", "10.99.2.2", "10.99.3.2", "10.99.4.2"])
        #expect(plainHops.allSatisfy { $0.addresses.allSatisfy { $0.name == nil } })

        let text = try lab.exec("c", [cliPath, "trace", lab.destination4, "-M", "tcp", "-p", "443"])
        #expect(text.stdout.contains("destination reached"))
        let tcp = try lab.exec("c", [cliPath, "trace", lab.destination4, "-M", "tcp", "-p", "443", "--json"])
        #expect(try decodeTrace(tcp).hops.last?.isDestination == true)
        let unreachableJSON = try lab.exec("c", [cliPath, "trace", "10.66.0.1", "-W", "0.3", "--json"], check: false)
        #expect(unreachableJSON.status == 1)
        #expect(try decodeTrace(unreachableJSON).hops.last?.isDestination == false)
        #expect(unreachableJSON.stdout.contains("\"stop\" : \"unreachable\""), "\(unreachableJSON.stdout)")
        let unreachable = try lab.exec("c", [cliPath, "trace", "10.66.0.1", "-W", "0.3"], check: false)
        #expect(unreachable.status == 1)
        #expect(unreachable.stdout.contains("stopped: unreachable !N"))
        let missingPort = try lab.exec("c", [cliPath, "trace", lab.destination4, "-M", "tcp"], check: false)
        #expect(missingPort.status == 64)
        #expect(missingPort.stderr.contains("--method tcp needs --port"))
    }
}
