import ISPChecker
import Testing

/// How sweep target lists (address literals and CIDR prefixes) expand, without any network.
struct SweepTargetsTests {
    @Test func prefixExpandsToEveryAddressInOrder() throws {
        let addresses = try SweepTargets.expand(["10.77.128.0/30"]).map(\.description)
        #expect(addresses == ["10.77.128.0", "10.77.128.1", "10.77.128.2", "10.77.128.3"])
    }

    @Test func hostBitsOfThePrefixBaseAreIgnored() throws {
        #expect(try SweepTargets.expand(["10.77.128.6/31"]).map(\.description) == ["10.77.128.6", "10.77.128.7"])
        #expect(try SweepTargets.expand(["10.77.129.255/23"]).first?.description == "10.77.128.0")
    }

    @Test func slash20IsFourThousandNinetySixAddressesAcrossOctets() throws {
        let addresses = try SweepTargets.expand(["10.77.128.0/20"])
        #expect(addresses.count == 4096)
        #expect(addresses[256].description == "10.77.129.0")
        #expect(addresses.last?.description == "10.77.143.255")
    }

    @Test func ipv6PrefixesAndLiteralsMix() throws {
        let addresses = try SweepTargets.expand(["fd00:77::fe/127", "10.77.128.1", "fd00:77::1:0/128"]).map(\.description)
        #expect(addresses == ["fd00:77::fe", "fd00:77::ff", "10.77.128.1", "fd00:77::1:0"])
    }

    @Test(arguments: [[], ["10.77.128.0/33"], ["10.77.128.0/"], ["/24"], ["fd00::/129"], ["example.com"], ["10.0.0.0/8"], ["fd00::/64"]])
    func badListsAreInvalidTargets(_ specs: [String]) {
        #expect(performing: { try SweepTargets.expand(specs) }, throws: { error in
            guard case ProbeError.invalidArgument(name: "targets", _) = error else { return false }
            return true
        })
    }
}
