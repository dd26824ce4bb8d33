import Foundation
import TestSupport
import Testing

/// `isp-checker monitor …` runs `isp-checker-monitor` from its own directory.
@Suite("isp-checker monitor subcommand")
struct MonitorSubcommandTests {
    static let cli = URL(fileURLWithPath: monitorExecutable).deletingLastPathComponent().appendingPathComponent("isp-checker").path

    @Test("arguments pass through: a bad --config gets the monitor's exit 64 and its key and line",
          .enabled(if: FileManager.default.isExecutableFile(atPath: cli) && FileManager.default.isExecutableFile(atPath: monitorExecutable)))
    func passesArgumentsThrough() throws {
        let directory = try makeTemporaryDirectory("mn-sub")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "targets:\n  - host: 10.99.5.2\n    colour: red\n".write(toFile: "\(directory)/c.yaml", atomically: true, encoding: .utf8)
        let process = try Subprocess(Self.cli, ["monitor", "--config", "\(directory)/c.yaml", "--sqlite", "\(directory)/r.sqlite"])
        #expect(process.wait() == 64)
        #expect(process.stderr.contains("targets[0].colour (line 3"), "\(process.stderr)")
    }

    @Test("without isp-checker-monitor next to it: exit 69 naming the missing path",
          .enabled(if: FileManager.default.isExecutableFile(atPath: cli)))
    func missingMonitorIsUnavailable() throws {
        let directory = try makeTemporaryDirectory("mn-sub")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Copied by cp, so no write descriptor of ours leaks into a concurrent spawn (ETXTBSY).
        try run("/bin/cp", [Self.cli, "\(directory)/isp-checker"])
        let process = try Subprocess("\(directory)/isp-checker", ["monitor", "--config", "x.yaml"])
        #expect(process.wait() == 69)
        #expect(process.stderr.contains("\(directory)/isp-checker-monitor"), "\(process.stderr)")
    }
}
