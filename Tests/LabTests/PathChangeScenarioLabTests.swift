import Foundation
import ISPChecker
import TestSupport
import Testing

/// `isp-checker lab --scenario path-change` (realistic lab, two parallel routers at hop 2): a
/// clean run through r2a, then r1 moves to r2b, which loses 30 % of what it forwards; the check
/// after the change gets the first run as its `--history` and names the change in its loss
/// diagnosis. And `run --history`'s refusals.
@Suite(.enabled(if: isRoot, "the network lab needs root"))
struct PathChangeScenarioLabTests {
    @Test func lossThatBeganWithThePathChangeSaysSoAtTheChangedHop() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-pcs-\(getpid()).json").path
        defer { unlink(file) }
        let result = try run(cliPath, ["lab", "--scenario", "path-change", "--json", "--output", file], check: false)
        #expect(result.status == 1 || result.status == 2, "30 % loss is a fault: \(result.stderr)")
        let json = try String(contentsOfFile: file, encoding: .utf8)
        #expect(try ReportSchema.violations(ofJSON: Data(json.utf8)) == [])
        let report = try RunReport.decoder.decode(RunReport.self, from: Data(json.utf8))

        // The check after the change went through r2b (hop 2 answers from its address).
        let trace = try #require(report.trace)
        let hop2 = try #require(trace.hops.first { $0.ttl == 2 })
        let answered = hop2.addresses.map { "\($0.address)" }
        #expect(answered == ["10.99.102.2"], "\(answered)")

        // Loss from hop 3 (r2b drops what it forwards), and the diagnosis says it began with the
        // change at hop 2, from r2a's address to r2b's.
        let fault = try #require(report.faults.first, "\(report.diagnosis)")
        #expect(fault.hop == 3, "\(fault)")
        let change = try #require(fault.evidence.first { $0.detail.hasPrefix("loss began at the run where the path changed") }, "\(fault.evidence)")
        #expect(change.hop == 2 && change.detail.contains("10.99.2.2") && change.detail.contains("10.99.102.2"), "\(change)")
    }

    @Test func historyThatCannotBeReadOrIsNoReportIsRefusedWithExit66() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-hist-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A valid run report to replay (no network: a replay sends nothing).
        let input = folder + "/run.json"
        let saved = HealthAnalyzer().analyze(target: "192.0.2.1", probes: [], trace: nil)
        try RunReport.encoder.encode(saved).write(to: URL(fileURLWithPath: input))
        let notAReport = folder + "/notes.json"
        try Data("{\"hello\": 1}".utf8).write(to: URL(fileURLWithPath: notAReport))

        let missing = try run(cliPath, ["run", "--mode", "replay", "--input", input, "--history", folder + "/missing.json"], check: false)
        #expect(missing.status == 66 && missing.stderr.contains("cannot read --history '\(folder)/missing.json'"), "\(missing.stderr)")
        let wrong = try run(cliPath, ["run", "--mode", "replay", "--input", input, "--history", notAReport], check: false)
        #expect(wrong.status == 66 && wrong.stderr.contains("--history '\(notAReport)' is not a run report"), "\(wrong.stderr)")
        // A report of the same run as its own history is taken (its own id is left out of it).
        let good = try run(cliPath, ["run", "--mode", "replay", "--input", input, "--history", input, "--json"], check: false)
        #expect(good.status < 64, "\(good.stderr)")
    }
}
