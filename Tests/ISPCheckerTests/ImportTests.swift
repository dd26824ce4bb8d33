import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerImport
@testable import ISPCheckerResults

/// Other tools' results read into typed results: what each format gives, how the kind is told,
/// how a target is picked, and that a missing probe is never scored as a failed one.
@Suite struct ImportTests {
    func runs(_ text: String, file: String = "input") throws -> [ImportedRun] {
        let bytes = Array(text.utf8)
        guard case .imported(let format) = try Importer.kind(of: bytes, path: file) else {
            Issue.record("not detected as an import")
            return []
        }
        return try Importer.runs(from: bytes, format: format, file: file)
    }

    func only(_ text: String) throws -> ImportedRun {
        let all = try runs(text)
        #expect(all.count == 1)
        return try #require(all.first)
    }

    // MARK: Detection

    @Test(arguments: [
        (ImportFixtures.atlasTraceV4, ReplayInputKind.imported(.atlasJSON)),
        (ImportFixtures.atlasDownload, .imported(.atlasJSON)),
        (ImportFixtures.atlasPingV4.replacingOccurrences(of: "\n", with: " ") + "\n" + ImportFixtures.atlasPingV6.replacingOccurrences(of: "\n", with: " ") + "\n", .imported(.atlasJSON)),
        (ImportFixtures.mtrJSON, .imported(.mtrJSON)),
        ("\u{FEFF}" + ImportFixtures.mtrCSV, .imported(.mtrCSV)),
        (ImportFixtures.scamper, .imported(.scamperJSON)),
        ("{\"schema_version\": 1, \"probes\": []}", .runReport),
    ])
    func theKindIsToldByTheContent(text: String, kind: ReplayInputKind) throws {
        #expect(try Importer.kind(of: Array(text.utf8), path: "no-extension") == kind)
    }

    @Test func aPcapOrPcapngIsACapture() {
        #expect(Importer.isCapture(head: [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]))
        #expect(Importer.isCapture(head: [0xa1, 0xb2, 0x3c, 0x4d]))
        #expect(Importer.isCapture(head: [0x0a, 0x0d, 0x0d, 0x0a, 0x1c]))
        #expect(!Importer.isCapture(head: Array("{\"a\":1}".utf8)))
    }

    @Test(arguments: ["", "hello world\n", "{\"hello\": 1}", "[1, 2, 3]", "{\"report\": 5", "<?xml version=\"1.0\"?><MTR/>"])
    func anythingElseIsATypedErrorListingTheKindsRead(text: String) {
        #expect {
            _ = try Importer.kind(of: Array(text.utf8), path: "odd.txt")
        } throws: { error in
            guard case .unknownFormat(let path, _) = error as? ImportError else { return false }
            let message = (error as? ImportError)?.description ?? ""
            return path == "odd.txt" && message.contains("mtr --json") && message.contains("RIPE Atlas") && message.contains("pcapng")
        }
    }

    // MARK: RIPE Atlas

    @Test func anAtlasTracerouteGivesHopsLossAndTheMPLSStackOfItsTunnelHop() throws {
        let run = try only(ImportFixtures.atlasTraceV4)
        let trace = try #require(run.trace)
        #expect(run.ping == nil)
        #expect(run.target == "example.net")
        #expect(run.address == IPAddress("192.0.2.80"))
        #expect(trace.method == .icmp)
        #expect(trace.paris)
        #expect(trace.stop == .destinationReached)
        #expect(trace.hops.map(\.ttl) == [1, 2, 3, 4])
        #expect(trace.hops.map(\.sent) == [3, 3, 3, 3], "the duplicate at hop 4 is not a probe")
        #expect(trace.hops.map(\.received) == [3, 2, 0, 3])
        #expect(abs(trace.hops[1].lossPercent - 100.0 / 3) < 1e-9)
        #expect(trace.hops[1].mplsStacks == [[MPLSLabel(label: 24001, trafficClass: 0, bottomOfStack: false, ttl: 1),
                                             MPLSLabel(label: 16005, trafficClass: 5, bottomOfStack: true, ttl: 1)]])
        #expect(trace.hops[1].addresses.map(\.address) == [IPAddress("203.0.113.1")])
        #expect(trace.hops[2].isSilent)
        #expect(trace.hops[3].isDestination)
        #expect(trace.hops[3].avgMilliseconds.map { abs($0 - 12.133333) < 1e-5 } == true)
        #expect(trace.durationMilliseconds == 10_000)
        #expect(run.source.tool == "ripe_atlas")
        #expect(run.source.version == "firmware 5080")
        #expect(run.source.origin == "RIPE Atlas probe 6001, source address 192.168.1.10")
        #expect(run.source.missingProbes == ["ping", "dns", "http", "tcp"])
        #expect(run.timestamp == Date(timeIntervalSince1970: 1_796_500_000))
    }

    @Test func anAtlasV6TracerouteEndsAtTheHopThatAnsweredUnreachable() throws {
        let trace = try #require(try only(ImportFixtures.atlasTraceV6).trace)
        #expect(trace.method == .udp)
        #expect(!trace.paris)
        #expect(trace.stop == .unreachable(UnreachableCode(family: .ipv6, code: 1)))
        #expect(trace.hops.map(\.received) == [2, 3])
        #expect(trace.hops[1].unreachable.map(\.description) == ["!X"])
    }

    @Test func anAtlasPingKeepsItsCountsAndTimes() throws {
        let run = try only(ImportFixtures.atlasPingV4)
        let ping = try #require(run.ping)
        #expect(run.trace == nil)
        #expect(ping.socketKind == .imported)
        // Atlas's own summary: sent 3, rcvd 2, min 10, avg 10.5, max 11.
        #expect(ping.sent == 3 && ping.received == 2)
        #expect(ping.minMilliseconds == 10 && ping.maxMilliseconds == 11 && ping.avgMilliseconds == 10.5)
        #expect(ping.probes.compactMap(\.replyTTL) == [60, 60])
        #expect(run.source.missingProbes == ["traceroute", "dns", "http", "tcp"])
    }

    @Test func anAtlasPingPacketThatCouldNotBeSentIsASendFailure() throws {
        let ping = try #require(try only(ImportFixtures.atlasPingV6).ping)
        #expect(ping.probes.map(\.status) == [.received, .sendFailed, .received])
        #expect(ping.probes[1].error == "sendto failed: No route to host")
        #expect(ping.received == 2)
    }

    @Test func aDownloadOfSeveralResultsGroupsThemByTargetAndProbe() throws {
        let all = try runs(ImportFixtures.atlasDownload)
        #expect(all.map(\.selector) == ["example.net@6001", "2001:db8::80@6002", "2001:db8::53@6003"])
        // The traceroute and the ping of probe 6001 toward one target are one run with both probes.
        let both = try Importer.select(all, target: "192.0.2.80")
        #expect(both.trace != nil && both.ping != nil)
        #expect(both.source.measuredProbes == ["traceroute", "ping"])
        #expect(try Importer.select(all, target: "example.net@6001") == both)
        #expect(throws: ImportError.severalTargets(["example.net@6001", "2001:db8::80@6002", "2001:db8::53@6003"])) {
            try Importer.select(all, target: nil)
        }
        #expect(throws: ImportError.targetNotFound(target: "198.51.100.1", available: ["example.net@6001", "2001:db8::80@6002", "2001:db8::53@6003"])) {
            try Importer.select(all, target: "198.51.100.1")
        }
    }

    @Test func anAtlasHopErrorAndAnUnknownErrLetterAreReported() throws {
        let hopError = ImportFixtures.atlasTraceV4.replacingOccurrences(of: #"{"hop":3,"result":[{"x":"*"},{"x":"*"},{"x":"*"}]}"#,
                                                                       with: #"{"hop":3,"error":"sendto failed: Network is unreachable"}"#)
        let run = try only(hopError)
        #expect(run.source.notes.contains { $0.contains("hop 3: sendto failed") })
        let badLetter = ImportFixtures.atlasTraceV6.replacingOccurrences(of: #""err":"A""#, with: #""err":"Z""#)
        #expect(throws: ImportError.self) { try runs(badLetter) }
    }

    // MARK: mtr, scamper

    @Test func mtrJSONGivesMtrsOwnLossAndTimesAHopALine() throws {
        let run = try only(ImportFixtures.mtrJSON)
        let trace = try #require(run.trace)
        #expect(trace.hops.map(\.sent) == [5, 5, 5, 5])
        #expect(trace.hops.map(\.received) == [0, 5, 3, 4])
        #expect(trace.hops.map(\.lossPercent) == [100, 0, 40, 20])
        #expect(trace.hops[0].addresses.isEmpty)
        #expect(trace.hops[0].avgMilliseconds == nil)
        #expect(trace.hops[2].addresses.first?.name == "router3.lab")
        #expect(trace.hops[2].addresses.first?.address == IPAddress("10.99.3.2"))
        #expect(trace.hops[1].worstMilliseconds == 0.105)
        #expect(trace.stop == .destinationReached)
        #expect(trace.rounds == 5)
        #expect(run.source.format == "mtr_json")
        #expect(run.source.notes.contains { $0.contains("ICMP") })
    }

    @Test func mtrCSVReadsColumnsByTheirHeader() throws {
        let run = try only(ImportFixtures.mtrCSV)
        let trace = try #require(run.trace)
        #expect(run.address == IPAddress("fd00:99:4::2"))
        #expect(trace.hops.map(\.received) == [0, 3, 1, 2])
        #expect(trace.hops.last?.isDestination == true)
        #expect(run.source.version == "0.95")
        #expect(run.timestamp == Date(timeIntervalSince1970: 1_796_587_889))
    }

    @Test func scamperTraceCountsTheAttemptsBeforeEachReplyAndReadsItsMPLSLabels() throws {
        let run = try only(ImportFixtures.scamper)
        let trace = try #require(run.trace)
        #expect(trace.hops.map(\.ttl) == [1, 2, 3, 4, 5])
        // TTL 4: three attempts, none answered; TTL 5: the destination answered the second attempt.
        #expect(trace.hops.map(\.sent) == [1, 1, 1, 3, 2])
        #expect(trace.hops.map(\.received) == [1, 1, 1, 0, 1])
        #expect(trace.hops[1].mplsStacks == [[MPLSLabel(label: 299_792, trafficClass: 0, bottomOfStack: true, ttl: 1)]])
        #expect(trace.paris && trace.method == .icmp)
        let ping = try #require(run.ping)
        // scamper's own statistics: 10 sent, 5 replies, min 0.070, max 0.081.
        #expect(ping.sent == 10 && ping.received == 5)
        #expect(ping.minMilliseconds == 0.070 && ping.maxMilliseconds == 0.081)
        #expect(run.source.origin == "10.99.1.1")
    }

    // MARK: Report

    @Test func aMissingProbeIsNotScoredAndNeverCountsAsFailed() throws {
        // A healthy ping alone: no trace, no DNS, no HTTP, no TCP in the file.
        let healthy = ImportFixtures.atlasPingV6.replacingOccurrences(of: #"{"error":"sendto failed: No route to host"},"#, with: "")
        let report = HealthAnalyzer().analyze(try only(healthy))
        #expect(report.probes.map(\.name) == ["ping"])
        #expect(report.score == 0)
        #expect(report.worstStatus == .ok)
        #expect(report.diagnosis.filter { !$0.informational }.isEmpty)
        #expect(report.mode == .replay)
        #expect(report.source?.missingProbes == ["traceroute", "dns", "http", "tcp"])
    }

    @Test func everyImportMakesAReportThatDecodesAgain() throws {
        for (name, text) in ImportFixtures.all {
            for run in try runs(text) {
                let report = HealthAnalyzer().analyze(run)
                let data = try RunReport.encoder.encode(report)
                let decoded = try RunReport.decoder.decode(RunReport.self, from: data)
                #expect(decoded.source == run.source, "\(name)")
                #expect(decoded.trace == report.trace, "\(name)")
            }
        }
    }

    @Test func theImportLimitsAreTheReportLimits() {
        #expect(ImportLimits.milliseconds == ReportLimits.milliseconds)
        #expect(ImportLimits.percent == ReportLimits.percent)
        #expect(ImportLimits.count == ReportLimits.count)
        #expect(ImportLimits.ttl == ReportLimits.ttl)
        #expect(ImportLimits.maximumHops == ReportLimits.maximumHops)
        #expect(ImportLimits.maximumAddressesPerHop == ReportLimits.maximumAddressesPerHop)
        #expect(ImportLimits.rounds == ReportLimits.rounds)
    }
}
