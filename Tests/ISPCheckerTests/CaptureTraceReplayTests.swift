import Foundation
import Testing
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResults

/// Traceroutes rebuilt from captures the test writes frame by frame: each probe paired with the
/// answer that quotes it, whatever order, duplicates, losses and truncation the capture holds.
@Suite struct CaptureTraceReplayTests {
    typealias Frame = (nanoseconds: UInt64, packet: [UInt8])

    static let source: [UInt8] = [10, 99, 1, 1]
    static let destination: [UInt8] = [10, 99, 4, 2]
    static func router(_ hop: Int) -> [UInt8] { [10, 99, UInt8(hop), 2] }
    static let start: UInt64 = 1_700_000_000 * 1_000_000_000
    static func ms(_ value: Double) -> UInt64 { start + UInt64(value * 1_000_000) }

    static func be16(_ value: UInt16) -> [UInt8] { ReplayInputTests.be16(value) }

    static func ipv4(proto: UInt8, ttl: UInt8, id: UInt16 = 0x1234, from: [UInt8], to: [UInt8], _ payload: [UInt8]) -> [UInt8] {
        var header: [UInt8] = [0x45, 0] + be16(UInt16(20 + payload.count)) + be16(id) + [0, 0, ttl, proto, 0, 0] + from + to
        header.replaceSubrange(10..<12, with: be16(ReplayInputTests.checksum(header)))
        return header + payload
    }

    /// A classic traceroute UDP probe: source port 40000, destination port 33434 + n (the probe's
    /// number), TTL `ttl`; the UDP checksum is left 0 (none), as a captured probe may show.
    static func udpProbe(_ number: Int, ttl: Int) -> [UInt8] {
        let payload = [UInt8](repeating: 0x40, count: 24)
        let udp = be16(40_000) + be16(UInt16(33_434 + number)) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        return ipv4(proto: 17, ttl: UInt8(ttl), id: UInt16(0x100 + number), from: source, to: destination, udp)
    }

    /// An ICMP error (time exceeded 11/0, or unreachable 3/code) from `from` quoting the first
    /// `quote` bytes of `probe` as the router saw it (TTL 1), plus `extensions` after a 128-byte
    /// original datagram field (RFC 4884) when given.
    static func icmpError(type: UInt8 = 11, code: UInt8 = 0, from: [UInt8], quoting probe: [UInt8], quote: Int = 28, extensions: [UInt8] = []) -> [UInt8] {
        var quoted = Array(probe.prefix(quote))
        quoted[8] = type == 11 ? 1 : quoted[8]
        quoted.replaceSubrange(10..<12, with: [0, 0])
        quoted.replaceSubrange(10..<12, with: be16(ReplayInputTests.checksum(Array(quoted.prefix(20)))))
        var icmp: [UInt8] = [type, code, 0, 0, 0, 0, 0, 0]
        if !extensions.isEmpty {
            quoted += [UInt8](repeating: 0, count: 128 - quoted.count)
            icmp[5] = 32 // RFC 4884 §4.1: the original datagram's length in 32-bit words
        }
        icmp += quoted + extensions
        icmp.replaceSubrange(2..<4, with: be16(ReplayInputTests.checksum(icmp)))
        return ipv4(proto: 1, ttl: 64, from: from, to: source, icmp)
    }

    /// An RFC 4884 extension structure with one RFC 4950 MPLS object of one label stack entry.
    static func mplsExtension(label: UInt32, ttl: UInt8) -> [UInt8] {
        let entry = label << 12 | 1 << 8 | UInt32(ttl)
        var structure: [UInt8] = [0x20, 0, 0, 0] + be16(8) + [1, 1] + [UInt8(entry >> 24), UInt8(entry >> 16 & 0xff), UInt8(entry >> 8 & 0xff), UInt8(entry & 0xff)]
        structure.replaceSubrange(2..<4, with: be16(ReplayInputTests.checksum(structure)))
        return structure
    }

    static func contents(_ frames: [Frame], _ name: String = #function) throws -> CaptureContents {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-trace-replay-\(getpid())-\(name.prefix(40))").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(ReplayInputTests.pcapng(frames))))
        defer { unlink(path) }
        return try CaptureReplay.contents(fromCapture: path)
    }

    /// Three hops, one probe each: hop 1 and 2 routers, hop 3 the destination's port unreachable.
    static func threeHops() -> [Frame] {
        let probes = (1...3).map { udpProbe($0, ttl: $0) }
        return [
            (ms(0), probes[0]), (ms(0.1), icmpError(from: router(1), quoting: probes[0])),
            (ms(1), probes[1]), (ms(1.2), icmpError(from: router(2), quoting: probes[1])),
            (ms(2), probes[2]), (ms(2.3), icmpError(type: 3, code: 3, from: destination, quoting: probes[2])),
        ]
    }

    func hopAddresses(_ trace: TraceResult) -> [String] {
        trace.hops.map { $0.addresses.first?.address.description ?? "*" }
    }

    @Test func eachProbeIsPairedWithTheErrorThatQuotesItAndTimedByTheCapture() throws {
        let contents = try Self.contents(Self.threeHops())
        #expect(contents.pings.isEmpty)
        let trace = try #require(contents.traces.first?.result)
        #expect(contents.traces.count == 1)
        #expect(hopAddresses(trace) == ["10.99.1.2", "10.99.2.2", "10.99.4.2"])
        #expect(trace.stop == .destinationReached)
        #expect(trace.method == .udp)
        #expect(trace.paris == false)  // the destination port changes with every probe
        #expect(trace.rounds == 1)
        #expect(trace.hops.map(\.lossPercent) == [0, 0, 0])
        #expect(trace.hops.allSatisfy { $0.clock == .pcap })
        #expect(trace.hops.last?.isDestination == true)
        #expect(trace.hops.last?.unreachable == [UnreachableCode(family: .ipv4, code: 3)])
        let flow = try #require(contents.flows.first)
        #expect(flow.kind == .trace && flow.probes == 3 && flow.source == IPAddress("10.99.1.1") && flow.destination == IPAddress("10.99.4.2"))
    }

    @Test func roundTripTimesComeFromTheCaptureTimestamps() throws {
        let trace = try #require(try Self.contents(Self.threeHops()).traces.first?.result)
        let rtts = trace.hops.compactMap(\.avgMilliseconds)
        #expect(rtts.count == 3)
        for (rtt, expected) in zip(rtts, [0.1, 0.2, 0.3]) { #expect(abs(rtt - expected) < 1e-6) }
    }

    @Test func anUnansweredProbeIsLostAtItsHop() throws {
        // Two rounds; hop 2's second probe is never answered.
        var frames = Self.threeHops()
        let second = (1...3).map { Self.udpProbe(3 + $0, ttl: $0) }
        frames += [
            (Self.ms(1000), second[0]), (Self.ms(1000.1), Self.icmpError(from: Self.router(1), quoting: second[0])),
            (Self.ms(1001), second[1]),
            (Self.ms(1002), second[2]), (Self.ms(1002.3), Self.icmpError(type: 3, code: 3, from: Self.destination, quoting: second[2])),
        ]
        let trace = try #require(try Self.contents(frames).traces.first?.result)
        #expect(trace.rounds == 2)
        #expect(trace.hops.map(\.sent) == [2, 2, 2])
        #expect(trace.hops.map(\.received) == [2, 1, 2])
        #expect(trace.hops.map(\.lossPercent) == [0, 50, 0])
    }

    @Test func aDuplicatedAnswerCountsOnce() throws {
        var frames = Self.threeHops()
        frames.insert((Self.ms(0.15), frames[1].packet), at: 2)  // hop 1's error, twice
        let trace = try #require(try Self.contents(frames).traces.first?.result)
        #expect(trace.hops.map(\.sent) == [1, 1, 1])
        #expect(trace.hops.map(\.received) == [1, 1, 1])
        #expect(trace.hops[0].avgMilliseconds.map { abs($0 - 0.1) < 1e-6 } == true)
    }

    @Test func answersOutOfOrderArePairedByWhatTheyQuote() throws {
        // All probes leave at once (as ours and traceroute's do); the answers come back in reverse.
        let probes = (1...3).map { Self.udpProbe($0, ttl: $0) }
        let frames: [Frame] = [
            (Self.ms(0), probes[0]), (Self.ms(0.01), probes[1]), (Self.ms(0.02), probes[2]),
            (Self.ms(0.5), Self.icmpError(type: 3, code: 3, from: Self.destination, quoting: probes[2])),
            (Self.ms(0.6), Self.icmpError(from: Self.router(2), quoting: probes[1])),
            (Self.ms(0.7), Self.icmpError(from: Self.router(1), quoting: probes[0])),
        ]
        let trace = try #require(try Self.contents(frames).traces.first?.result)
        #expect(hopAddresses(trace) == ["10.99.1.2", "10.99.2.2", "10.99.4.2"])
        let rtts = trace.hops.compactMap(\.avgMilliseconds)
        for (rtt, expected) in zip(rtts, [0.7, 0.59, 0.48]) { #expect(abs(rtt - expected) < 1e-6, "\(rtts)") }
    }

    @Test func aQuoteTruncatedToThePortsStillPairsAndAShorterOneDoesNot() throws {
        let probes = (1...3).map { Self.udpProbe($0, ttl: $0) }
        let frames: [Frame] = [
            (Self.ms(0), probes[0]), (Self.ms(0.1), Self.icmpError(from: Self.router(1), quoting: probes[0], quote: 24)),
            (Self.ms(1), probes[1]), (Self.ms(1.1), Self.icmpError(from: Self.router(2), quoting: probes[1], quote: 22)),
            (Self.ms(2), probes[2]), (Self.ms(2.1), Self.icmpError(type: 3, code: 3, from: Self.destination, quoting: probes[2])),
        ]
        let trace = try #require(try Self.contents(frames).traces.first?.result)
        #expect(trace.hops.map(\.received) == [1, 0, 1])
        #expect(hopAddresses(trace) == ["10.99.1.2", "*", "10.99.4.2"])
    }

    @Test func anAnswerBeforeItsProbeIsNoAnswer() throws {
        let probe = Self.udpProbe(1, ttl: 1)
        let frames: [Frame] = [
            (Self.ms(0), Self.icmpError(from: Self.router(1), quoting: probe)),
            (Self.ms(1), probe),
            (Self.ms(2), Self.udpProbe(2, ttl: 2)),
        ]
        let trace = try #require(try Self.contents(frames).traces.first?.result)
        #expect(trace.hops.map(\.received) == [0, 0])
        #expect(trace.stop == .maxHopsReached)
    }

    @Test func mplsLabelsFromTheQuotedExtensionsReachTheHop() throws {
        var frames = Self.threeHops()
        let probe = Self.udpProbe(2, ttl: 2)
        frames[3] = (Self.ms(1.2), Self.icmpError(from: Self.router(2), quoting: probe, extensions: Self.mplsExtension(label: 24_001, ttl: 1)))
        let trace = try #require(try Self.contents(frames).traces.first?.result)
        #expect(trace.hops[1].mplsStacks == [[MPLSLabel(label: 24_001, trafficClass: 0, bottomOfStack: true, ttl: 1)]])
        #expect(trace.hops[0].mplsStacks.isEmpty)
    }

    @Test func labelsOnTheWireInFrontOfAnAnswerReachItsHop() throws {
        // The same trace captured on an Ethernet link that carries MPLS: hop 2's answer arrives
        // under two labels (ethertype 0x8847), the rest as plain IPv4.
        let ethernet: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]
        func entry(_ label: UInt32, bottom: Bool, ttl: UInt8) -> [UInt8] {
            let value = label << 12 | (bottom ? 1 << 8 : 0) | UInt32(ttl)
            return [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
        }
        let frames = Self.threeHops().enumerated().map { index, frame -> Frame in
            guard index == 3 else { return (frame.nanoseconds, ethernet + [0x08, 0x00] + frame.packet) }
            return (frame.nanoseconds, ethernet + [0x88, 0x47] + entry(16_001, bottom: false, ttl: 62) + entry(24, bottom: true, ttl: 62) + frame.packet)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-trace-replay-\(getpid())-wire-mpls").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(ReplayInputTests.pcapng(frames, linkType: 1))))
        defer { unlink(path) }
        let trace = try #require(try CaptureReplay.contents(fromCapture: path).traces.first?.result)
        #expect(hopAddresses(trace) == ["10.99.1.2", "10.99.2.2", "10.99.4.2"])
        #expect(trace.hops[1].mplsStacks == [[MPLSLabel(label: 16_001, trafficClass: 0, bottomOfStack: false, ttl: 62),
                                              MPLSLabel(label: 24, trafficClass: 0, bottomOfStack: true, ttl: 62)]])
        #expect(trace.hops[0].mplsStacks.isEmpty && trace.hops[2].mplsStacks.isEmpty)
    }

    @Test func aRouterThatAnswersUnreachableEndsTheTraceThere() throws {
        let probes = (1...3).map { Self.udpProbe($0, ttl: $0) }
        let frames: [Frame] = [
            (Self.ms(0), probes[0]), (Self.ms(0.1), Self.icmpError(from: Self.router(1), quoting: probes[0])),
            (Self.ms(1), probes[1]), (Self.ms(1.1), Self.icmpError(type: 3, code: 1, from: Self.router(2), quoting: probes[1])),
            (Self.ms(2), probes[2]),
        ]
        let trace = try #require(try Self.contents(frames).traces.first?.result)
        #expect(trace.stop == .unreachable(UnreachableCode(family: .ipv4, code: 1)))
        #expect(trace.hops.count == 2)
        #expect(trace.destinationReached == false)
    }

    /// An echo request flow at one TTL with its replies is a ping; echo requests that walk the
    /// TTLs and draw time-exceeded errors (traceroute -I, mtr) are a trace, and no ping.
    @Test func echoRequestsThatWalkTheTTLsAreATraceAndTheRestPings() throws {
        func echo(request: Bool, ident: UInt16, sequence: UInt16, ttl: UInt8, peer: [UInt8]) -> [UInt8] {
            var icmp: [UInt8] = [request ? 8 : 0, 0, 0, 0] + Self.be16(ident) + Self.be16(sequence) + [UInt8](repeating: 7, count: 32)
            icmp.replaceSubrange(2..<4, with: Self.be16(ReplayInputTests.checksum(icmp)))
            return request ? Self.ipv4(proto: 1, ttl: ttl, from: Self.source, to: peer, icmp)
                : Self.ipv4(proto: 1, ttl: 60, from: peer, to: Self.source, icmp)
        }
        let other: [UInt8] = [10, 99, 9, 9]
        var frames: [Frame] = []
        for sequence in UInt16(1)...3 {
            let probe = echo(request: true, ident: 77, sequence: sequence, ttl: UInt8(sequence), peer: Self.destination)
            frames.append((Self.ms(Double(sequence)), probe))
            frames.append((Self.ms(Double(sequence) + 0.2), sequence < 3
                ? Self.icmpError(from: Self.router(Int(sequence)), quoting: probe)
                : echo(request: false, ident: 77, sequence: sequence, ttl: 64, peer: Self.destination)))
        }
        for sequence in UInt16(1)...4 {
            frames.append((Self.ms(10 + Double(sequence)), echo(request: true, ident: 99, sequence: sequence, ttl: 64, peer: other)))
            if sequence != 2 { frames.append((Self.ms(10.5 + Double(sequence)), echo(request: false, ident: 99, sequence: sequence, ttl: 64, peer: other))) }
        }
        let contents = try Self.contents(frames)
        let trace = try #require(contents.traces.first?.result)
        #expect(contents.traces.count == 1)
        #expect(trace.method == .icmp)
        #expect(hopAddresses(trace) == ["10.99.1.2", "10.99.2.2", "10.99.4.2"])
        #expect(trace.stop == .destinationReached)
        #expect(contents.pings.map(\.result.address) == [IPAddress("10.99.9.9")])
        #expect(contents.pings.first?.result.received == 3)

        // Two destinations: without --target the replay cannot tell which one is meant.
        guard case .ambiguous(let flows) = contents.choose(target: nil, method: nil) else {
            Issue.record("two destinations should be ambiguous")
            return
        }
        #expect(flows.map(\.kind) == [.trace, .ping])
        guard case .chosen(let ping, let chosen) = contents.choose(target: "10.99.4.2", method: nil) else {
            Issue.record("--target picks the trace")
            return
        }
        #expect(ping == nil && chosen?.address == IPAddress("10.99.4.2"))
        guard case .chosen(let onlyPing, nil) = contents.choose(target: "10.99.9.9", method: nil) else {
            Issue.record("--target picks the ping")
            return
        }
        #expect(onlyPing?.sent == 4)
        guard case .noFlow = contents.choose(target: "10.99.4.2", method: .tcp(port: 80)) else {
            Issue.record("no tcp trace to pick")
            return
        }
    }

    @Test func oneTraceAloneIsChosenWithoutATarget() throws {
        let contents = try Self.contents(Self.threeHops())
        guard case .chosen(nil, let trace?) = contents.choose(target: nil, method: nil) else {
            Issue.record("one trace should be chosen")
            return
        }
        #expect(trace.hops.count == 3)
    }
}
