import ISPCheckerResults

/// The `component` names a diagnosis uses: the runbook's, plus the informational ones.
public enum DiagnosisComponent {
    /// The client's own network: the gateway (hop 1) and the link to it.
    public static let localNetwork = "Local Network"
    /// The ISP's access network: the first hops past the gateway (`HealthThresholds.Path.accessHops`).
    public static let ispAccess = "ISP Access"
    /// Loss that begins at a hop past the access network and persists to the destination.
    public static let peeringTransit = "Peering/Transit"
    /// A latency step past the access network.
    public static let transit = "Transit"
    public static let dns = "DNS"
    /// The target itself: the path reaches it, the target does not answer or its service fails.
    public static let destination = "Destination"
    /// Everything fails past the access network.
    public static let upstream = "Upstream"
    /// Informational: a router limits the ICMP errors it sends; not loss.
    public static let icmpRateLimiting = "ICMP Rate Limiting"
    /// Informational: latency or loss deviates from the target's history.
    public static let baseline = "Baseline"
    /// Informational: the run has too little data to say anything.
    public static let measurement = "Measurement"

    /// The component a hop belongs to: the gateway is the local network, the next
    /// `accessHops` hops the ISP's access network, anything farther `beyond`.
    static func forHop(_ ttl: Int, accessHops: Int, beyond: String) -> String {
        if ttl <= 1 { return localNetwork }
        if ttl <= 1 + accessHops { return ispAccess }
        return beyond
    }
}
