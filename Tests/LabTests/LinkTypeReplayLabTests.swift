import Foundation
import ISPChecker
import TestSupport
import Testing

/// Replay over every link type that carries IP: a real tcpdump capture of iputils ping (IPv4 and
/// IPv6) on the lab's Ethernet, rewritten frame by frame into each link type — byte by byte into
/// pcap files, and through Wireshark's text2pcap into pcapng files — replays to the very same
/// flows, counts and round-trip times as the Ethernet original, through `CaptureReplay.pings`
/// and through the CLI.
@Suite(.enabled(if: isRoot, "the network lab needs root"))
struct LinkTypeReplayLabTests {
    @Test func aPingCaptureReplaysTheSameOverEveryLinkType() async throws {
        // realistic: nothing here depends on every ICMP error being sent; the loss is the injected one.
        let lab = try Lab.up("lt", realistic: true)
        defer { lab.down() }
        try lab.configure("loss", ["--node", "r1", "--percent", "20", "--dir", "forward"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-linktypes-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = directory.appendingPathComponent("ethernet.pcap").path
        let tcpdump = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.client, "tcpdump", "-i", "right", "-nn", "-U", "--immediate-mode",
                                                      "--time-stamp-precision=nano", "-w", original, "icmp or icmp6"])
        for _ in 0..<300 where !tcpdump.stderr.contains("listening on") {
            try await Task.sleep(for: .milliseconds(10))
        }
        try lab.exec("c", ["ping", "-n", "-c", "30", "-i", "0.01", "-W", "1", lab.destination4], check: false)
        try lab.exec("c", ["ping", "-n", "-6", "-c", "30", "-i", "0.01", "-W", "1", lab.destination6], check: false)
        try await Task.sleep(for: .milliseconds(300))
        tcpdump.terminate()
        tcpdump.wait()

        let capture = try PcapFile(path: original)
        #expect(capture.linktype == 1)
        let expected = try CaptureReplay.pings(fromCapture: original)
        #expect(expected.count == 2, "one IPv4 and one IPv6 flow: \(expected.map(\.target))")
        #expect(expected.contains { $0.received < $0.sent }, "20 % loss should have cost some replies")
        let packets = try capture.frames.map { frame in
            let ethertype = UInt16(frame.data[12]) << 8 | UInt16(frame.data[13])
            try #require(ethertype == 0x0800 || ethertype == 0x86dd, "untagged IP on the lab's veth")
            return (frame, ip: Array(frame.data[14...]))
        }

        let expectedCLI = try cliDetails(original, targets: [lab.destination4, lab.destination6])
        #expect(expectedCLI.allSatisfy { $0 != nil })
        for variant in LinkVariant.all {
            let frames = packets.map { PcapFile.Frame(seconds: $0.0.seconds, fraction: $0.0.fraction, data: variant.wrap($0.ip)) }
            let byteWritten = directory.appendingPathComponent("\(variant.name).pcap").path
            try PcapFile(linktype: variant.linktype, nanosecond: capture.nanosecond, frames: frames).write(to: byteWritten)
            var files = [byteWritten]
            switch variant.text2pcap {
            case .unwritable:
                break
            case .same, .withoutDirectionByte:
                // text2pcap writes DLT_PPP_WITH_DIR's direction byte itself (received, 0).
                let drop = variant.text2pcap == .withoutDirectionByte ? 1 : 0
                let textFrames = frames.map { PcapFile.Frame(seconds: $0.seconds, fraction: $0.fraction, data: Array($0.data.dropFirst(drop))) }
                let textWritten = directory.appendingPathComponent("\(variant.name).pcapng").path
                try text2pcap(textFrames, linktype: variant.linktype, to: textWritten)
                files.append(textWritten)
            }
            for file in files {
                let flows = try CaptureReplay.pings(fromCapture: file)
                #expect(Self.summary(flows) == Self.summary(expected), "\(variant.name): \(file)")
                #expect(try cliDetails(file, targets: [lab.destination4, lab.destination6]) == expectedCLI, "\(variant.name): \(file)")
            }
        }

        // editcap's own rewrite: the Ethernet header chopped off, the file relabelled raw IP.
        let editcapped = directory.appendingPathComponent("editcap-rawip.pcap").path
        try run("/usr/bin/editcap", ["-C", "14", "-T", "rawip", original, editcapped])
        #expect(Self.summary(try CaptureReplay.pings(fromCapture: editcapped)) == Self.summary(expected))
        #expect(try cliDetails(editcapped, targets: [lab.destination4, lab.destination6]) == expectedCLI)
    }

    /// What must be equal between two replays: each flow's address and every probe's sequence,
    /// status, round-trip time and reply TTL, in order.
    static func summary(_ flows: [PingResult]) -> [String] {
        flows.map { flow in
            "\(flow.address) sent \(flow.sent) received \(flow.received): "
                + flow.probes.map { "\($0.sequence)/\($0.status)/\($0.rttNanoseconds.map { "\($0)" } ?? "-")/\($0.replyTTL ?? -1)" }.joined(separator: " ")
        }
    }

    /// The ping probe's details of `run --mode replay --input FILE --target T --json`, per target.
    func cliDetails(_ file: String, targets: [String]) throws -> [[String: DetailValue]?] {
        try targets.map { target in
            let replay = try run(cliPath, ["run", "--mode", "replay", "--input", file, "--target", target, "--json"], check: false)
            guard (0...2).contains(replay.status) else {
                Issue.record("replay of \(file) for \(target) exited \(replay.status): \(replay.stderr)")
                return nil
            }
            let report = try RunReport.decoder.decode(RunReport.self, from: Data(replay.stdout.utf8))
            #expect(report.mode == .replay)
            return report.probes.first { $0.name == "ping" }?.details
        }
    }

    /// Writes `frames` as Wireshark's text2pcap reads a hex dump (a timestamp line, then offset
    /// and bytes), and has it write the pcapng file of link type `linktype`.
    func text2pcap(_ frames: [PcapFile.Frame], linktype: Int, to path: String) throws {
        var text = ""
        for frame in frames {
            var seconds = time_t(frame.seconds)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let date = String(format: "%04d-%02d-%02d %02d:%02d:%02d.%09d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                              parts.tm_hour, parts.tm_min, parts.tm_sec, Int(frame.fraction))
            text += date + "\n"
            for start in stride(from: 0, to: frame.data.count, by: 16) {
                let row = frame.data[start..<min(start + 16, frame.data.count)]
                text += String(format: "%06x", start) + " " + row.map { String(format: "%02x", $0) }.joined(separator: " ") + "\n"
            }
        }
        let dump = path + ".txt"
        try text.write(toFile: dump, atomically: true, encoding: .utf8)
        // TZ=UTC: text2pcap reads the timestamps as local time.
        try run("/usr/bin/env", ["TZ=UTC", "/usr/bin/text2pcap", "-q", "-l", "\(linktype)", "-t", "%Y-%m-%d %H:%M:%S.%f", dump, path])
    }
}

/// What an unreadable link type gives: an error naming it, the input error's exit status, no crash.
@Suite struct UnreadableLinkTypeTests {
    @Test(arguments: [("usb-linux", "DLT_USB_LINUX (189, USB with Linux header)"),
                      ("ieee-802-11-radiotap", "DLT_IEEE802_11_RADIO (127, 802.11 plus radiotap header)")])
    func aLinkTypeWithoutIPIsNamedInTheError(encapsulation: String, named: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/editcap"),
                     "editcap is missing: install wireshark-common (scripts/install-deps.sh)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-linktype-\(getpid())-\(encapsulation)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A real Ethernet ping capture's worth of frames, relabelled by editcap.
        let ethernet = directory.appendingPathComponent("ethernet.pcap").path
        try PcapFile(linktype: 1, nanosecond: true, frames: [
            PcapFile.Frame(seconds: 1_700_000_000, fraction: 0, data: [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00] + [UInt8](repeating: 0x45, count: 40)),
        ]).write(to: ethernet)
        let relabelled = directory.appendingPathComponent("\(encapsulation).pcap").path
        try run("/usr/bin/editcap", ["-T", encapsulation, ethernet, relabelled])

        #expect {
            try CaptureReplay.pings(fromCapture: relabelled)
        } throws: { error in
            guard case .unreadableCapture(let path, let reason) = error as? ProbeError else { return false }
            return path == relabelled && reason.contains("capture link type \(named) carries no IP that isp-checker can read")
                && reason.contains("supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW")
        }
        let replay = try run(cliPath, ["run", "--mode", "replay", "--input", relabelled], check: false)
        #expect(replay.status == 66, "EX_NOINPUT, as for any unreadable input: \(replay.status) \(replay.stderr)")
        #expect(replay.stderr.contains(named), "\(replay.stderr)")
        #expect(replay.stderr.contains("supported:"), "\(replay.stderr)")
    }
}

/// Every link type the replay reads, as a wrapper around one IP packet (the layouts of
/// CProbe/capture.c; numbers as capture files write them, LINKTYPE_*).
struct LinkVariant: Sendable {
    let name: String
    let linktype: Int
    let wrap: @Sendable ([UInt8]) -> [UInt8]
    /// How text2pcap writes the link type: as given, supplying the direction byte itself, or
    /// not at all (Wireshark 4.0 cannot write LINKTYPE_MPLS into pcapng).
    enum Text2pcap { case same, withoutDirectionByte, unwritable }
    var text2pcap: Text2pcap = .same

    init(name: String, linktype: Int, text2pcap: Text2pcap = .same, wrap: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.name = name
        self.linktype = linktype
        self.text2pcap = text2pcap
        self.wrap = wrap
    }

    static func isIPv6(_ ip: [UInt8]) -> Bool { ip.first.map { $0 >> 4 == 6 } ?? false }
    static func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    static func ethertype(_ ip: [UInt8]) -> [UInt8] { be16(isIPv6(ip) ? 0x86dd : 0x0800) }
    static func pppProtocol(_ ip: [UInt8]) -> [UInt8] { be16(isIPv6(ip) ? 0x0057 : 0x0021) }
    static let macs: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]
    /// Two MPLS entries (RFC 3032 §2.1): label 16001 TTL 254 over label 24 TC 5, bottom of stack, TTL 63.
    static let labels: [UInt8] = [0x03, 0xe8, 0x10, 0xfe, 0x00, 0x01, 0x8b, 0x3f]
    static func pppoe(_ ip: [UInt8]) -> [UInt8] { [0x11, 0x00, 0x12, 0x34] + be16(ip.count + 2) + pppProtocol(ip) + ip }
    static func family(_ ip: [UInt8], inet6: UInt32, bigEndian: Bool) -> [UInt8] {
        let value = isIPv6(ip) ? inet6 : 2
        let bytes = [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
        return (bigEndian ? bytes : bytes.reversed()) + ip
    }

    static let all: [LinkVariant] = [
        LinkVariant(name: "ethernet-8021q", linktype: 1) { macs + [0x81, 0x00, 0x00, 0x64] + ethertype($0) + $0 },
        LinkVariant(name: "ethernet-qinq", linktype: 1) { macs + [0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64] + ethertype($0) + $0 },
        LinkVariant(name: "ethernet-9100-stack", linktype: 1) {
            macs + [0x91, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64, 0x81, 0x00, 0x00, 0x65] + ethertype($0) + $0
        },
        LinkVariant(name: "ethernet-mpls", linktype: 1) { macs + [0x88, 0x47] + labels + $0 },
        LinkVariant(name: "ethernet-pppoe", linktype: 1) { macs + [0x88, 0x64] + pppoe($0) },
        LinkVariant(name: "linux-sll", linktype: 113) { [0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0] + ethertype($0) + $0 },
        LinkVariant(name: "linux-sll2", linktype: 276) { ethertype($0) + [0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0] + $0 },
        LinkVariant(name: "raw", linktype: 101) { $0 },
        LinkVariant(name: "null-little-endian-freebsd", linktype: 0) { family($0, inet6: 28, bigEndian: false) },
        LinkVariant(name: "null-big-endian-darwin", linktype: 0) { family($0, inet6: 30, bigEndian: true) },
        LinkVariant(name: "loop-openbsd", linktype: 108) { family($0, inet6: 24, bigEndian: true) },
        LinkVariant(name: "ppp", linktype: 9) { [0xff, 0x03] + pppProtocol($0) + $0 },
        LinkVariant(name: "ppp-compressed", linktype: 9) { [isIPv6($0) ? 0x57 : 0x21] + $0 },
        LinkVariant(name: "ppp-hdlc", linktype: 50) { [0xff, 0x03] + pppProtocol($0) + $0 },
        LinkVariant(name: "ppp-with-direction", linktype: 204, text2pcap: .withoutDirectionByte) { [1, 0xff, 0x03] + pppProtocol($0) + $0 },
        LinkVariant(name: "ppp-ether", linktype: 51) { pppoe($0) },
        LinkVariant(name: "cisco-hdlc", linktype: 104) { [0x0f, 0x00] + ethertype($0) + $0 },
        LinkVariant(name: "cisco-hdlc-mpls", linktype: 104) { [0x0f, 0x00, 0x88, 0x47] + labels + $0 },
        LinkVariant(name: "mpls", linktype: 219, text2pcap: .unwritable) { labels + $0 },
    ]
}

/// A classic pcap file (host byte order, as tcpdump writes it): read and written byte by byte.
struct PcapFile {
    struct Frame {
        var seconds: UInt32
        /// Microseconds, or nanoseconds in a nanosecond file.
        var fraction: UInt32
        var data: [UInt8]
    }

    var linktype: Int
    var nanosecond: Bool
    var frames: [Frame]

    init(linktype: Int, nanosecond: Bool, frames: [Frame]) {
        self.linktype = linktype
        self.nanosecond = nanosecond
        self.frames = frames
    }

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func le32(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
        }
        try #require(bytes.count >= 24)
        let magic = le32(0)
        try #require(magic == 0xa1b2_3c4d || magic == 0xa1b2_c3d4, "a little-endian pcap file, as tcpdump writes here")
        nanosecond = magic == 0xa1b2_3c4d
        linktype = Int(le32(20) & 0x0fff_ffff)
        frames = []
        var offset = 24
        while offset + 16 <= bytes.count {
            let length = Int(le32(offset + 8))
            try #require(offset + 16 + length <= bytes.count)
            frames.append(Frame(seconds: le32(offset), fraction: le32(offset + 4), data: Array(bytes[(offset + 16)..<(offset + 16 + length)])))
            offset += 16 + length
        }
    }

    func write(to path: String) throws {
        func le32(_ value: UInt32) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)] }
        var out = le32(nanosecond ? 0xa1b2_3c4d : 0xa1b2_c3d4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(262_144) + le32(UInt32(linktype))
        for frame in frames {
            out += le32(frame.seconds) + le32(frame.fraction) + le32(UInt32(frame.data.count)) + le32(UInt32(frame.data.count)) + frame.data
        }
        try Data(out).write(to: URL(fileURLWithPath: path))
    }
}
