import Foundation
import TestSupport
import Testing

/// `isp-checker-monitor --check-config --config FILE`: loads and validates as a start would,
/// prints a summary and exits 0, or exits 64 listing every problem with its key and line; never
/// opens a socket.
@Suite("--check-config", .enabled(if: FileManager.default.isExecutableFile(atPath: monitorExecutable), "build isp-checker-monitor first"))
struct CheckConfigTests {
    static let good = """
    targets:
      - host: 10.99.5.2
        class: critical
        dns_name: check.lab
        resolvers: [10.99.5.2]
        url: http://10.99.5.2/
      - host: 10.99.6.2
    store:
      sqlite: /nonexistent/runs.sqlite
      retention_days: 7
    http:
      host: 127.0.0.1
      port: 9500
      probe_concurrency: 2
    probe_intervals:
      critical_targets: 30s
    modules:
      icmp_burst:
        prober: icmp
        count: 50
        interval: 20ms
    """

    /// Runs the monitor on `yaml` with `--check-config` and `extra` flags.
    private func check(_ yaml: String, _ extra: [String] = [], executable: String = monitorExecutable,
                       prefix: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        let directory = try makeTemporaryDirectory("mn-check")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try yaml.write(toFile: "\(directory)/checker.yaml", atomically: true, encoding: .utf8)
        let process = try Subprocess(executable, prefix + ["--check-config", "--config", "\(directory)/checker.yaml"] + extra)
        let status = process.wait()
        return (status, process.stdout, process.stderr)
    }

    @Test("a good file: exit 0 and a summary of targets, intervals, store, http and modules")
    func goodFileSummarised() throws {
        let result = try check(Self.good)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("checker.yaml: valid"), "\(result.stdout)")
        #expect(result.stdout.contains("targets: 2"))
        #expect(result.stdout.contains("10.99.5.2  critical, every 30s, timeout 1s: ping, traceroute, dns check.lab, http http://10.99.5.2/"), "\(result.stdout)")
        #expect(result.stdout.contains("10.99.6.2  normal, every 15m"), "\(result.stdout)")
        #expect(result.stdout.contains("store: sqlite /nonexistent/runs.sqlite, retention 7 days"))
        #expect(result.stdout.contains("http: 127.0.0.1:9500, API key none, /probe 2 at once, at most 30s"), "\(result.stdout)")
        #expect(result.stdout.contains("modules: check, dns, http, icmp, icmp_burst (icmp), tcp, trace"), "\(result.stdout)")
        // Nothing was created: the store is only named.
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent"))
    }

    @Test("each kind of mistake: exit 64, naming its key and line",
          arguments: [
            ("targets: [\n  - host: a\n", "configuration (line 2", "YAML syntax"),
            ("targets:\n  - host: 10.0.0.1\n    colour: red\nstore:\n  sqlite: /x\n", "targets[0].colour (line 3", "unknown key"),
            ("targets:\n  - host: 10.0.0.1\nstore:\n  sqlite: /x\nhttp:\n  port: high\n", "http.port (line 6", "whole number"),
            ("targets:\n  - host: 10.0.0.1\nstore:\n  sqlite: /x\n  retention_days: 0\n", "store.retention_days (line 5", "at least 1"),
            ("targets:\n  - host: 10.0.0.1\n    url: ftp://10.0.0.1/\nstore:\n  sqlite: /x\n", "targets[0].url (line 3", "ftp"),
            ("targets:\n  - host: 10.0.0.1\n  - host: 10.0.0.1\nstore:\n  sqlite: /x\n", "targets[1].host (line 3", "twice"),
            ("targets:\n  - host: 10.0.0.1\nstore:\n  sqlite: /x\nmodules:\n  m:\n    prober: tcp\n    count: 3\n", "modules.m.count (line 8", "the tcp prober takes"),
            ("targets:\n  - host: 10.0.0.1\nstore:\n  sqlite: /x\nprobe_intervals:\n  critical_targets: -5s\n", "probe_intervals.critical_targets (line 6", ""),
            ("targets:\n  - host: 10.0.0.1\nstore:\n  sqlite: /x\nhttp:\n  api_key_file: /nonexistent/key\n", "http.api_key_file (line 6", "/nonexistent/key"),
            ("targets:\n  - host: 10.0.0.1\nstore:\n  postgres: mysql://db/runs\n", "store.postgres (line 4", ""),
            ("targets:\n  - host: 10.0.0.1\nhttp:\n  port: 9000\n", "store: no run store", ""),
            ("store:\n  sqlite: /x\n", "targets: lists no targets", ""),
            ("targets:\n  - host: 10.0.0.1\nstore:\n  sqlite: /x\nuser: \"nobody:\"\n", "user (line 5", ""),
          ])
    func eachMistakeNamesKeyAndLine(yaml: String, place: String, reason: String) throws {
        let result = try check(yaml)
        #expect(result.status == 64, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains(place), "expected \(place) in: \(result.stderr)")
        #expect(reason.isEmpty || result.stderr.contains(reason), "expected \(reason) in: \(result.stderr)")
        #expect(result.stdout.isEmpty, "\(result.stdout)")
    }

    @Test("every problem of the file at once, not just the first")
    func everyProblemListed() throws {
        let result = try check("targets:\n  - host: 10.0.0.1\n    colour: red\nhttp:\n  port: 70000\nstore:\n  retention_days: 0\n  sqlite: /x\nmodules:\n  x:\n    prober: udp\n")
        #expect(result.status == 64)
        #expect(result.stderr.contains("4 problems"), "\(result.stderr)")
        for place in ["targets[0].colour (line 3", "http.port (line 5", "store.retention_days (line 7", "modules.x.prober (line 11"] {
            #expect(result.stderr.contains(place), "expected \(place) in: \(result.stderr)")
        }
    }

    @Test("the flags are checked as a start checks them")
    func flagsChecked() throws {
        let result = try check(Self.good, ["--port", "70000"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--port must be 0 ... 65535"), "\(result.stderr)")
        let noConfig = try Subprocess(monitorExecutable, ["--check-config"])
        #expect(noConfig.wait() == 64)
        #expect(noConfig.stderr.contains("--check-config needs --config FILE"), "\(noConfig.stderr)")
    }

    @Test("isp-checker monitor --check-config forwards to the monitor",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MonitorSubcommandTests.cli)))
    func subcommandForwards() throws {
        let good = try check(Self.good, executable: MonitorSubcommandTests.cli, prefix: ["monitor"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout.contains("targets: 2"))
        let bad = try check("targets:\n  - host: 10.0.0.1\n    colour: red\n", executable: MonitorSubcommandTests.cli, prefix: ["monitor"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("targets[0].colour (line 3"), "\(bad.stderr)")
    }

    @Test("no socket is made, for a good file nor a bad one (strace -f -e trace=socket,bind)")
    func opensNoSocket() throws {
        let strace = "/usr/bin/strace"
        try #require(FileManager.default.isExecutableFile(atPath: strace), "strace is missing: scripts/install-deps.sh installs it")
        // The control: the same tracing sees a process that does make a socket (a connect to a closed loopback port).
        let control = try run(strace, ["-f", "-e", "trace=socket,bind,connect,listen", "/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/1"], check: false)
        #expect(control.stderr.contains("socket(AF_INET"), "strace saw no socket in the control: \(control.stderr)")
        for yaml in [Self.good, "targets:\n  - host: 10.0.0.1\n    colour: red\n"] {
            let directory = try makeTemporaryDirectory("mn-strace")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try yaml.write(toFile: "\(directory)/checker.yaml", atomically: true, encoding: .utf8)
            let process = try Subprocess(strace, ["-f", "-e", "trace=socket,bind,connect,listen", "-o", "\(directory)/trace",
                                                  monitorExecutable, "--check-config", "--config", "\(directory)/checker.yaml"])
            let status = process.wait()
            #expect(status == (yaml == Self.good ? 0 : 64), "\(process.stderr)")
            let trace = try String(contentsOfFile: "\(directory)/trace", encoding: .utf8)
            #expect(trace.contains("exited with"), "strace traced nothing: \(trace)")
            let calls = trace.split(separator: "\n").filter { $0.contains("socket(") || $0.contains("bind(") || $0.contains("connect(") || $0.contains("listen(") }
            #expect(calls.isEmpty, "\(calls.joined(separator: "\n"))")
        }
    }
}
