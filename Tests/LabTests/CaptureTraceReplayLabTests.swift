import Foundation
import ISPChecker
import TestSupport
import Testing

/// Traceroutes replayed from captures (issue 18): tcpdump records the client's link while a
/// real tool — traceroute, mtr, scamper, tracepath, dublin-traceroute, or ours — traces through
/// the realistic lab, one router of which loses 30 % of what it forwards; the replay must name
/// the same hop at every TTL as the tool's own output, and lose as much per hop within one probe.
/// Needs root; serialized: each test builds its own lab and the tools share the CPU.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct CaptureTraceReplayLabTests {
    static let routers = 3

    /// What a tool's own output says of one TTL.
    struct ToolHop: CustomStringConvertible {
        var addresses: Set<String> = []
        var sent = 0
        var received = 0
        var description: String { "\(addresses.sorted())\(sent > 0 ? " \(received)/\(sent)" : "")" }
    }

    /// A realistic lab whose r2 loses 30 % of the packets it forwards toward the destination:
    /// hops 3 and on lose answers, hops 1 and 2 do not.
    static func lossyLab(_ name: String) throws -> Lab {
        // realistic: captures come from real networks, with ICMP rate limits and checksum offload.
        let lab = try Lab.up(name, routers: routers, realistic: true)
        do { try lab.configure("loss", ["--node", "r2", "--percent", "30", "--dir", "forward"]) } catch {
            lab.down()
            throw error
        }
        return lab
    }

    /// Fails with what to install when a tool the test drives is missing (CI installs it from
    /// scripts/install-deps.sh): a missing tool is never a silent skip.
    static func requireTool(_ path: String, package: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing: apt-get install \(package) (scripts/install-deps.sh)")
    }

    /// Runs `arguments` in the lab's client while tcpdump records its link to a new file; the path.
    static func capture(_ lab: Lab, _ name: String, _ arguments: [String]) async throws -> (file: String, output: CommandOutput) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-trace-\(getpid())-\(name).pcap").path
        let tcpdump = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client, "tcpdump", "-i", "right", "-nn", "-U", "--immediate-mode",
                                                      "--time-stamp-precision=nano", "-w", file])
        for _ in 0..<1000 where !tcpdump.stderr.contains("listening on") {
            try await Task.sleep(for: .milliseconds(10))
        }
        // A capture that started late would miss the first probes and fail the comparison
        // for the wrong reason (seen once on a loaded machine).
        guard tcpdump.stderr.contains("listening on") else {
            tcpdump.terminate()
            tcpdump.wait()
            throw HarnessError.failed("tcpdump did not start listening within 10 s: \(tcpdump.stderr)")
        }
        let output = try lab.exec("c", arguments, check: false)
        try await Task.sleep(for: .milliseconds(300))
        tcpdump.terminate()
        tcpdump.wait()
        return (file, output)
    }

    /// The one trace of the capture to `destination`.
    static func replayed(_ file: String, to destination: String) throws -> TraceResult {
        let contents = try CaptureReplay.contents(fromCapture: file)
        guard case .chosen(_, let trace?) = contents.choose(target: destination, method: nil) else {
            throw HarnessError.failed("no single trace to \(destination) in \(file): \(contents.flows)")
        }
        return trace
    }

    static func ttlLines(_ text: String, _ pattern: String) -> [(Int, [String])] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return text.split(separator: "\n").compactMap { line in
            let line = String(line)
            guard let match = regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)),
                  let range = Range(match.range(at: 1), in: line), let ttl = Int(line[range]) else { return nil }
            return (ttl, line[line.index(line.startIndex, offsetBy: match.range.length)...].split(separator: " ").map(String.init))
        }
    }

    /// traceroute's lines: ` 3  10.99.3.2  0.017 ms *  0.010 ms`.
    static func tracerouteHops(_ text: String) -> [Int: ToolHop] {
        var hops: [Int: ToolHop] = [:]
        for (ttl, tokens) in ttlLines(text, #"^\s*(\d+)\s"#) {
            var hop = ToolHop()
            for token in tokens {
                if token == "*" { hop.sent += 1 }
                if token == "ms" { hop.sent += 1; hop.received += 1 }
                if IPAddress(token) != nil { hop.addresses.insert(token) }
            }
            hops[ttl] = hop
        }
        return hops
    }

    /// mtr --report's lines: `  3.|-- 10.99.3.2   30.0%    10    0.1 …` (`???` for silence).
    static func mtrHops(_ text: String) -> [Int: ToolHop] {
        var hops: [Int: ToolHop] = [:]
        for (ttl, tokens) in ttlLines(text, #"^\s*(\d+)\.\|--\s"#) where tokens.count >= 3 {
            let loss = Double(tokens[1].dropLast()) ?? 100
            let sent = Int(tokens[2]) ?? 0
            hops[ttl] = ToolHop(addresses: IPAddress(tokens[0]) != nil ? [tokens[0]] : [], sent: sent,
                                received: sent - Int((loss * Double(sent) / 100).rounded()))
        }
        return hops
    }

    /// Addresses per TTL of tools that print one line per answer or hop: scamper (` 3  10.99.3.2
    /// 0.07 ms`), tracepath (` 3:  10.99.3.2  0.04ms`) and dublin-traceroute (`3    10.99.3.2 (…)`).
    static func addressHops(_ text: String, _ pattern: String) -> [Int: ToolHop] {
        var hops: [Int: ToolHop] = [:]
        for (ttl, tokens) in ttlLines(text, pattern) {
            let addresses = tokens.prefix(1).filter { IPAddress($0) != nil }
            hops[ttl, default: ToolHop()].addresses.formUnion(addresses)
        }
        return hops
    }

    /// Our trace's JSON: per TTL, addresses and counts.
    static func ourHops(_ json: String) throws -> [Int: ToolHop] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let hops = try #require(object["hops"] as? [[String: Any]])
        var result: [Int: ToolHop] = [:]
        for hop in hops {
            let addresses = (hop["addresses"] as? [[String: Any]] ?? []).compactMap { $0["address"] as? String }
            result[hop["ttl"] as? Int ?? 0] = ToolHop(addresses: Set(addresses), sent: hop["sent"] as? Int ?? 0, received: hop["received"] as? Int ?? 0)
        }
        return result
    }

    /// The replay names what the tool named at every TTL up to the destination and, where the
    /// tool counted its probes, loses as many within one probe; the path is the lab's.
    /// `askedAgain`: the tool is our own trace, which may ask the destination's expected TTL a
    /// second time in its first round when the first probe there went unanswered, and then
    /// counts one probe for that hop and round (`Traceroute.runRound`); the capture holds both,
    /// so at most one TTL may be replayed with one probe more, lost.
    static func expectSameHops(_ trace: TraceResult, _ tool: [Int: ToolHop], lab: Lab, v6: Bool, compareLoss: Bool,
                               askedAgain: Bool = false, _ context: String) throws {
        let expected = try lab.path(v6: v6)
        #expect(trace.stop == .destinationReached, "\(context): \(trace.stop)")
        // As far as the tool went: one TTL past the destination's distance when every probe at
        // that distance was lost (then the destination answers one TTL further).
        #expect(trace.hops.map(\.ttl) == tool.keys.sorted(), "\(context): \(trace.hops.map(\.ttl))")
        #expect(trace.hops.count >= expected.count, "\(context)")
        var reasked: [Int] = []
        for hop in trace.hops {
            let replayed = Set(hop.addresses.map(\.address.description))
            let own = tool[hop.ttl] ?? ToolHop()
            #expect(replayed == own.addresses, "\(context) TTL \(hop.ttl): replay \(replayed.sorted()), tool \(own)")
            let lab = hop.ttl <= expected.count ? expected[hop.ttl - 1] : expected[expected.count - 1]
            #expect(replayed.isSubset(of: [lab]), "\(context) TTL \(hop.ttl): \(replayed) not the lab's \(lab)")
            guard compareLoss, own.sent > 0 else { continue }
            if askedAgain && hop.sent == own.sent + 1 && abs(hop.received - own.received) <= 1 {
                reasked.append(hop.ttl)
                continue
            }
            #expect(hop.sent == own.sent, "\(context) TTL \(hop.ttl): \(hop.sent) probes replayed, the tool sent \(own.sent)")
            #expect(abs(hop.received - own.received) <= 1, "\(context) TTL \(hop.ttl): \(hop.received)/\(hop.sent) replayed, tool \(own)")
        }
        #expect(reasked.count <= 1, "\(context): TTLs \(reasked) replayed with one probe more than the tool counted")
        #expect(trace.hops.allSatisfy { $0.received == 0 || $0.clock == .pcap }, "\(context)")
    }

    @Test(arguments: [[String](), ["-I"], ["-T"]])
    func tracerouteReplaysToItsOwnHopsAndLoss(_ flags: [String]) async throws {
        try Self.requireTool("/usr/sbin/traceroute", package: "traceroute")
        let lab = try Self.lossyLab("hbtr")
        defer { lab.down() }
        for v6 in [false, true] {
            let destination = v6 ? lab.destination6 : lab.destination4
            let (file, output) = try await Self.capture(lab, "traceroute", ["traceroute", "-n", "-w", "1", "-q", "3", "-m", "8"] + flags + [destination])
            defer { unlink(file) }
            try Self.expectSameHops(try Self.replayed(file, to: destination), Self.tracerouteHops(output.stdout), lab: lab, v6: v6,
                                    compareLoss: true, "traceroute \(flags) v6=\(v6): \(output.stdout)")
        }
    }

    @Test(arguments: [[String](), ["-u"], ["-T"]])
    func mtrReplaysToItsOwnHopsAndLoss(_ flags: [String]) async throws {
        try Self.requireTool("/usr/bin/mtr", package: "mtr-tiny")
        let lab = try Self.lossyLab("hbmtr")
        defer { lab.down() }
        for v6 in [false, true] {
            let destination = v6 ? lab.destination6 : lab.destination4
            let (file, output) = try await Self.capture(lab, "mtr", ["mtr", "-n", "--report", "-c", "10", "-i", "0.2", "-m", "8"] + flags + [destination])
            defer { unlink(file) }
            let trace = try Self.replayed(file, to: destination)
            #expect(trace.rounds == 10)
            try Self.expectSameHops(trace, Self.mtrHops(output.stdout), lab: lab, v6: v6, compareLoss: true, "mtr \(flags) v6=\(v6): \(output.stdout)")
        }
    }

    /// scamper prints one answer per hop, no loss: the hops are compared.
    @Test func scamperReplaysToItsOwnHops() async throws {
        try Self.requireTool("/usr/bin/scamper", package: "scamper")
        // idealised: in the realistic lab (tx checksum offload on the veths) scamper printed * at
        // every hop of an IPv6 udp-paris trace although the capture (and the replay, which falls
        // back to the ports when the quoted checksum disagrees) has every answer; most likely
        // scamper matches by a checksum the offload changed. Its own output is what is compared.
        let lab = try Lab.up("hbsc", routers: Self.routers, realistic: false)
        defer { lab.down() }
        try lab.configure("loss", ["--node", "r2", "--percent", "30", "--dir", "forward"])
        for v6 in [false, true] {
            let destination = v6 ? lab.destination6 : lab.destination4
            for method in ["udp-paris", "icmp-paris", "tcp"] {
                let (file, output) = try await Self.capture(lab, "scamper", ["scamper", "-c", "trace -P \(method) -q 3 -w 1 -m 8", "-i", destination])
                defer { unlink(file) }
                try Self.expectSameHops(try Self.replayed(file, to: destination), Self.addressHops(output.stdout, #"^\s*(\d+)\s+"#),
                                        lab: lab, v6: v6, compareLoss: false, "scamper \(method) v6=\(v6): \(output.stdout)")
            }
        }
    }

    /// tracepath prints the hops it found, no loss: the hops are compared.
    @Test func tracepathReplaysToItsOwnHops() async throws {
        try Self.requireTool("/usr/bin/tracepath", package: "iputils-tracepath")
        let lab = try Self.lossyLab("hbtp")
        defer { lab.down() }
        for v6 in [false, true] {
            let destination = v6 ? lab.destination6 : lab.destination4
            let (file, output) = try await Self.capture(lab, "tracepath", ["tracepath", "-n", "-m", "8", destination])
            defer { unlink(file) }
            try Self.expectSameHops(try Self.replayed(file, to: destination), Self.addressHops(output.stdout, #"^\s*(\d+):\s+"#),
                                    lab: lab, v6: v6, compareLoss: false, "tracepath v6=\(v6): \(output.stdout)")
        }
    }

    /// dublin-traceroute probes several flows (source port fixed, destination port per flow) at
    /// every TTL; IPv4 only (it has no IPv6). Its own matching misses answers that arrive before
    /// its sniffer starts, so its output is compared as the union of its flows' hops.
    @Test func dublinTracerouteReplaysToItsOwnHops() async throws {
        try Self.requireTool("/usr/bin/dublin-traceroute", package: "dublin-traceroute")
        // idealised: dublin sends all flows' probes 10 ms apart, and the destination's ICMP rate
        // limit (6 at once, then 1 a second) would silence it for most flows.
        let lab = try Lab.up("hbdub", routers: Self.routers, realistic: false)
        defer { lab.down() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-dublin-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // It writes trace.json to its working directory.
        let (file, output) = try await Self.capture(lab, "dublin", ["/bin/sh", "-c", "cd '\(directory)' && exec dublin-traceroute -n 3 -T 6 \(lab.destination4)"])
        defer { unlink(file) }
        let trace = try Self.replayed(file, to: lab.destination4)
        #expect(trace.rounds == 3)
        try Self.expectSameHops(trace, Self.addressHops(output.stdout, #"^(\d+)\s+"#), lab: lab, v6: false, compareLoss: false, "dublin: \(output.stdout)")
    }

    @Test(arguments: ["udp", "icmp", "tcp"])
    func ourTraceReplaysToItsOwnHopsAndLoss(_ method: String) async throws {
        let lab = try Self.lossyLab("hbour")
        defer { lab.down() }
        for v6 in [false, true] {
            let destination = v6 ? lab.destination6 : lab.destination4
            let (file, output) = try await Self.capture(lab, "ours", [cliPath, "trace", "--json", "--no-path-cache", "-M", method, "-p", "80",
                                                                      "-c", "10", "-i", "0.2", destination])
            defer { unlink(file) }
            let trace = try Self.replayed(file, to: destination)
            // 11 when a TTL was asked again (the replay's rounds are its most probes at one TTL).
            #expect(trace.rounds == 10 || trace.rounds == 11, "\(trace.rounds) rounds")
            try Self.expectSameHops(trace, try Self.ourHops(output.stdout), lab: lab, v6: v6, compareLoss: true, askedAgain: true,
                                    "ours \(method) v6=\(v6)")
        }
    }

    /// `isp-checker run` live, captured, then replayed: the same probes fail and the same
    /// component at the same hop is blamed.
    @Test(arguments: [false, true])
    func aReplayedRunGivesTheLiveRunsVerdict(v6: Bool) async throws {
        let lab = try Self.lossyLab("hbrun")
        defer { lab.down() }
        let destination = v6 ? lab.destination6 : lab.destination4
        let (file, live) = try await Self.capture(lab, "run", [cliPath, "run", "--target", destination, "--no-dns", "--json"])
        defer { unlink(file) }
        let replay = try run(cliPath, ["run", "--mode", "replay", "--input", file, "--json"], check: false)
        #expect(replay.status == live.status, "\(replay.stderr)")
        #expect(try ReportSchema.violations(ofJSON: Data(replay.stdout.utf8)) == [])
        let liveReport = try RunReport.decoder.decode(RunReport.self, from: Data(live.stdout.utf8))
        let replayed = try RunReport.decoder.decode(RunReport.self, from: Data(replay.stdout.utf8))
        #expect(replayed.mode == .replay)
        #expect(replayed.probes.map(\.name) == liveReport.probes.map(\.name))
        #expect(replayed.probes.map(\.status) == liveReport.probes.map(\.status))
        #expect(replayed.probes.allSatisfy { $0.details["clock"] == .string("pcap") })
        #expect(replayed.diagnosis.first?.component == liveReport.diagnosis.first?.component,
                "live \(liveReport.diagnosis), replay \(replayed.diagnosis)")
        #expect(replayed.diagnosis.first?.evidence.first?.hop == liveReport.diagnosis.first?.evidence.first?.hop)
        let (liveTrace, replayedTrace) = (try #require(liveReport.trace), try #require(replayed.trace))
        #expect(replayedTrace.hops.map { $0.addresses.map(\.address) } == liveTrace.hops.map { $0.addresses.map(\.address) })
        // The live trace may ask one TTL again in its first round and count one probe there; the
        // capture holds both (see `expectSameHops`): one TTL at most with one replayed probe more.
        var reasked = 0
        for (replayedHop, liveHop) in zip(replayedTrace.hops, liveTrace.hops) {
            let sameCount = replayedHop.sent == liveHop.sent || replayedHop.sent == liveHop.sent + 1
            if replayedHop.sent == liveHop.sent + 1 { reasked += 1 }
            #expect(sameCount && abs(replayedHop.received - liveHop.received) <= 1, "TTL \(liveHop.ttl): replayed \(replayedHop.received)/\(replayedHop.sent), live \(liveHop.received)/\(liveHop.sent)")
        }
        #expect(reasked <= 1, "\(reasked) TTLs replayed with one probe more than the live trace counted")
    }

    /// Two tools tracing two destinations: the replay lists the flows instead of guessing.
    @Test func aCaptureOfSeveralFlowsIsListedAndTargetPicksOne() async throws {
        try Self.requireTool("/usr/sbin/traceroute", package: "traceroute")
        let lab = try Lab.up("hbflows", routers: Self.routers, realistic: true)  // realistic: as users capture
        defer { lab.down() }
        let script = "traceroute -n -q 1 -w 1 \(lab.destination4) && traceroute -n -I -q 1 -w 1 \(lab.router4(2)) && ping -n -c 3 -i 0.1 \(lab.destination6)"
        let (file, _) = try await Self.capture(lab, "flows", ["/bin/sh", "-c", script])
        defer { unlink(file) }
        let listing = try run(cliPath, ["run", "--mode", "replay", "--input", file], check: false)
        #expect(listing.status == 64, "\(listing.stderr)")
        #expect(listing.stderr.contains("pick one with --target"), "\(listing.stderr)")
        let words = listing.stderr.split(whereSeparator: { $0 == " " }).joined(separator: " ")
        #expect(words.contains("trace udp 10.99.1.1 -> \(lab.destination4)"), "\(listing.stderr)")
        #expect(words.contains("trace icmp 10.99.1.1 -> \(lab.router4(2))"), "\(listing.stderr)")
        #expect(words.contains("ping icmp fd00:99:1::1 -> \(lab.destination6)"), "\(listing.stderr)")
        let picked = try run(cliPath, ["run", "--mode", "replay", "--input", file, "--target", lab.router4(2), "--json"], check: false)
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(picked.stdout.utf8))
        #expect(report.trace?.method == .icmp)
        #expect(report.trace?.hops.count == 2)
    }
}
