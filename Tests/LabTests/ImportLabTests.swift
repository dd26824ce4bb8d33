import Foundation
import ISPChecker
import TestSupport
import Testing

/// Imports of files the real tools wrote in the realistic lab (kernel ICMP limits, checksum
/// offload): mtr 0.95 `--json` and `--csv`, scamper's trace (warts through `sc_warts2json`) and
/// ping (`-O json`), through a path whose router r3 drops 40 % of what it forwards toward the
/// destination. Each import must show the tool's own hops and loss, and be diagnosed as our
/// live run of the same path is: loss from hop 4, Peering/Transit. Needs root.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct ImportLabTests {
    static let routers = 4

    func requireTool(_ path: String, package: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: path), "\(path) is missing: install \(package) (scripts/install-deps.sh)")
    }

    func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ispc-import-\(getpid())-\(name)").path
    }

    /// The CLI's replay of `file`: the report, valid against docs/report.schema.json.
    func replay(_ file: String, target: String? = nil) throws -> RunReport {
        let output = try run(cliPath, ["run", "--mode", "replay", "--input", file, "--json"] + (target.map { ["--target", $0] } ?? []), check: false)
        #expect((0...2).contains(output.status), "\(output.stderr)")
        #expect(try ReportSchema.violations(ofJSON: Data(output.stdout.utf8)) == [])
        return try RunReport.decoder.decode(RunReport.self, from: Data(output.stdout.utf8))
    }

    func verdict(_ report: RunReport) -> String {
        let hops = report.trace?.hops.map { "\($0.ttl):\($0.received)/\($0.sent)" }.joined(separator: " ") ?? "-"
        return "\(report.faults.map { "\($0.component)@\($0.hop ?? 0)" }) score \(report.score); hops \(hops)"
    }

    @Test func mtrAndScamperFilesOfALossyPathAreDiagnosedAsOurLiveRunIs() throws {
        try requireTool("/usr/bin/mtr", package: "mtr-tiny")
        try requireTool("/usr/bin/scamper", package: "scamper")
        try requireTool("/usr/bin/sc_warts2json", package: "scamper")
        // realistic: imported evidence comes from real paths, where routers limit their ICMP errors.
        let lab = try Lab.up("hcimp", routers: Self.routers, realistic: true)
        defer { lab.down() }
        try lab.configure("loss", ["--node", "r3", "--percent", "40", "--dir", "forward"])
        let destination = lab.destination4

        // Our live run of the same path.
        let live = try run(cliPath, ["run", "--target", destination, "--netns", lab.client, "--no-dns", "--count", "60", "--interval", "0.02", "--json"], check: false)
        let liveReport = try RunReport.decoder.decode(RunReport.self, from: Data(live.stdout.utf8))
        let liveFault = try #require(liveReport.faults.first, "live: \(verdict(liveReport)) \(live.stderr)")
        #expect(liveFault.component == DiagnosisComponent.peeringTransit, "live: \(verdict(liveReport))")
        #expect(liveFault.hop == 4, "live: \(verdict(liveReport))")

        // mtr --json: 20 rounds at mtr's default interval, 1 s. (Faster, Linux routers' limit of one
        // ICMP error a second per source shows in mtr's own report as loss at every hop, which no
        // reader of the report can tell from loss: docs/replay.md.)
        let mtrJSON = temporary("mtr.json")
        defer { unlink(mtrJSON) }
        let mtr = try lab.exec("c", ["mtr", "-n", "-r", "-c", "20", "--json", destination])
        try mtr.stdout.write(toFile: mtrJSON, atomically: true, encoding: .utf8)
        let fromJSON = try replay(mtrJSON)
        try expectSameHops(fromJSON, asMtrJSON: Data(mtr.stdout.utf8))
        #expect(fromJSON.source?.format == "mtr_json" && fromJSON.source?.tool == "mtr")
        #expect(fromJSON.source?.missingProbes == ["ping", "dns", "http", "tcp"])
        #expect(fromJSON.probes.map(\.name) == ["traceroute"], "a missing probe is absent, not failed")
        #expect(fromJSON.faults.first?.component == liveFault.component, "mtr json: \(verdict(fromJSON)); live: \(verdict(liveReport))")
        #expect(fromJSON.faults.first?.hop == liveFault.hop, "mtr json: \(verdict(fromJSON)); live: \(verdict(liveReport))")

        // mtr --csv, a second measurement.
        let mtrCSV = temporary("mtr.csv")
        defer { unlink(mtrCSV) }
        let csv = try lab.exec("c", ["mtr", "-n", "-r", "-c", "20", "--csv", destination])
        try csv.stdout.write(toFile: mtrCSV, atomically: true, encoding: .utf8)
        let fromCSV = try replay(mtrCSV)
        let csvRows = csv.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let csvHops = try #require(fromCSV.trace?.hops)
        #expect(csvHops.count == csvRows.count)
        for (hop, row) in zip(csvHops, csvRows) {
            // Mtr_Version,Start_Time,Status,Host,Hop,Ip,Loss%,Snt, ,Last,Avg,Best,Wrst,StDev
            #expect(hop.ttl == Int(row[4]))
            #expect(hop.sent == Int(row[7]))
            #expect(abs(hop.lossPercent - (Double(row[6]) ?? -1)) < 0.01, "hop \(hop.ttl): \(hop.lossPercent) vs mtr's \(row[6])")
            #expect(hop.addresses.first.map { $0.address.description } ?? "???" == row[5])
        }
        #expect(fromCSV.source?.version == "0.95")
        #expect(fromCSV.faults.first?.component == liveFault.component, "mtr csv: \(verdict(fromCSV)); live: \(verdict(liveReport))")
        #expect(fromCSV.faults.first?.hop == liveFault.hop, "mtr csv: \(verdict(fromCSV)); live: \(verdict(liveReport))")

        // scamper: a Paris ICMP trace sending all 10 attempts a TTL (-Q), 500 ms apart, saved as
        // warts and turned to JSON by sc_warts2json; then a ping of 60, written as JSON directly.
        let warts = temporary("trace.warts"), scamperJSON = temporary("scamper.json")
        defer { unlink(warts); unlink(scamperJSON) }
        try lab.exec("c", ["scamper", "-O", "warts", "-o", warts, "-c", "trace -P icmp-paris -q 10 -Q -W 50 -w 1", "-i", destination])
        let traceJSON = try run("/usr/bin/sc_warts2json", [warts]).stdout
        let pingJSON = try lab.exec("c", ["scamper", "-O", "json", "-c", "ping -c 60 -i 0.05", "-i", destination]).stdout
        try (traceJSON + pingJSON).write(toFile: scamperJSON, atomically: true, encoding: .utf8)
        let fromScamper = try replay(scamperJSON)
        try expectSameHops(fromScamper, asScamperJSON: traceJSON + pingJSON, attempts: 10)
        #expect(fromScamper.source?.measuredProbes == ["traceroute", "ping"])
        #expect(fromScamper.source?.missingProbes == ["dns", "http", "tcp"])
        #expect(fromScamper.faults.first?.component == liveFault.component, "scamper: \(verdict(fromScamper)); live: \(verdict(liveReport))")
        #expect(fromScamper.faults.first?.hop == liveFault.hop, "scamper: \(verdict(fromScamper)); live: \(verdict(liveReport))")
        #expect(fromScamper.severity == liveReport.severity || abs(fromScamper.score - liveReport.score) < 20,
                "scamper \(fromScamper.score) vs live \(liveReport.score)")
    }

    /// Each hub of mtr's own JSON is a hop of the report: same TTL, address, probes and loss.
    func expectSameHops(_ report: RunReport, asMtrJSON data: Data) throws {
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let hubs = try #require((object["report"] as? [String: Any])?["hubs"] as? [[String: Any]])
        let hops = try #require(report.trace?.hops)
        #expect(hops.count == hubs.count)
        for (hop, hub) in zip(hops, hubs) {
            #expect(hop.ttl == hub["count"] as? Int)
            #expect(hop.sent == hub["Snt"] as? Int)
            let loss = try #require(hub["Loss%"] as? Double)
            #expect(abs(hop.lossPercent - loss) < 0.01, "hop \(hop.ttl): \(hop.lossPercent) vs mtr's \(loss)")
            #expect(hop.addresses.first.map { $0.address.description } ?? "???" == hub["host"] as? String)
            if hop.received > 0, let avg = hub["Avg"] as? Double { #expect(hop.avgMilliseconds == avg) }
        }
    }

    /// scamper's replies, TTL by TTL, are the report's hops (all attempts sent); its ping's
    /// statistics are the report's ping.
    func expectSameHops(_ report: RunReport, asScamperJSON text: String, attempts: Int) throws {
        let records = try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let trace = try #require(records.first { $0["type"] as? String == "trace" })
        let replies = trace["hops"] as? [[String: Any]] ?? []
        let hops = try #require(report.trace?.hops)
        for hop in hops {
            let here = replies.filter { $0["probe_ttl"] as? Int == hop.ttl }
            #expect(hop.sent == attempts, "TTL \(hop.ttl)")
            #expect(hop.received == here.count, "TTL \(hop.ttl): \(hop.received) vs scamper's \(here.count) replies")
            #expect(Set(hop.addresses.map(\.address.description)) == Set(here.compactMap { $0["addr"] as? String }))
        }
        let ping = try #require(records.first { $0["type"] as? String == "ping" })
        let statistics = try #require(ping["statistics"] as? [String: Any])
        let entry = try #require(report.probe("ping"))
        #expect(entry.details["packets_sent"] == .int(try #require(ping["ping_sent"] as? Int)))
        #expect(entry.details["packets_received"] == .int(try #require(statistics["replies"] as? Int)))
    }
}
