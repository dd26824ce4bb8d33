import CProbe
import ISPCheckerResults

extension cp_frame {
    /// The MPLS label stack the frame carried on the wire in front of its IP header, outermost
    /// first (at most `CP_FRAME_MAX_MPLS`; `mpls_truncated` says when there were more): what a
    /// replay shows under the hop whose traffic crossed the tunnel.
    var mplsLabels: [MPLSLabel] {
        withUnsafeBytes(of: mpls) { raw in
            let entries = raw.bindMemory(to: cp_trace_mpls_entry.self)
            return entries.prefix(max(0, min(Int(mpls_count), entries.count))).map { entry in
                MPLSLabel(label: entry.label, trafficClass: entry.tc, bottomOfStack: entry.s != 0, ttl: entry.ttl)
            }
        }
    }
}
