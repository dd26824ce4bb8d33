import CProbe
import Dispatch
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// Reverse DNS for hop addresses, all looked up at once off the cooperative pool.
package enum ReverseResolver {
    package static func names(for addresses: Set<IPAddress>) async -> [IPAddress: String] {
        await withTaskGroup(of: (IPAddress, String?).self) { group in
            for address in addresses {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        // getnameinfo blocks for as long as the resolver takes.
                        DispatchQueue.global().async { continuation.resume(returning: (address, lookUp(address))) }
                    }
                }
            }
            var names: [IPAddress: String] = [:]
            for await (address, name) in group { if let name { names[address] = name } }
            return names
        }
    }

    private static func lookUp(_ address: IPAddress) -> String? {
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var storage = sockaddr_storage()
        let length: socklen_t
        switch address.family {
        case .ipv4:
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            withUnsafeMutableBytes(of: &v4.sin_addr) { $0.copyBytes(from: address.bytes) }
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: v4) { Array($0) }) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        case .ipv6:
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_scope_id = address.scopeID
            withUnsafeMutableBytes(of: &v6.sin6_addr) { $0.copyBytes(from: address.bytes) }
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: v6) { Array($0) }) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
            }
        }
        guard status == 0 else { return nil }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
