import CProbe
import ISPCheckerResults

extension ProbeEngine {
    /// Whether this engine can probe `address` at all: it holds sockets of the address's family
    /// and the kernel has a route to it (asked on the engine's thread, in the engine's network
    /// namespace; nothing is sent). A host without IPv6 connectivity has no route to an IPv6
    /// address, so a check over both families leaves that family out instead of calling it broken.
    public func hasRoute(to address: IPAddress) async -> Bool {
        guard core.sockets[address.family] != nil else { return false }
        return await core.onEngineThread { () -> Bool in
            var raw = address.raw
            var source = cp_addr()
            return cp_route_lookup(&raw, &source, nil, 0) == 0
        } ?? false
    }
}
