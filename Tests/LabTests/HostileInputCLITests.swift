import Foundation
import TestSupport
import Testing

/// Hostile values given to the CLI: numbers out of range are usage errors (exit 64) that name
/// the flag and its range, before anything runs; replay refuses inputs that never end and
/// reports with a crafted number (exit 66, naming the field). No root needed, nothing is sent.
@Suite struct HostileInputCLITests {
    func cli(_ arguments: [String]) throws -> CommandOutput {
        try run(cliPath, arguments, check: false)
    }

    @Test(arguments: [
        (["run", "--target", "127.0.0.1", "--timeout", "1e300"], "--timeout must be a number of seconds > 0 and ≤ 3600"),
        (["run", "--target", "127.0.0.1", "--interval", "1e300"], "--interval must be a number of seconds ≥ 0 and ≤ 3600"),
        (["run", "--target", "127.0.0.1", "--count", "100000000000000"], "--count must be 1 ... 1000000"),
        (["run", "--target", "127.0.0.1", "--rounds", "9223372036854775807"], "--rounds must be 1 ... 100000"),
        (["ping", "127.0.0.1", "--timeout", "1e300"], "--timeout must be a number of seconds > 0 and ≤ 3600"),
        (["ping", "127.0.0.1", "--interval", "inf"], "--interval must be a number of seconds ≥ 0 and ≤ 3600"),
        (["ping", "127.0.0.1", "--count", "0"], "--count must be 1 ... 1000000"),
        (["trace", "127.0.0.1", "--timeout", "1e300"], "--timeout must be a number of seconds > 0 and ≤ 3600"),
        (["trace", "127.0.0.1", "--interval", "1e300"], "--interval must be a number of seconds ≥ 0 and ≤ 3600"),
        (["trace", "127.0.0.1", "--rate", "0"], "--rate must be 1 ... 1000000"),
        (["sweep", "127.0.0.1", "-W", "1e300"], "-W/--timeout must be a number of seconds > 0 and ≤ 3600"),
        (["sweep", "127.0.0.1", "--trace", "--trace-timeout", "1e300"], "--trace-timeout must be a number of seconds > 0 and ≤ 3600"),
        (["dns", "example.net", "--timeout", "1e300"], "--timeout must be a number of seconds > 0 and ≤ 3600"),
        (["http", "http://127.0.0.1/", "--timeout", "1e300"], "--timeout must be a number of seconds > 0 and ≤ 3600"),
        (["http", "http://127.0.0.1/", "--cert-warn-days", "1000000000000000"], "--cert-warn-days must be 0 ... 36500"),
        (["tcp", "127.0.0.1:1", "--timeout", "1e300"], "--timeout must be a number of seconds > 0 and ≤ 3600"),
        (["tcp", "127.0.0.1:1", "--concurrency", "100000000000"], "--concurrency must be 1 ... 4096"),
    ])
    func aNumberOutOfRangeIsAUsageErrorNamingTheFlag(arguments: [String], message: String) throws {
        let output = try cli(arguments)
        #expect(output.status == 64, "\(arguments): \(output.stderr)")
        #expect(output.stderr.contains(message), "\(arguments): \(output.stderr)")
    }

    @Test func replayOfDevZeroIsRefusedAtOnce() throws {
        let started = ContinuousClock.now
        let output = try cli(["run", "--mode", "replay", "--input", "/dev/zero"])
        #expect(output.status == 66, "\(output.stderr)")
        #expect(output.stderr.contains("not a regular file"), "\(output.stderr)")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func replayOfAFIFOWithNoWriterIsRefusedAtOnce() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-cli-fifo-\(getpid())").path
        unlink(path)
        // Readable by all: started as root, the replay reads its input as nobody.
        #expect(mkfifo(path, 0o644) == 0)
        defer { unlink(path) }
        let started = ContinuousClock.now
        let output = try cli(["run", "--mode", "replay", "--input", path])
        #expect(output.status == 66, "\(output.stderr)")
        #expect(output.stderr.contains("a FIFO, not a regular file"), "\(output.stderr)")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aLabFolderWithoutItsScenarioListIsANoInputErrorNotAnEmptyRun() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-cli-lab-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        FileManager.default.createFile(atPath: folder + "/scenario.sh", contents: Data("exit 1\n".utf8))
        // `--scenario all` gets past the root check only as root (then the folder, root's and
        // under sticky /tmp, is trusted); a named scenario needs no list.
        for arguments in [["lab", "--list"]] + (getuid() == 0 ? [["lab", "--scenario", "all"]] : []) {
            let output = try run("/usr/bin/env", ["ISPC_LAB_DIR=\(folder)", cliPath] + arguments, check: false)
            #expect(output.status == 66, "\(arguments): \(output.stderr)")
            #expect(output.stderr.contains("\(folder)/scenarios.txt"), "\(arguments): \(output.stderr)")
        }
    }

    @Test func sweepWithAnUnreadableTargetsFileIsANoInputError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-cli-no-targets-\(getpid())").path
        unlink(path)
        let output = try cli(["sweep", "--targets", path])
        #expect(output.status == 66, "\(output.stderr)")
        #expect(output.stderr.contains("cannot read targets file '\(path)': No such file or directory"), "\(output.stderr)")
    }

    @Test func replayOfAReportWithACraftedStatusCodeNamesTheField() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-cli-crafted-\(getpid()).json").path
        let report = """
            {"id": "crafted", "target": "192.0.2.1", "timestamp": "2026-12-01T00:00:00Z", "mode": "live",
             "probes": [{"name": "http", "status": "ok", "details": {"status_code": 1e300, "outcome": "ok"}}],
             "score": 0, "severity": "P4", "diagnosis": []}
            """
        #expect(FileManager.default.createFile(atPath: path, contents: Data(report.utf8)))
        defer { unlink(path) }
        let output = try cli(["run", "--mode", "replay", "--input", path, "--json"])
        #expect(output.status == 66, "\(output.stderr)")
        #expect(output.stderr.contains("probes[0].details.status_code is 1e+300, outside the allowed range 0 … 999"), "\(output.stderr)")
    }
}
