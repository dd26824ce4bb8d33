import Foundation
import ISPChecker
import TestSupport
import Testing

/// Replay: ping results rebuilt offline from a capture that tcpdump wrote while another tool
/// (iputils ping) pinged through the lab.
@Suite(.enabled(if: isRoot, "the network lab needs root"))
struct ReplayLabTests {
    @Test func aCaptureOfIputilsPingReplaysToTheSameCountsAndRoundTripTimes() async throws {
        // idealised: the replayed counts must equal iputils' exactly; the loss must be the injected one alone.
        let lab = try Lab.up("rpl", realistic: false)
        defer { lab.down() }
        // 20 % loss on what r1 forwards toward the destination: some requests never come back.
        try lab.configure("loss", ["--node", "r1", "--percent", "20", "--dir", "forward"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-replay-\(getpid()).pcap").path
        defer { unlink(file) }
        let tcpdump = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client, "tcpdump", "-i", "right", "-nn", "-U", "--immediate-mode",
                                                      "--time-stamp-precision=nano", "-w", file, "icmp or icmp6"])
        for _ in 0..<300 where !tcpdump.stderr.contains("listening on") {
            try await Task.sleep(for: .milliseconds(10))
        }
        let ping = try lab.exec("c", ["ping", "-n", "-c", "60", "-i", "0.01", "-W", "1", lab.destination4], check: false)
        try await Task.sleep(for: .milliseconds(300))
        tcpdump.terminate()
        tcpdump.wait()

        // iputils' own summary: "60 packets transmitted, 47 received, ...".
        let summary = try #require(ping.stdout.split(separator: "\n").first { $0.contains("packets transmitted") })
        let numbers = summary.split(separator: " ").compactMap { Int($0) }
        let (transmitted, received) = (numbers[0], numbers[1])

        let flows = try CaptureReplay.pings(fromCapture: file)
        #expect(flows.count == 1)
        let flow = try #require(flows.first)
        #expect(flow.address == IPAddress(lab.destination4))
        #expect(flow.socketKind == .captureFile)
        #expect(flow.sent == transmitted)
        #expect(flow.received == received)
        #expect(received < transmitted, "20 % loss should have cost some replies: \(summary)")
        #expect(abs(flow.lossPercent - Double(transmitted - received) * 100 / Double(transmitted)) < 0.001)
        #expect(flow.probes.allSatisfy { $0.status == .timedOut || $0.clock == .pcap })
        // Sub-millisecond lab path: every RTT is positive and small.
        #expect(flow.probes.compactMap(\.rttMilliseconds).allSatisfy { $0 > 0 && $0 < 50 })

        // The CLI's replay of the capture is a run report like any other.
        let replay = try run(cliPath, ["run", "--mode", "replay", "--input", file, "--json"], check: false)
        #expect((0...2).contains(replay.status), "\(replay.stderr)")
        #expect(try ReportSchema.violations(ofJSON: Data(replay.stdout.utf8)) == [])
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(replay.stdout.utf8))
        #expect(report.mode == .replay)
        #expect(report.probes.first { $0.name == "ping" }?.details["packets_received"] == .int(received))
    }

    @Test func aFileThatIsNotACaptureIsATypedError() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-not-a-capture-\(getpid())").path
        try "not a capture".write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        #expect {
            try CaptureReplay.pings(fromCapture: file)
        } throws: { error in
            guard case .unreadableCapture(let path, _) = error as? ProbeError else { return false }
            return path == file
        }
        #expect {
            try CaptureReplay.pings(fromCapture: "/nonexistent/ispc.pcap")
        } throws: { error in
            guard case .unreadableCapture(_, let reason) = error as? ProbeError else { return false }
            return reason.contains("No such file")
        }
    }
}
