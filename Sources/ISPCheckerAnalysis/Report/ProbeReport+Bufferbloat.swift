import ISPCheckerPrimitives
import ISPCheckerResults

extension ProbeName {
    /// The bufferbloat probe (`ProbeEngine.bufferbloat`): latency under load, run when asked.
    public static let bufferbloat = "bufferbloat"
}

extension ProbeMeasurement {
    /// What the bufferbloat probe found (details `idle_rtt_ms`, `upload_rtt_ms`, `download_rtt_ms`,
    /// `upload_increase_ms`, `download_increase_ms`, `upload_kbit`, `download_kbit`,
    /// `responsiveness_rpm`, `idle_rpm`, `worst_direction`, `queue_hop`, `queue_hop_ip`,
    /// `rise_hop`, `rise_hop_ip`, `upload_error`, `download_error`, `hop_rtts`).
    public struct Bufferbloat: Sendable, Equatable {
        /// An RTT increase under load from this many ms is a fault (bufferbloat): Waveform's
        /// test grades it C or worse, where calls and games suffer while the line is busy.
        public static let increaseWarnMilliseconds = 60.0
        /// From this many ms the status is `crit`.
        public static let increaseCritMilliseconds = 200.0
        /// A hop counts as the start of the rise when its increase is at least this (and half
        /// the destination's): below it, a hop's answer time jitters under load.
        public static let hopRiseMinimumMilliseconds = 30.0

        public var idleMilliseconds: Double?
        public var uploadIncreaseMilliseconds: Double?
        public var downloadIncreaseMilliseconds: Double?
        public var uploadKilobitsPerSecond: Double?
        public var downloadKilobitsPerSecond: Double?
        public var responsivenessRPM: Double?
        public var idleRPM: Double?
        /// The direction whose load raises the destination's RTT most.
        public var worstDirection: BufferbloatResult.Direction?
        /// The hop that sends into the congested link of `worstDirection` (0 = this host).
        public var queueHop: Int?
        public var queueHopAddress: String?
        /// The first hop whose RTT rises under that load.
        public var riseHop: Int?
        public var riseHopAddress: String?
        public var uploadError: String?
        public var downloadError: String?

        public init(idleMilliseconds: Double? = nil, uploadIncreaseMilliseconds: Double? = nil, downloadIncreaseMilliseconds: Double? = nil,
                    uploadKilobitsPerSecond: Double? = nil, downloadKilobitsPerSecond: Double? = nil, responsivenessRPM: Double? = nil,
                    idleRPM: Double? = nil, worstDirection: BufferbloatResult.Direction? = nil, queueHop: Int? = nil,
                    queueHopAddress: String? = nil, riseHop: Int? = nil, riseHopAddress: String? = nil, uploadError: String? = nil,
                    downloadError: String? = nil) {
            self.idleMilliseconds = idleMilliseconds
            self.uploadIncreaseMilliseconds = uploadIncreaseMilliseconds
            self.downloadIncreaseMilliseconds = downloadIncreaseMilliseconds
            self.uploadKilobitsPerSecond = uploadKilobitsPerSecond
            self.downloadKilobitsPerSecond = downloadKilobitsPerSecond
            self.responsivenessRPM = responsivenessRPM
            self.idleRPM = idleRPM
            self.worstDirection = worstDirection
            self.queueHop = queueHop
            self.queueHopAddress = queueHopAddress
            self.riseHop = riseHop
            self.riseHopAddress = riseHopAddress
            self.uploadError = uploadError
            self.downloadError = downloadError
        }

        public func increaseMilliseconds(_ direction: BufferbloatResult.Direction) -> Double? {
            direction == .upload ? uploadIncreaseMilliseconds : downloadIncreaseMilliseconds
        }

        /// The larger of the two directions' increases.
        public var worstIncreaseMilliseconds: Double? { worstDirection.flatMap(increaseMilliseconds) }

        /// `crit` from `increaseCritMilliseconds`, `warn` from `increaseWarnMilliseconds` or when a
        /// flow failed (nothing was measured under that load), else `ok`.
        public var status: ProbeStatus {
            if let worst = worstIncreaseMilliseconds, worst >= Self.increaseCritMilliseconds { return .crit }
            if let worst = worstIncreaseMilliseconds, worst >= Self.increaseWarnMilliseconds { return .warn }
            if uploadError != nil || downloadError != nil || worstIncreaseMilliseconds == nil { return .warn }
            return .ok
        }
    }

    public var bufferbloat: Bufferbloat? { if case .bufferbloat(let value) = self { value } else { nil } }

}

extension ProbeReport {
    /// The `bufferbloat` entry: `ok` when loading the path raises the destination's RTT by less
    /// than 60 ms, `warn` from 60 ms (or when a flow failed), `crit` from 200 ms.
    public init(bufferbloat result: BufferbloatResult) {
        let minimum = ProbeMeasurement.Bufferbloat.hopRiseMinimumMilliseconds
        var details: [String: DetailValue] = [
            "target_ip": .string(result.address.description),
            "server": .string(result.server),
            "duration_ms": .double(result.durationMilliseconds.roundedToMicro),
        ]
        let destination = result.destination
        if let idle = destination?.idleMilliseconds { details["idle_rtt_ms"] = .double(idle.roundedToMicro) }
        if let rpm = result.responsivenessRPM { details["responsiveness_rpm"] = .double(rpm.rounded()) }
        if let rpm = result.idleRPM { details["idle_rpm"] = .double(rpm.rounded()) }
        var worst: BufferbloatResult.Queue?
        for direction in BufferbloatResult.Direction.allCases {
            let name = direction.rawValue
            if let loaded = destination?.loadedMilliseconds(direction) { details.updateValue(.double(loaded.roundedToMicro), forKey: "\(name)_rtt_ms") }
            if let flow = result.flows.first(where: { $0.direction == direction }) {
                if let rate = flow.kilobitsPerSecond { details.updateValue(.double(rate.rounded()), forKey: "\(name)_kbit") }
                if let error = flow.error { details.updateValue(.string(error), forKey: "\(name)_error") }
            }
            if let queue = result.queue(direction, minimumMilliseconds: minimum) {
                details.updateValue(.double(queue.increaseMilliseconds.roundedToMicro), forKey: "\(name)_increase_ms")
                if worst.map({ queue.increaseMilliseconds > $0.increaseMilliseconds }) ?? true { worst = queue }
            }
        }
        if let worst {
            details["worst_direction"] = .string(worst.direction.rawValue)
            if let rise = worst.riseHop, let queueHop = worst.queueHop {
                details["rise_hop"] = .int(rise.ttl)
                details["rise_hop_ip"] = .string(rise.address.description)
                details["queue_hop"] = .int(queueHop)
                if let sender = result.hops.first(where: { $0.ttl == queueHop }) { details["queue_hop_ip"] = .string(sender.address.description) }
            }
        }
        details["hop_rtts"] = .strings(result.hops.map { hop in
            func ms(_ value: Double?) -> String { value.map { "\($0.roundedToMicro)" } ?? "-" }
            return "\(hop.isDestination ? "destination" : "hop \(hop.ttl)") \(hop.address) idle \(ms(hop.idleMilliseconds)) upload \(ms(hop.uploadMilliseconds)) download \(ms(hop.downloadMilliseconds)) ms"
        })
        let measured = ProbeMeasurement(name: ProbeName.bufferbloat, details: details)
        let status = measured.bufferbloat?.status ?? .warn
        var error: String?
        if let flowError = result.flows.compactMap(\.error).first {
            error = flowError
        } else if status != .ok, let worst {
            error = "latency rises by \(Int(worst.increaseMilliseconds.rounded())) ms under \(worst.direction.rawValue)"
        }
        self.init(name: ProbeName.bufferbloat, status: status, measurement: measured, details: details, error: error)
    }
}
