import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// What `run --mode replay --input FILE` opens: only regular files (a FIFO or /dev/zero never
/// ends), a report of bounded size, and captures whose timestamps, however crafted, never
/// overflow the round-trip arithmetic.
@Suite struct ReplayInputTests {
    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ispc-replay-\(getpid())-\(name)").path
    }

    func refusal(_ path: String) -> String? {
        do {
            _ = try ReplayFile(path: path)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func devZeroIsRefusedAtOnce() {
        let started = ContinuousClock.now
        let reason = refusal("/dev/zero")
        #expect(reason?.contains("a character device, not a regular file") == true, "\(reason ?? "accepted")")
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func aFIFOIsRefusedAtOnceEvenWithNoWriter() throws {
        let path = temporaryPath("fifo")
        unlink(path)
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let started = ContinuousClock.now
        let reason = refusal(path)
        #expect(reason?.contains("a FIFO, not a regular file") == true, "\(reason ?? "accepted")")
        #expect(ContinuousClock.now - started < .seconds(1))
    }

    @Test func aDirectoryIsRefused() {
        #expect(refusal(FileManager.default.temporaryDirectory.path)?.contains("a directory") == true)
    }

    @Test func aReportLargerThanTheLimitIsRefusedWithoutReadingIt() throws {
        let path = temporaryPath("big.json")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("{".utf8)))
        defer { unlink(path) }
        #expect(truncate(path, off_t(ReplayFile.maximumReportBytes + 1)) == 0)  // sparse: nothing written
        let file = try ReplayFile(path: path)
        #expect(try file.looksLikeReport())
        #expect(throws: ProbeError.self) { _ = try file.reportBytes() }
    }

    @Test func aSmallReportIsReadWhole() throws {
        let path = temporaryPath("small.json")
        let text = "  \n{\"id\": 1}"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        defer { unlink(path) }
        let file = try ReplayFile(path: path)
        #expect(try file.looksLikeReport())
        #expect(try file.reportBytes() == Array(text.utf8))
    }

    // MARK: Captures with crafted timestamps

    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count { sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1]); index += 2 }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
    static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xff) } }

    /// An IPv4 ICMP echo request (type 8) or reply (0) between 10.99.1.1 and 10.99.9.9.
    static func echo(request: Bool, sequence: UInt16) -> [UInt8] {
        var icmp: [UInt8] = [request ? 8 : 0, 0, 0, 0] + be16(0x1234) + be16(sequence) + (0..<56).map { UInt8($0) }
        icmp.replaceSubrange(2..<4, with: be16(checksum(icmp)))
        let (from, to): ([UInt8], [UInt8]) = request ? ([10, 99, 1, 1], [10, 99, 9, 9]) : ([10, 99, 9, 9], [10, 99, 1, 1])
        var header: [UInt8] = [0x45, 0] + be16(UInt16(20 + icmp.count)) + [0, 1, 0, 0, 64, 1, 0, 0] + from + to
        header.replaceSubrange(10..<12, with: be16(checksum(header)))
        return header + icmp
    }

    /// A pcapng file (raw IPv4, nanosecond timestamps) of these packets at these 64-bit times.
    static func pcapng(_ packets: [(nanoseconds: UInt64, packet: [UInt8])], linkType: UInt16 = 101) -> [UInt8] {
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
            let length = UInt32(12 + padded.count)
            return le32(type) + le32(length) + padded + le32(length)
        }
        var file = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + le16(1) + le16(0) + [UInt8](repeating: 0xff, count: 8))
        // Interface: link type 101 (raw IP) unless told, if_tsresol (option 9) = 9: nanoseconds.
        file += block(1, le16(linkType) + le16(0) + le32(65535) + le16(9) + le16(1) + [9, 0, 0, 0] + le16(0) + le16(0))
        for (nanoseconds, packet) in packets {
            file += block(6, le32(0) + le32(UInt32(nanoseconds >> 32)) + le32(UInt32(nanoseconds & 0xffff_ffff))
                + le32(UInt32(packet.count)) + le32(UInt32(packet.count)) + packet)
        }
        return file
    }

    /// A request stamped one second past what int64 nanoseconds hold (2262) and its reply a
    /// second before: converted naively the request's time wraps to -9.2e18 ns and the reply's
    /// stays +9.2e18, and their difference overflowed (a trap). Such a frame is skipped; the
    /// rest of the capture replays.
    @Test func aCaptureWithTimestampsBeyondInt64ReplaysWithoutATrap() throws {
        let path = temporaryPath("crafted.pcapng")
        let normal: UInt64 = 1_700_000_000 * 1_000_000_000
        let bytes = Self.pcapng([
            (normal, Self.echo(request: true, sequence: 0)),
            (normal + 1_500_000, Self.echo(request: false, sequence: 0)),
            (9_223_372_037 * 1_000_000_000, Self.echo(request: true, sequence: 1)),
            (9_223_372_036 * 1_000_000_000, Self.echo(request: false, sequence: 1)),
            (UInt64.max, Self.echo(request: true, sequence: 2)),
            (normal + 2_000_000_000, Self.echo(request: true, sequence: 3)),
            (normal + 2_000_000_000 + 3 * 86_400 * 1_000_000_000, Self.echo(request: false, sequence: 3)),
        ])
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        defer { unlink(path) }
        let flows = try CaptureReplay.pings(fromCapture: path)
        let flow = try #require(flows.first)
        #expect(flows.count == 1)
        // seq 0 answered in 1.5 ms; seq 3's "reply" three days later is no answer; the frames past 2262 are skipped.
        #expect(flow.probes.map(\.sequence) == [0, 3])
        #expect(flow.probes.first?.rttNanoseconds == 1_500_000)
        #expect(flow.probes.last?.status == .timedOut)
    }
}
