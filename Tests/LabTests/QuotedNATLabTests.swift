import Foundation
import ISPChecker
import TestSupport
import Testing

/// Issue 20, item 5, on real packets in the realistic lab (kernel ICMP limits, checksum offload):
/// r2 is a stateless 1:1 NAT (`lab.sh stateless-nat`: 10.99.1.1 -> 198.51.100.7, ports XOR
/// 0x2000) that leaves the probe quoted in ICMP errors from beyond it untranslated. Traces of
/// every method keep every hop, and hops 3 on record the rewrite; a conntrack NAT (RFC 5508)
/// shows nothing; `run` gives the CGNAT note at hop 2 and no fault.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct QuotedNATLabTests {
    static let translated = "198.51.100.7"

    func engine(in lab: Lab) throws -> ProbeEngine {
        try ProbeEngine(configuration: EngineConfiguration(networkNamespace: lab.client, capabilities: .keep))
    }

    @Test func aStatelessNATShowsInTheQuotesOfEveryHopBeyondItAndRunNotesIt() async throws {
        let lab = try Lab.up("natq", routers: 4, realistic: true)
        defer { lab.down() }
        try lab.configure("stateless-nat", ["--node", "r2"])
        let engine = try engine(in: lab)
        for method in [TraceMethod.udp, .icmp, .tcp(port: 80)] {
            let trace = try await engine.traceroute(lab.destination4, options: TraceOptions(method: method, rounds: 3))
            #expect(trace.stop == .destinationReached, "\(method): \(trace.stop)")
            #expect(trace.hops.count == 5, "\(method): \(trace.hops.map(\.ttl))")
            for hop in trace.hops {
                #expect(hop.received > 0, "\(method): hop \(hop.ttl) silent: a translated quote must still match its probe")
                // A TCP trace ends at the destination's SYN-ACK, which quotes nothing.
                if hop.ttl <= 2 || (method != .udp && hop.isDestination) {
                    #expect(hop.quoteRewrite == nil, "\(method): hop \(hop.ttl) \(String(describing: hop.quoteRewrite))")
                    continue
                }
                let rewrite = try #require(hop.quoteRewrite, "\(method): hop \(hop.ttl)")
                #expect(rewrite.quotedSource.description == Self.translated && rewrite.sentSource.description == "10.99.1.1")
                #expect(rewrite.fields.contains(.sourceAddress), "\(method): \(rewrite.fields)")
                #expect(rewrite.fields.contains(.sourcePort) == (method != .icmp), "\(method): \(rewrite.fields)")
                // The UDP checksum covers the pseudo-header (ICMPv4's does not; a TCP quote's
                // checksum is not read).
                #expect(rewrite.fields.contains(.transportChecksum) == (method == .udp), "\(method): \(rewrite.fields)")
                #expect(!rewrite.fields.contains(.quotedTTL))
                if method != .icmp { #expect(rewrite.quotedSourcePort == rewrite.sentSourcePort.map { $0 ^ 0x2000 }) }
            }
        }

        // The whole check, as scripts run it: a note at hop 2, no fault, a valid report (after
        // the routers' ICMP token buckets refilled, as between two runs).
        try await Task.sleep(for: .seconds(6))
        let output = try lab.exec("c", [cliPath, "run", "--target", lab.destination4, "--no-dns", "--json"], check: false)
        #expect(try ReportSchema.violations(ofJSON: Data(output.stdout.utf8)) == [])
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(output.stdout.utf8))
        #expect(report.faults.isEmpty, "\(report.diagnosis)")
        let note = try #require(report.notes.first { $0.component == "CGNAT" }, "\(report.diagnosis)")
        #expect(note.hop == 2, "\(note)")
        #expect(note.explanation.contains("between hop 2 (10.99.2.2) and hop 3 (10.99.3.2)") && note.explanation.contains(Self.translated), "\(note.explanation)")
    }

    @Test func aConntrackNATTranslatesTheQuotesBackAndShowsNothing() async throws {
        // RFC 5508 §4.1: Linux masquerade rewrites the quoted packet of the errors it forwards
        // back, so neither the trace nor the diagnosis sees it (the `cgnat` scenario's r2).
        let lab = try Lab.up("natct", routers: 4, realistic: true)
        defer { lab.down() }
        try lab.configure("nat", ["--node", "r2"])
        let trace = try await engine(in: lab).traceroute(lab.destination4, options: TraceOptions(rounds: 3))
        #expect(trace.stop == .destinationReached)
        #expect(!trace.hops.contains { $0.quoteRewrite != nil }, "\(trace.hops.compactMap(\.quoteRewrite))")
    }
}
