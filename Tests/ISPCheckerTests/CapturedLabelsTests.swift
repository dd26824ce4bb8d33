import CProbe
import Testing
@testable import ISPCheckerCore
@testable import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// The labels of an MPLS frame in a capture reach Swift as `MPLSLabel`s, outermost first.
@Suite struct CapturedLabelsTests {
    static func entry(_ label: UInt32, tc: UInt32, bottom: Bool, ttl: UInt32) -> [UInt8] {
        let word = label << 12 | tc << 9 | (bottom ? 1 << 8 : 0) | ttl
        return [UInt8(word >> 24), UInt8(word >> 16 & 0xff), UInt8(word >> 8 & 0xff), UInt8(word & 0xff)]
    }

    @Test func anEthernetMPLSFrameGivesItsLabelStack() {
        let ipv4: [UInt8] = [0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        let frame: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0x47]
            + Self.entry(16001, tc: 0, bottom: false, ttl: 254) + Self.entry(24, tc: 5, bottom: true, ttl: 63) + ipv4
        var decoded = cp_frame()
        let rc = frame.withUnsafeBufferPointer { cp_frame_decode(1, $0.baseAddress, $0.count, &decoded) }
        #expect(rc == 0)
        #expect(decoded.family == AF_INET)
        #expect(decoded.l3_len == ipv4.count)
        #expect(decoded.mplsLabels == [MPLSLabel(label: 16001, trafficClass: 0, bottomOfStack: false, ttl: 254),
                                       MPLSLabel(label: 24, trafficClass: 5, bottomOfStack: true, ttl: 63)])
    }

    @Test func aPlainFrameHasNoLabels() {
        let frame: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0, 0, 20]
        var decoded = cp_frame()
        _ = frame.withUnsafeBufferPointer { cp_frame_decode(1, $0.baseAddress, $0.count, &decoded) }
        #expect(decoded.mplsLabels.isEmpty)
    }
}
