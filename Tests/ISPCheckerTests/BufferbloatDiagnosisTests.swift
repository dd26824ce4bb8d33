import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerResults

/// Issue 20, item 2: latency under load. The hop whose queue grows is the one before the first
/// hop whose RTT rises with the destination's; the responsiveness figure is 60000 / loaded RTT.
@Suite struct BufferbloatDiagnosisTests {
    static let destination = IPAddress(Fixture.target)!

    /// Hops 1-4 and the destination (ttl 5), idle 1 ms each (+0.5 per hop); from `riseAt` on,
    /// `upload` / `download` ms more under that load.
    func result(riseAt: Int = 2, upload: Double = 150, download: Double = 20, error: String? = nil) -> BufferbloatResult {
        let hops = (1...5).map { ttl in
            let idle = 1 + Double(ttl) * 0.5
            return BufferbloatResult.HopLatency(ttl: ttl, address: ttl == 5 ? Self.destination : IPAddress("10.99.\(ttl).2")!,
                                                isDestination: ttl == 5, idleMilliseconds: idle,
                                                uploadMilliseconds: idle + (ttl >= riseAt ? upload : 0.4),
                                                downloadMilliseconds: idle + (ttl >= riseAt ? download : 0.3))
        }
        let destinationIdle = hops[4].idleMilliseconds!
        return BufferbloatResult(server: "10.99.5.2:9000", target: Fixture.target, address: Self.destination, hops: hops,
                                 flows: [.init(direction: .upload, bytes: 3_750_000, durationMilliseconds: 3000, error: error),
                                         .init(direction: .download, bytes: 7_500_000, durationMilliseconds: 3000)],
                                 loadedDestinationSamplesMilliseconds: [destinationIdle + upload, destinationIdle + download, destinationIdle + upload],
                                 durationMilliseconds: 7000)
    }

    @Test func anUploadQueueOnTheRoutersUplinkNamesHop1AndSQM() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(bufferbloat: result())], trace: Fixture.cleanTrace())
        let fault = try #require(report.faults.first)
        #expect(fault.component == DiagnosisComponent.localNetwork)
        #expect(fault.hop == 1)
        #expect(fault.explanation.hasPrefix("Latency rises by 150 ms under upload at hop 1 (10.99.1.2): your router's queue"), "\(fault.explanation)")
        #expect(fault.explanation.contains("to hop 2 (10.99.2.2)"), "\(fault.explanation)")
        #expect(fault.suggestedAction.contains("SQM") && fault.suggestedAction.contains("cake") && fault.suggestedAction.contains("fq_codel"))
        #expect(fault.suggestedAction.contains("9 Mbit/s up"), "90 % of the 10 Mbit/s measured: \(fault.suggestedAction)")
        #expect(fault.evidence.contains { $0.detail.contains("+20 ms under download") }, "\(fault.evidence)")
        let probe = try #require(report.probe(ProbeName.bufferbloat))
        #expect(probe.status == .warn)
        #expect(probe.details["queue_hop"] == .int(1) && probe.details["rise_hop"] == .int(2))
        #expect(probe.details["worst_direction"] == .string("upload"))
        #expect(probe.details["upload_kbit"] == .double(10_000))
    }

    @Test func aQueueDeeperInThePathIsTheISPsWithTheHopNamed() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(bufferbloat: result(riseAt: 4, upload: 10, download: 250))], trace: Fixture.cleanTrace())
        let fault = try #require(report.faults.first)
        #expect(fault.component == DiagnosisComponent.ispAccess, "hop 3 is within the 2 access hops past the gateway")
        #expect(fault.hop == 3)
        #expect(fault.explanation.contains("under download at hop 3 (10.99.3.2)"), "\(fault.explanation)")
        #expect(fault.suggestedAction.hasPrefix("Ask the operator of hop 3"), "\(fault.suggestedAction)")
        #expect(report.probe(ProbeName.bufferbloat)?.status == .crit, "250 ms ≥ 200 ms")
    }

    @Test func aCongestedLinkToTheGatewayIsThisHostsLink() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(bufferbloat: result(riseAt: 1, upload: 90))], trace: Fixture.cleanTrace())
        let fault = try #require(report.faults.first)
        #expect(fault.component == DiagnosisComponent.localNetwork)
        #expect(fault.explanation.contains("this host's own link to the gateway"), "\(fault.explanation)")
        #expect(report.probe(ProbeName.bufferbloat)?.details["queue_hop"] == .int(0))
    }

    @Test func aSmallRiseUnderLoadIsNoFault() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(bufferbloat: result(upload: 12, download: 8))], trace: Fixture.cleanTrace())
        #expect(report.faults.isEmpty, "\(report.diagnosis)")
        #expect(report.probe(ProbeName.bufferbloat)?.status == .ok)
    }

    @Test func aHopThatAnswersSlowlyUnderLoadIsNotTheQueue() throws {
        // Hop 2 rises 40 ms (its CPU answers slowly), the destination 150: the queue starts at hop 3.
        var slow = result(riseAt: 3)
        slow.hops[1].uploadMilliseconds = slow.hops[1].idleMilliseconds! + 40
        let queue = try #require(slow.queue(.upload, minimumMilliseconds: 30))
        #expect(queue.riseHop?.ttl == 3 && queue.queueHop == 2)
    }

    @Test func aFailedFlowIsAWarningThatSaysWhyAndNoFault() throws {
        var failed = result(upload: 0, download: 0, error: "load server 10.99.5.2:9000: connection refused")
        failed.loadedDestinationSamplesMilliseconds = []
        for index in failed.hops.indices { failed.hops[index].uploadMilliseconds = nil }
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(bufferbloat: failed)], trace: Fixture.cleanTrace())
        let probe = try #require(report.probe(ProbeName.bufferbloat))
        #expect(probe.status == .warn)
        #expect(probe.error == "load server 10.99.5.2:9000: connection refused")
        #expect(report.faults.isEmpty, "\(report.diagnosis)")
    }

    @Test func responsivenessIsRoundTripsPerMinuteAtTheMedianLoadedRTT() throws {
        let bloat = result(upload: 120, download: 30)
        // Destination idle 3.5 ms; samples 123.5, 33.5, 123.5: median 123.5 ms.
        #expect(abs(try #require(bloat.responsivenessRPM) - 60_000 / 123.5) < 1e-9)
        #expect(abs(try #require(bloat.idleRPM) - 60_000 / 3.5) < 1e-9)
        let probe = ProbeReport(bufferbloat: bloat)
        #expect(probe.details["responsiveness_rpm"] == .double(486))
    }

    @Test func aSavedReportReadsBackTheSameMeasurement() throws {
        let original = Fixture.analyze([Fixture.ping(), ProbeReport(bufferbloat: result())], trace: Fixture.cleanTrace())
        let decoded = try RunReport.decoder.decode(RunReport.self, from: RunReport.encoder.encode(original))
        #expect(decoded.probe(ProbeName.bufferbloat)?.measurement == original.probe(ProbeName.bufferbloat)?.measurement)
        #expect(decoded.probe(ProbeName.bufferbloat)?.measurement.bufferbloat?.queueHop == 1)
        #expect(decoded.faults.first?.hop == 1)
    }
}
