import ISPCheckerResults

extension RunReport {
    /// The diagnosis entries that name a fault (not the informational notes), most confident first.
    public var faults: [Diagnosis] { diagnosis.filter { !$0.informational } }

    /// The informational notes (ICMP rate limiting, baseline deviations).
    public var notes: [Diagnosis] { diagnosis.filter(\.informational) }

    /// The probe entry with this name, if it ran.
    public func probe(_ name: String) -> ProbeReport? { probes.first { $0.name == name } }
}

extension Diagnosis {
    /// The first hop the evidence names: where on the path the fault is.
    public var hop: Int? { evidence.lazy.compactMap(\.hop).first }
}
