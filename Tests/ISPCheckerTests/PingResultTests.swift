import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

@Suite struct PingResultTests {
    func probe(_ index: Int, ms: Double?, clock: ClockSource = .pcap) -> PingProbe {
        PingProbe(index: index, outcome: EchoOutcome(
            sequence: UInt16(index), status: ms == nil ? .timedOut : .received,
            rttNanoseconds: ms.map { Int64($0 * 1_000_000) }, clock: ms == nil ? nil : clock, ttl: ms == nil ? nil : 61))
    }

    @Test func summaryMatchesIputilsFormulas() throws {
        let result = PingResult(target: "t", address: try #require(IPAddress("10.0.0.1")), socketKind: .raw,
                                probes: [probe(0, ms: 10), probe(1, ms: 20), probe(2, ms: nil), probe(3, ms: 30)])
        #expect(result.sent == 4)
        #expect(result.received == 3)
        #expect(result.lossPercent == 25)
        #expect(result.minMilliseconds == 10)
        #expect(result.maxMilliseconds == 30)
        #expect(abs((result.avgMilliseconds ?? 0) - 20) < 1e-9)
        // sqrt(mean(x²) − mean(x)²) = sqrt(466.67 − 400)
        #expect(abs((result.mdevMilliseconds ?? 0) - 8.16496580927726) < 1e-6)
    }

    @Test func noReplyIsFullLossNotAnError() throws {
        let result = PingResult(target: "t", address: try #require(IPAddress("10.66.0.1")), socketKind: .raw,
                                probes: (0..<3).map { probe($0, ms: nil) })
        #expect(result.lossPercent == 100)
        #expect(result.received == 0)
        #expect(result.avgMilliseconds == nil)
        #expect(result.clockSource == nil)
    }

    @Test func weakestClockIsReported() throws {
        let result = PingResult(target: "t", address: try #require(IPAddress("::1")), socketKind: .datagram,
                                probes: [probe(0, ms: 1, clock: .pcap), probe(1, ms: 1, clock: .kernelReceive)])
        #expect(result.clockSource == .kernelReceive)
        #expect(ClockSource.pcap < .kernelSocket && ClockSource.kernelSocket < .kernelReceive && ClockSource.kernelReceive < .userspace)
    }

    @Test func resultRoundTripsThroughJSON() throws {
        let result = PingResult(target: "dest", address: try #require(IPAddress("fd00:99:4::2")), socketKind: .raw,
                                probes: [probe(0, ms: 40.25), probe(1, ms: nil)])
        let data = try JSONEncoder().encode(result)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"address\":\"fd00:99:4::2\""))
        #expect(text.contains("\"clock\":\"pcap\""))
        #expect(text.contains("\"status\":\"timed_out\""))
        #expect(try JSONDecoder().decode(PingResult.self, from: data) == result)
    }
}
