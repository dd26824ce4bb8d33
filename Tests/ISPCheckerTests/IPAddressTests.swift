import Glibc
import Testing
@testable import ISPCheckerResults

/// IPAddress parses and prints literals in Swift (the results layer has no C): the cases the C
/// core's parser is held to, and a round trip.
@Suite struct IPAddressTests {
    @Test func parsesAndFormatsIPv4AndIPv6() throws {
        let v4 = try #require(IPAddress("192.0.2.33"))
        #expect(v4.family == .ipv4 && v4.bytes == [192, 0, 2, 33] && v4.description == "192.0.2.33")
        let v6 = try #require(IPAddress("2001:db8::1"))
        #expect(v6.family == .ipv6 && v6.scopeID == 0 && v6.bytes.count == 16 && v6.description == "2001:db8::1")
        #expect(IPAddress("2001:0db8:0000::0001")?.description == "2001:db8::1", "printed as RFC 5952")
    }

    @Test func parsesAnIPv6ZoneByNameAndByIndex() throws {
        let lo = if_nametoindex("lo")
        #expect(lo != 0)
        let named = try #require(IPAddress("fe80::1%lo"))
        #expect(named.scopeID == lo && named.description == "fe80::1%lo")
        #expect(IPAddress("fe80::1%7")?.scopeID == 7)
    }

    @Test func rejectsWhatIsNotALiteral() {
        for text in ["1.2.3", "example.com", "", "fe80::1%", "fe80::1%no-such-if0", "%lo", "192.0.2.1%lo", "::1%+1",
                     "256.0.0.1", " 192.0.2.1", "192.0.2.1 ", "192.0.2.1\u{0}", "192.0.2.1\u{0}junk", "2001:db8::1\u{0}x",
                     "192.0.2.1\u{301}", "\u{FF11}92.0.2.1"] {
            #expect(IPAddress(text) == nil, "\(text)")
        }
    }

    @Test func roundTripsThroughItsText() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let four = Bool.random(using: &generator)
            let bytes = (0..<(four ? 4 : 16)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let address = IPAddress(family: four ? .ipv4 : .ipv6, bytes: bytes)
            #expect(IPAddress(address.description) == address)
        }
    }

    @Test func namesDNSTypesWithoutLdns() {
        #expect(DNSRecordType("CAA")?.rawValue == 257)
        #expect(DNSRecordType("nsap-ptr")?.rawValue == 23)
        #expect(DNSRecordType(rawValue: 257).description == "CAA")
        #expect(DNSRecordType("TYPE99999") == nil)
        #expect(DNSRecordType("TYPE") == nil)
    }
}
