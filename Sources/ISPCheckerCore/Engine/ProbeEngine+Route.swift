import CProbe
import ISPCheckerResults

extension ProbeEngine {
    /// Whether this engine can probe `address` at all: it holds sockets of the address's family
    /// and the kernel has a route to it (nothing is sent). A host without IPv6 connectivity has
    /// no route to an IPv6 address, so a check over both families leaves that family out instead
    /// of calling it broken.
    public func hasRoute(to address: IPAddress) async -> Bool {
        guard core.sockets[address.family] != nil else { return false }
        if case .success = await core.routeSource(to: address) { return true }
        return false
    }
}

extension EngineCore {
    /// The source address the kernel would use towards `destination` (`cp_route_lookup`), or the
    /// errno of the lookup (`ENETUNREACH`: no route). Asked on the engine's thread: the engine's
    /// network namespace is that thread's.
    func routeSource(to destination: IPAddress) async -> Result<IPAddress, RouteLookupError> {
        let lookup = await onEngineThread { () -> (Int32, IPAddress?) in
            var raw = destination.raw
            var source = cp_addr()
            let result = cp_route_lookup(&raw, &source, nil, 0)
            return (result, IPAddress(source))
        }
        guard let (result, found) = lookup else { return .failure(.engineShutDown) }
        guard result == 0, let source = found else { return .failure(.lookup(errno: -result)) }
        return .success(source)
    }
}

/// Why `EngineCore.routeSource(to:)` found no source address.
enum RouteLookupError: Error {
    case engineShutDown
    /// The lookup's errno (positive).
    case lookup(errno: Int32)
}
