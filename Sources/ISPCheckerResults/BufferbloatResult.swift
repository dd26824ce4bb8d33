/// What loading a path with a bulk TCP flow did to its latency: the RTT to every hop of the
/// trace and to the destination, idle and while the flow ran (upload, then download), and
/// where the queue that grows sits.
///
/// A queue on a link delays everything that crosses the link, so under load the RTT rises at
/// the first hop past the congested link and stays up to the destination: a rise that first
/// appears at hop k puts the standing queue on the link between hop k-1 and hop k (hop 0 is
/// this host). For the upload the queue is in hop k-1's send buffer towards hop k (hop 1:
/// your router's uplink); for the download it is at hop k's side of the same link, which
/// smart queue management on hop k-1 can still take over by shaping just below the rate.
public struct BufferbloatResult: Sendable, Equatable, Codable {
    public enum Direction: String, Sendable, Codable, CaseIterable {
        case upload, download
    }

    /// A hop of the path, by the TTL a trace found it at: what the probe is given to measure.
    public struct PathHop: Sendable, Equatable, Codable {
        public var ttl: Int
        public var address: IPAddress

        public init(ttl: Int, address: IPAddress) {
            self.ttl = ttl
            self.address = address
        }
    }

    /// RTT samples to one hop (or the destination), idle and under each direction of load.
    public struct HopLatency: Sendable, Equatable, Codable {
        /// The TTL a trace found the hop at; the destination's is one more than the last hop's.
        public var ttl: Int
        public var address: IPAddress
        public var isDestination: Bool
        /// Median RTT of the echo requests sent before the load, ms; nil when none came back.
        public var idleMilliseconds: Double?
        /// Median RTT under upload, ms; nil when no echo came back.
        public var uploadMilliseconds: Double?
        /// Median RTT under download, ms.
        public var downloadMilliseconds: Double?

        public init(ttl: Int, address: IPAddress, isDestination: Bool, idleMilliseconds: Double?,
                    uploadMilliseconds: Double? = nil, downloadMilliseconds: Double? = nil) {
            self.ttl = ttl
            self.address = address
            self.isDestination = isDestination
            self.idleMilliseconds = idleMilliseconds
            self.uploadMilliseconds = uploadMilliseconds
            self.downloadMilliseconds = downloadMilliseconds
        }

        public func loadedMilliseconds(_ direction: Direction) -> Double? {
            direction == .upload ? uploadMilliseconds : downloadMilliseconds
        }

        /// Loaded minus idle median RTT, ms; nil when either is unknown.
        public func increaseMilliseconds(_ direction: Direction) -> Double? {
            guard let idle = idleMilliseconds, let loaded = loadedMilliseconds(direction) else { return nil }
            return loaded - idle
        }
    }

    /// One direction of load.
    public struct Flow: Sendable, Equatable, Codable {
        public var direction: Direction
        /// Bytes the flow moved.
        public var bytes: UInt64
        /// How long it ran after its handshake, ms.
        public var durationMilliseconds: Double
        /// Why it failed (refused, reset, no handshake), nil when it ran its time.
        public var error: String?

        public init(direction: Direction, bytes: UInt64, durationMilliseconds: Double, error: String? = nil) {
            self.direction = direction
            self.bytes = bytes
            self.durationMilliseconds = durationMilliseconds
            self.error = error
        }

        /// Goodput, kbit/s; nil for a flow that did not run.
        public var kilobitsPerSecond: Double? {
            guard durationMilliseconds > 0, bytes > 0 else { return nil }
            return Double(bytes) * 8 / durationMilliseconds
        }
    }

    /// Where a direction's queue grows.
    public struct Queue: Sendable, Equatable {
        public var direction: Direction
        /// The RTT increase at the destination, ms.
        public var increaseMilliseconds: Double
        /// The first hop whose RTT rises with the destination's: the link into it holds the
        /// queue. Nil when no hop of the trace answered under load.
        public var riseHop: HopLatency?
        /// The hop that sends into the congested link (riseHop.ttl - 1; 0 = this host).
        public var queueHop: Int? { riseHop.map { $0.ttl - 1 } }
    }

    /// The far end of the flows, host:port as given.
    public var server: String
    public var target: String
    public var address: IPAddress
    /// Every hop that answered, then the destination, in TTL order.
    public var hops: [HopLatency]
    public var flows: [Flow]
    /// Every RTT sample to the destination under load (both directions), ms, in the order sent:
    /// the responsiveness figure's input.
    public var loadedDestinationSamplesMilliseconds: [Double]
    public var durationMilliseconds: Double

    public init(server: String, target: String, address: IPAddress, hops: [HopLatency], flows: [Flow],
                loadedDestinationSamplesMilliseconds: [Double], durationMilliseconds: Double) {
        self.server = server
        self.target = target
        self.address = address
        self.hops = hops
        self.flows = flows
        self.loadedDestinationSamplesMilliseconds = loadedDestinationSamplesMilliseconds
        self.durationMilliseconds = durationMilliseconds
    }

    public var destination: HopLatency? { hops.last { $0.isDestination } }

    /// Round trips per minute under load, as networkQuality's RPM (60000 / RTT in ms), from the
    /// median of every echo to the destination while a flow ran. Nil without samples.
    public var responsivenessRPM: Double? {
        guard let median = Self.median(loadedDestinationSamplesMilliseconds), median > 0 else { return nil }
        return 60_000 / median
    }

    /// Round trips per minute when idle (60000 / idle median RTT to the destination).
    public var idleRPM: Double? {
        guard let idle = destination?.idleMilliseconds, idle > 0 else { return nil }
        return 60_000 / idle
    }

    /// Where `direction`'s queue grows: the destination's RTT increase and the first hop whose
    /// increase is at least half of it and at least `minimumMilliseconds` (a hop's own answer
    /// time jitters by a few ms under load; half the destination's increase tells the link
    /// that holds the queue from hops that answer slowly). Nil when the destination's RTT
    /// under that load is unknown.
    public func queue(_ direction: Direction, minimumMilliseconds: Double) -> Queue? {
        guard let destination, let increase = destination.increaseMilliseconds(direction) else { return nil }
        let bar = max(minimumMilliseconds, increase / 2)
        let rise = hops.first { ($0.increaseMilliseconds(direction) ?? -.infinity) >= bar }
        return Queue(direction: direction, increaseMilliseconds: increase, riseHop: increase >= minimumMilliseconds ? rise : nil)
    }

    /// The median of `values`, nil when empty.
    public static func median(_ values: [Double]) -> Double? {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
