import ISPCheckerResults

extension ProbeReport {
    /// The `ping` entry of a run report: loss and latency graded by `thresholds.ping`, the
    /// runbook's detail keys, and the error `"100% packet loss"` when nothing came back.
    public init(ping: PingResult, thresholds: HealthThresholds = .default) {
        // What analysis reads, rounded as the details carry it, so a saved run re-analyses alike;
        // the details below are written from these same values.
        let loss = ping.lossPercent.roundedToMicro
        let measured = ProbeMeasurement.Ping(lossPercent: loss,
                                             latencyAvgMilliseconds: ping.avgMilliseconds?.roundedToMicro,
                                             latencyMaxMilliseconds: ping.maxMilliseconds?.roundedToMicro,
                                             sent: ping.sent, received: ping.received)
        var details: [String: DetailValue] = [
            "target_ip": .string(ping.address.description),
            "packets_sent": .int(ping.sent),
            "packets_received": .int(ping.received),
            "packet_loss": .double(loss),
            // The runbook's metric for loss is isp_checker_probe_details{key="loss_percent"}.
            "loss_percent": .double(loss),
        ]
        if let value = ping.minMilliseconds { details["latency_min_ms"] = .double(value.roundedToMicro) }
        if let value = measured.latencyAvgMilliseconds { details["latency_avg_ms"] = .double(value) }
        if let value = measured.latencyMaxMilliseconds { details["latency_max_ms"] = .double(value) }
        if let value = ping.mdevMilliseconds { details["latency_mdev_ms"] = .double(value.roundedToMicro) }
        if let clock = ping.clockSource { details["clock"] = .string(clock.rawValue) }
        let lostEverything = ping.received == 0 && !ping.probes.isEmpty
        self.init(name: ProbeName.ping, status: thresholds.pingStatus(lossPercent: ping.lossPercent, latencyAvgMilliseconds: ping.avgMilliseconds),
                  measurement: .ping(measured), details: details, error: lostEverything ? "100% packet loss" : nil)
    }
}

/// The probe names a run report uses, as the runbook writes them.
public enum ProbeName {
    public static let ping = "ping"
    public static let traceroute = "traceroute"
    public static let dns = "dns"
    public static let http = "http"
    public static let tcp = "tcp"
}

extension Double {
    /// Rounded to 3 decimals: microseconds for milliseconds, enough for any percentage. Keeps
    /// report JSON free of binary-fraction noise such as 33.333333333333336.
    var roundedToMicro: Double { (self * 1000).rounded() / 1000 }
}
