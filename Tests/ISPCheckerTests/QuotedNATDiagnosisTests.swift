import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerResults

/// Issue 20, item 5: a NAT past the customer edge that leaves the packet quoted in ICMP errors
/// untranslated (Dublin traceroute's method) is a `CGNAT` note at the hop before the first
/// translated quote; a conformant NAT, the home router's and healthy paths give none.
@Suite struct QuotedNATDiagnosisTests {
    static let client = IPAddress("10.99.1.1")!
    static let translated = IPAddress("198.51.100.7")!

    static let sent = SentProbeHeader(source: client, sourcePort: 41_000, transportChecksum: 0x1235)

    /// A quote as a NAT that rewrote address and port left it.
    static let natQuote = QuotedProbeHeader(source: translated, sourcePort: 41_000 ^ 0x2000, transportChecksum: 0x7777, ttl: 1)

    func rewrite(_ quoted: QuotedProbeHeader = natQuote, answers: Int = 10) -> HopQuoteRewrite {
        var hop = HopStatistics(ttl: 3)
        for _ in 0..<answers { hop.noteQuote(sent: Self.sent, quoted: quoted, timeExceeded: true) }
        return hop.quoteRewrite!
    }

    /// A clean trace whose hops from `from` on quote our probe translated.
    func trace(translatedFrom from: Int?, through last: Int = 5, gateway: String? = nil) -> TraceResult {
        var trace = Fixture.cleanTrace()
        for index in trace.hops.indices {
            let ttl = trace.hops[index].ttl
            if let from, ttl >= from, ttl <= last { trace.hops[index].quoteRewrite = rewrite() }
            if ttl == 1, let gateway { trace.hops[index].addresses = [HopAddress(address: IPAddress(gateway)!, replies: 10)] }
        }
        return trace
    }

    // MARK: The comparison

    @Test func aQuoteAsSentRewritesNothing() {
        let same = QuotedProbeHeader(source: Self.client, sourcePort: 41_000, transportChecksum: 0x1235, ttl: 1)
        #expect(QuoteRewrite.comparing(sent: Self.sent, quoted: same, timeExceeded: true).isEmpty)
        // A router that quotes TTL 0 (decremented first) rewrote nothing either.
        #expect(QuoteRewrite.comparing(sent: Self.sent, quoted: QuotedProbeHeader(source: Self.client, sourcePort: 41_000, transportChecksum: 0x1235, ttl: 0), timeExceeded: true).isEmpty)
    }

    @Test func eachRewrittenFieldIsASeparateFact() {
        #expect(QuoteRewrite.comparing(sent: Self.sent, quoted: Self.natQuote, timeExceeded: true) == [.sourceAddress, .sourcePort, .transportChecksum])
        let addressOnly = QuotedProbeHeader(source: Self.translated, sourcePort: 41_000, transportChecksum: 0x5555, ttl: 1)
        #expect(QuoteRewrite.comparing(sent: Self.sent, quoted: addressOnly, timeExceeded: true) == [.sourceAddress, .transportChecksum])
        let ttlOnly = QuotedProbeHeader(source: Self.client, sourcePort: 41_000, transportChecksum: 0x1235, ttl: 7)
        #expect(QuoteRewrite.comparing(sent: Self.sent, quoted: ttlOnly, timeExceeded: true) == [.quotedTTL])
        // The destination's unreachable quotes the TTL the probe had left: not a rewrite.
        #expect(QuoteRewrite.comparing(sent: Self.sent, quoted: ttlOnly, timeExceeded: false).isEmpty)
        // An ICMP probe has no port: only what both sides know is compared.
        let icmpSent = SentProbeHeader(source: Self.client, sourcePort: nil, transportChecksum: 0xbeef)
        #expect(QuoteRewrite.comparing(sent: icmpSent, quoted: QuotedProbeHeader(source: Self.translated, sourcePort: nil, transportChecksum: 0xbeef, ttl: 1), timeExceeded: true) == [.sourceAddress])
    }

    @Test func aHopKeepsWhatItsQuotesRewroteAndHowOften() throws {
        var hop = HopStatistics(ttl: 3)
        hop.noteQuote(sent: Self.sent, quoted: QuotedProbeHeader(source: Self.client, sourcePort: 41_000, transportChecksum: 0x1235, ttl: 1), timeExceeded: true)
        #expect(hop.snapshot.quoteRewrite == nil)
        hop.noteQuote(sent: Self.sent, quoted: Self.natQuote, timeExceeded: true)
        let rewrite = try #require(hop.snapshot.quoteRewrite)
        #expect(rewrite.answers == 1)
        #expect(rewrite.quotedEndpoint == "198.51.100.7:\(41_000 ^ 0x2000)")
        #expect(rewrite.sentEndpoint == "10.99.1.1:41000")
    }

    @Test func theRewriteReadsBackFromTheReportJSON() throws {
        var trace = trace(translatedFrom: 3)
        trace.hops[0].quoteRewrite = nil
        let data = try JSONEncoder().encode(trace.hops[2])
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"quote_rewrite\""), "\(text)")
        #expect(text.contains("[\"source_address\",\"source_port\",\"transport_checksum\"]"), "\(text)")
        #expect(!String(decoding: try JSONEncoder().encode(trace.hops[0]), as: UTF8.self).contains("quote_rewrite"))
        #expect(try JSONDecoder().decode(TraceHop.self, from: data) == trace.hops[2])
    }

    // MARK: The rule

    @Test func aTranslationPastTheEdgeIsACarrierGradeNATNoteAtTheHopBeforeIt() throws {
        let report = Fixture.analyze([Fixture.ping()], trace: trace(translatedFrom: 3))
        #expect(report.faults.isEmpty, "a note, not a fault: \(report.diagnosis)")
        #expect(report.score == 0)
        let note = try #require(report.notes.first { $0.component == DiagnosisComponent.carrierGradeNAT })
        #expect(note.hop == 2)
        #expect(note.explanation.contains("between hop 2 (10.99.2.2) and hop 3 (10.99.3.2)"), "\(note.explanation)")
        #expect(note.explanation.contains("quote our probe with source 198.51.100.7:\(41_000 ^ 0x2000) instead of 10.99.1.1:41000"), "\(note.explanation)")
        #expect(note.explanation.contains("Dublin traceroute"))
        #expect(note.evidence.contains { $0.hop == 3 && $0.detail.contains("3 of 3 answering hops") })
    }

    @Test func aPrivateGatewayMakesItDoubleNAT() throws {
        let report = Fixture.analyze([Fixture.ping()], trace: trace(translatedFrom: 4, gateway: "192.168.1.1"))
        let note = try #require(report.notes.first { $0.component == DiagnosisComponent.carrierGradeNAT })
        #expect(note.explanation.hasPrefix("Double NAT"), "\(note.explanation)")
        #expect(note.hop == 3)
        let alone = Fixture.analyze([Fixture.ping()], trace: trace(translatedFrom: 4, gateway: "192.0.2.1"))
        let single = try #require(alone.notes.first { $0.component == DiagnosisComponent.carrierGradeNAT })
        #expect(single.explanation.hasPrefix("Carrier-grade NAT between hop 3"), "\(single.explanation)")
    }

    @Test func healthyPathsAndTheHomeRoutersNATGiveNoFinding() {
        // No rewrite at all (no NAT, or one that translates quotes back: RFC 5508).
        #expect(!Fixture.analyze([Fixture.ping()], trace: trace(translatedFrom: nil)).diagnosis.contains { $0.component == DiagnosisComponent.carrierGradeNAT })
        // Translated from hop 2 on (the NAT is your router) or from hop 1 (the host's own NAT).
        for from in [1, 2] {
            let report = Fixture.analyze([Fixture.ping()], trace: trace(translatedFrom: from))
            #expect(!report.diagnosis.contains { $0.component == DiagnosisComponent.carrierGradeNAT }, "from hop \(from)")
        }
    }

    @Test func aLoneTranslatedHopAmongCleanOnesMakesNoClaim() {
        // One of three answering hops from there on: one path of several, or noise.
        let report = Fixture.analyze([Fixture.ping()], trace: trace(translatedFrom: 3, through: 3))
        #expect(!report.diagnosis.contains { $0.component == DiagnosisComponent.carrierGradeNAT })
    }

    @Test func aRewrittenTTLOrChecksumAloneIsNotNAT() {
        var trace = trace(translatedFrom: nil)
        let ttlOnly = QuotedProbeHeader(source: Self.client, sourcePort: 41_000, transportChecksum: 0x9999, ttl: 9)
        for index in trace.hops.indices where trace.hops[index].ttl >= 3 { trace.hops[index].quoteRewrite = rewrite(ttlOnly) }
        #expect(!Fixture.analyze([Fixture.ping()], trace: trace).diagnosis.contains { $0.component == DiagnosisComponent.carrierGradeNAT })
    }

    @Test func aSharedAddressHopAndTranslatedQuotesMakeOneNote() throws {
        var trace = trace(translatedFrom: 3)
        trace.hops[1].addresses = [HopAddress(address: IPAddress("100.64.2.1")!, replies: 10)]
        let report = Fixture.analyze([Fixture.ping()], trace: trace)
        let notes = report.notes.filter { $0.component == DiagnosisComponent.carrierGradeNAT }
        #expect(notes.count == 1)
        #expect(notes.first?.hop == 2)
        #expect(notes.first?.evidence.contains { $0.detail.contains("198.51.100.7") } == true)
    }
}
