import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// A saved run report is input: replay reads it, and the monitor reads every stored run for its
/// baseline. A crafted number must be refused when the report is decoded, by the name of its
/// field, and never reach the arithmetic of grading and diagnosis, where `Int(1e300)` and
/// `Int.max + 1` trap (and took the process, or every monitor sharing a database, down).
@Suite struct HostileReportTests {
    func sample() -> RunReport {
        let trace = Fixture.trace((1...5).map { Fixture.hop($0, ms: 5, loss: $0 >= 4 ? 30 : 0, destination: $0 == 5) })
        return Fixture.analyze([Fixture.ping(loss: 30, avg: 185.3), Fixture.http(statusCode: 503, outcome: "http_error")], trace: trace)
    }

    /// The sample's JSON with one value replaced (as JSON text, so numbers no Double holds stay as written).
    /// `path`: keys and array indexes, dot-separated (`trace.hops.2.ttl`).
    func crafted(_ path: String, _ value: String) throws -> Data {
        let steps: [Any] = path.split(separator: ".").map { Int($0).map { $0 as Any } ?? String($0) as Any }
        let data = try RunReport.encoder.encode(sample())
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let marker = "@@crafted@@"
        object = try replacing(object, at: steps[...], with: marker) as! [String: Any]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        return Data(text.replacingOccurrences(of: "\"\(marker)\"", with: value).utf8)
    }

    func replacing(_ node: Any, at path: ArraySlice<Any>, with value: Any) throws -> Any {
        guard let step = path.first else { return value }
        if let key = step as? String, var object = node as? [String: Any] {
            object[key] = try replacing(object[key] as Any, at: path.dropFirst(), with: value)
            return object
        }
        if let index = step as? Int, var array = node as? [Any] {
            array[index] = try replacing(array[index], at: path.dropFirst(), with: value)
            return array
        }
        throw CocoaError(.coderInvalidValue)
    }

    func decodingError(_ data: Data) -> ReportValueError? {
        do {
            _ = try RunReport.decoder.decode(RunReport.self, from: data)
            return nil
        } catch let error as ReportValueError {
            return error
        } catch {
            Issue.record("expected a ReportValueError, got \(error)")
            return nil
        }
    }

    @Test func theSampleItselfDecodes() throws {
        let sample = sample()
        let report = try RunReport.decoder.decode(RunReport.self, from: try RunReport.encoder.encode(sample))
        #expect(report == sample)
    }

    @Test func aStatusCodeOf1e300IsRefusedNamingTheField() throws {
        let error = try #require(decodingError(try crafted("probes.1.details.status_code", "1e300")))
        #expect(error.field == "probes[1].details.status_code")
        #expect(error.description.contains("probes[1].details.status_code is 1e+300"))
        #expect(error.description.contains("0 … 999"))
    }

    @Test(arguments: [("latency_avg_ms", "1e300"), ("latency_avg_ms", "-5"), ("packet_loss", "101"), ("packet_loss", "1e308"),
                      ("packets_sent", "9223372036854775807"), ("packets_received", "-9223372036854775808")])
    func anOutOfRangePingDetailIsRefused(key: String, value: String) throws {
        let error = try #require(decodingError(try crafted("probes.0.details.\(key)", value)))
        #expect(error.field == "probes[0].details.\(key)")
    }

    @Test func anUnknownDetailBeyond2To53IsRefused() throws {
        let error = try #require(decodingError(try crafted("probes.0.details.anything", "1e300")))
        #expect(error.field == "probes[0].details.anything")
    }

    @Test func aHopTTLOfIntMaxIsRefused() throws {
        let error = try #require(decodingError(try crafted("trace.hops.2.ttl", String(Int.max))))
        #expect(error.field == "trace.hops[2].ttl")
        #expect(error.value == "9223372036854775807")
        #expect(error.allowed == "whole numbers 1 … 255")
    }

    @Test(arguments: [("trace.hops.0.sent", "trace.hops[0].sent", "-1"),
                      ("trace.hops.1.echo_sent", "trace.hops[1].echo_sent", "1e18"),
                      ("trace.hops.1.latency_avg_ms", "trace.hops[1].latency_avg_ms", "1e300"),
                      ("trace.hops.3.packet_loss", "trace.hops[3].packet_loss", "-0.5"),
                      ("trace.rounds", "trace.rounds", "0"),
                      ("trace.duration_ms", "trace.duration_ms", "1e300"),
                      ("score", "score", "1e300"),
                      ("diagnosis.0.confidence", "diagnosis[0].confidence", "7"),
                      ("diagnosis.0.evidence.0.hop", "diagnosis[0].evidence[0].hop", String(Int.min))])
    func everyOtherNumberIsRangeChecked(path: String, field: String, value: String) throws {
        let error = try #require(decodingError(try crafted(path, value)))
        #expect(error.field == field)
    }

    /// A report built in code is not checked like a decoded one: the conversions themselves
    /// must not trap either.
    @Test func gradingAndDiagnosisOfAbsurdNumbersBuiltInCodeDoNotTrap() {
        let http = ProbeReport(name: ProbeName.http, status: .ok, details: ["status_code": .double(1e300), "outcome": .string("http_error")])
        #expect(HealthThresholds.default.grade(http) == .crit)
        let ping = ProbeReport(name: ProbeName.ping, status: .ok, details: ["packet_loss": .double(1e300), "latency_avg_ms": .double(.infinity)])
        let report = HealthAnalyzer().analyze(target: "192.0.2.1", probes: [ping, http], trace: nil)
        #expect(report.score == 100 || report.score > 0)
        #expect(DiagnosisEngine.format(1e300) == "1e+300")
        #expect(DiagnosisEngine.format(.nan) == "nan")
        #expect(DiagnosisEngine.format(-.infinity) == "-inf")
        #expect(DiagnosisEngine.format(12.34) == "12.3")
        #expect(DiagnosisEngine.format(7) == "7")
    }

    @Test func aTraceWithATTLNearIntMaxBuiltInCodeIsDiagnosedWithoutOverflow() {
        let hop = TraceHop(ttl: Int.max, addresses: [], sent: 3, received: 0, lossPercent: 100, lastMilliseconds: nil,
                           avgMilliseconds: nil, bestMilliseconds: nil, worstMilliseconds: nil, stdevMilliseconds: nil,
                           mplsStacks: [], unreachable: [], isDestination: false, clock: nil)
        let trace = Fixture.trace([Fixture.hop(1, ms: 1), hop], stop: .maxHopsReached)
        let ping = Fixture.ping(loss: 100, avg: nil)
        let report = HealthAnalyzer().analyze(target: "192.0.2.1", probes: [ping], trace: trace)
        #expect(!report.diagnosis.isEmpty)
    }
}
