import CProbe
import ISPCheckerResults

extension IPAddress {
    /// The address the C core filled in; nil for a family other than IPv4 or IPv6.
    init?(_ raw: cp_addr) {
        guard let family = IPFamily(posix: raw.family) else { return nil }
        let all = withUnsafeBytes(of: raw.bytes) { Array($0) }
        self.init(family: family, bytes: Array(all.prefix(family == .ipv4 ? 4 : 16)), scopeID: raw.scope_id)
    }

    /// The address as the C core takes it.
    var raw: cp_addr {
        var value = cp_addr()
        value.family = family.posixValue
        value.scope_id = scopeID
        withUnsafeMutableBytes(of: &value.bytes) { dest in
            for (index, byte) in bytes.enumerated() { dest[index] = byte }
        }
        return value
    }
}
