/// What probing a path with unfragmentable packets of several sizes found: the largest packet
/// that crosses it (the path MTU) and, when large packets vanish without the "fragmentation
/// needed" (RFC 1191 §4) or "packet too big" (RFC 8201 §4) that should say why, where they die.
/// Sizes are whole IP packets in bytes, headers included, as an MTU is.
public struct PathMTUResult: Sendable, Equatable, Codable {
    /// One size sent to the target.
    public struct SizeProbe: Sendable, Equatable, Codable {
        /// The IP packet's size, bytes.
        public var bytes: Int
        /// Whether an echo reply came back for it.
        public var crossed: Bool

        public init(bytes: Int, crossed: Bool) {
            self.bytes = bytes
            self.crossed = crossed
        }
    }

    /// A hop of the path, by the TTL a trace found it at.
    public struct Hop: Sendable, Equatable, Codable {
        public var ttl: Int
        public var address: IPAddress

        public init(ttl: Int, address: IPAddress) {
            self.ttl = ttl
            self.address = address
        }
    }

    public var target: String
    public var address: IPAddress
    /// The largest packet that crossed the whole path, bytes; nil when not even the smallest
    /// size got an answer (the target does not answer pings).
    public var pathMTU: Int?
    /// What the kernel knew of the path before probing: the outgoing link's MTU (or a path MTU
    /// it had already learnt), capped at 1500, the largest size probed.
    public var localMTU: Int
    /// The smallest size that did not cross; nil when every size crossed.
    public var smallestLostSize: Int?
    /// What the kernel learnt while probing from a router's "fragmentation needed" / "packet
    /// too big": path MTU discovery works. Nil when it learnt nothing.
    public var reportedMTU: Int?
    /// The farthest hop a packet of `smallestLostSize` reached (it answered a ping that large).
    public var lastHopReached: Hop?
    /// The nearest hop past `lastHopReached` that answers small pings but not large ones: large
    /// packets die on the link into it.
    public var firstHopLost: Hop?
    /// Every size sent, in the order decided.
    public var probes: [SizeProbe]
    public var durationMilliseconds: Double

    public init(target: String, address: IPAddress, pathMTU: Int?, localMTU: Int, smallestLostSize: Int?,
                reportedMTU: Int?, lastHopReached: Hop? = nil, firstHopLost: Hop? = nil, probes: [SizeProbe],
                durationMilliseconds: Double) {
        self.target = target
        self.address = address
        self.pathMTU = pathMTU
        self.localMTU = localMTU
        self.smallestLostSize = smallestLostSize
        self.reportedMTU = reportedMTU
        self.lastHopReached = lastHopReached
        self.firstHopLost = firstHopLost
        self.probes = probes
        self.durationMilliseconds = durationMilliseconds
    }

    /// Large packets vanish and no router said why: a path MTU black hole (RFC 2923 §2.1).
    /// TCP connections then stall once they send a full segment.
    public var isBlackHole: Bool { smallestLostSize != nil && reportedMTU == nil && pathMTU != nil }
}
