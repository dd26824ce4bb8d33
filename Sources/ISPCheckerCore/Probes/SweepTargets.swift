
/// Turns what a user types (address literals and CIDR prefixes) into a sweep's address list.
public enum SweepTargets {
    /// The largest list one sweep takes: 2^20 addresses (an IPv4 /12, an IPv6 /108).
    public static let maximumCount = 1 << 20

    /// Expands `specs` in order: "10.77.128.7", "10.77.128.0/20" (every address of the prefix,
    /// network and broadcast included: sweeps probe whole ranges), "fd00:77::/120". No DNS.
    /// - Throws: `.invalidArgument(name: "targets", …)` for an empty list, a malformed
    ///   address or prefix, or more than `maximumCount` addresses.
    public static func expand(_ specs: [String]) throws(ProbeError) -> [IPAddress] {
        guard !specs.isEmpty else { throw .invalidArgument(name: "targets", reason: "the list is empty; give addresses or CIDR prefixes such as 10.77.128.0/20") }
        var addresses: [IPAddress] = []
        for spec in specs {
            let text = spec.trimmingWhitespace()
            if let address = IPAddress(text) {
                addresses.append(address)
            } else {
                try appendPrefix(text, to: &addresses)
            }
            guard addresses.count <= maximumCount else {
                throw .invalidArgument(name: "targets", reason: "more than \(maximumCount) addresses; split the sweep")
            }
        }
        return addresses
    }

    /// Checks an address list's size for one sweep (of pings or of traces).
    /// - Throws: `.invalidArgument(name: "targets", …)` for an empty list or more than
    ///   `maximumCount` addresses.
    static func checkCount(_ targets: [IPAddress]) throws(ProbeError) {
        guard !targets.isEmpty else {
            throw .invalidArgument(name: "targets", reason: "the list is empty; give at least one address")
        }
        guard targets.count <= maximumCount else {
            throw .invalidArgument(name: "targets", reason: "\(targets.count) addresses, more than \(maximumCount); split the sweep")
        }
    }

    private static func appendPrefix(_ text: String, to addresses: inout [IPAddress]) throws(ProbeError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let base = IPAddress(String(parts[0])), let length = Int(parts[1]) else {
            throw .invalidArgument(name: "targets", reason: "'\(text)' is neither an IP address nor a CIDR prefix like 10.77.128.0/20")
        }
        let bits = base.bytes.count * 8
        guard (0...bits).contains(length) else {
            throw .invalidArgument(name: "targets", reason: "'\(text)': prefix length must be 0...\(bits)")
        }
        let hostBits = bits - length
        guard hostBits <= 20, addresses.count + (1 << hostBits) <= maximumCount else {
            throw .invalidArgument(name: "targets", reason: "'\(text)' has more than \(maximumCount) addresses; use a longer prefix")
        }
        // Clear the host bits of the base, then count through the host part.
        var network = base.bytes
        for bit in 0..<hostBits {
            let index = network.count - 1 - bit / 8
            network[index] &= ~UInt8(1 << (bit % 8))
        }
        for offset in 0..<(1 << hostBits) {
            var bytes = network
            var carry = offset
            var index = bytes.count - 1
            while carry > 0 && index >= 0 {
                bytes[index] |= UInt8(carry & 0xff)
                carry >>= 8
                index -= 1
            }
            addresses.append(IPAddress(family: base.family, bytes: bytes))
        }
    }
}

extension IPAddress {
    init(family: IPFamily, bytes: [UInt8]) {
        var raw = cp_addr()
        raw.family = family.posixValue
        withUnsafeMutableBytes(of: &raw.bytes) { dest in
            for (index, byte) in bytes.enumerated() { dest[index] = byte }
        }
        self = IPAddress(raw)!
    }
}

import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults
