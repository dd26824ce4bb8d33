import ArgumentParser
import Foundation
import ISPChecker
import ISPCheckerConfig
import ISPCheckerMonitor

/// `isp-checker-monitor --check-config --config FILE [flags]`, as `promtool check config` is
/// for Prometheus: the file is loaded exactly as a start loads it (`MonitorConfiguration.load`,
/// which lists every problem of the file with its key and line), then what a start checks next
/// with the file's values: a store is named, the secret files read, the PostgreSQL URL is one
/// the store takes, there are targets. With no problem the flags are checked as a start checks
/// them (ArgumentParser's validation: it stops at the first). Nothing is opened but the files:
/// no socket, no engine, no store.
extension MonitorCommand {
    /// Prints the summary (exit 0) or every problem (exit 64). Always throws the exit code.
    func checkConfiguration() throws -> Never {
        guard let configPath else {
            throw ValidationError("--check-config needs --config FILE")
        }
        var problems: [String] = []
        var file: MonitorConfiguration?
        let text: String
        do {
            text = try String(contentsOfFile: configPath, encoding: .utf8)
        } catch {
            fail(configPath, ["cannot read the file: \(error.localizedDescription)"])
        }
        do {
            file = try MonitorConfiguration.load(yaml: text, source: configPath)
        } catch {
            problems += error.problems.map(\.description)
        }
        if let file { problems += startProblems(file, text: text) }
        if !problems.isEmpty { fail(configPath, problems) }
        // The flags, as a start validates them.
        do { try validateStart() } catch {
            fail(configPath, ["\(MonitorCommand.message(for: error))"])
        }
        emitLine(summary(file!, path: configPath))
        throw ExitCode.success
    }

    /// What a start checks after loading the file, each named by key and line.
    func startProblems(_ file: MonitorConfiguration, text: String) -> [String] {
        var problems: [String] = []
        func add(_ key: String, _ reason: String) {
            problems.append(ConfigurationProblem(key: key, line: MonitorConfiguration.line(of: key, in: text), reason: reason).description)
        }
        let storeFlags = sqlitePath != nil || postgresURL != nil || postgresURLFile != nil
            || ProcessInfo.processInfo.environment[MonitorSecrets.postgresURLVariable] != nil
        if !storeFlags {
            if file.store.sqlitePath == nil && file.store.postgresURL == nil && file.store.postgresURLFile == nil {
                add("store", "no run store: give store.sqlite, store.postgres or store.postgres_url_file (or --sqlite / --postgres)")
            }
            var url = file.store.postgresURL
            var urlKey = "store.postgres"
            if let path = file.store.postgresURLFile {
                urlKey = "store.postgres_url_file"
                do { url = try MonitorSecrets.read(path, for: urlKey, warn: false) } catch { add(urlKey, MonitorCommand.message(for: error)) }
            }
            if let url {
                do { try PostgresRunStore.validate(url: url) } catch { add(urlKey, "\(error)") }
            }
        }
        if apiKey == nil && apiKeyFile == nil && ProcessInfo.processInfo.environment[MonitorSecrets.apiKeyVariable] == nil,
           let path = file.http.apiKeyFile {
            do { _ = try MonitorSecrets.read(path, for: "http.api_key_file", warn: false) } catch {
                add("http.api_key_file", MonitorCommand.message(for: error))
            }
        }
        if file.targets.isEmpty && demoRuns == nil {
            add("targets", "lists no targets (add a targets: section, or use --demo-runs)")
        }
        return problems
    }

    func summary(_ file: MonitorConfiguration, path: String) -> String {
        var lines = ["\(path): valid"]
        lines.append("targets: \(file.targets.count)")
        for target in file.targets {
            var probes = ["ping", "traceroute"]
            if let name = target.checkPlan.dnsQueryName { probes.append("dns \(name)") }
            if let url = target.url { probes.append("http \(url)") }
            lines.append("  \(target.host)  \(target.targetClass.rawValue), every \(Self.text(file.resilience.probeIntervals[target.targetClass])), timeout \(Self.text(target.timeout)): \(probes.joined(separator: ", "))")
        }
        let intervals = TargetClass.allCases.map { "\($0.rawValue) \(Self.text(file.resilience.probeIntervals[$0]))" }
        lines.append("intervals: " + intervals.joined(separator: ", "))
        let store: String
        if let sqlite = sqlitePath ?? (postgresURL == nil && postgresURLFile == nil ? file.store.sqlitePath : nil) {
            store = "sqlite \(sqlite)"
        } else if let url = postgresURL ?? file.store.postgresURL {
            store = "postgresql \(PostgresRunStore.redacted(url: url))"
        } else {
            store = "postgresql (URL from \(postgresURLFile ?? file.store.postgresURLFile ?? "$\(MonitorSecrets.postgresURLVariable)"))"
        }
        lines.append("store: \(store), retention \(retentionDays ?? file.store.retentionDays ?? 30) days"
                     + ((spoolPath ?? file.store.spoolPath).map { ", spool \($0)" } ?? ""))
        let keyed = apiKey != nil || apiKeyFile != nil || file.http.apiKey != nil || file.http.apiKeyFile != nil
            || ProcessInfo.processInfo.environment[MonitorSecrets.apiKeyVariable] != nil
        lines.append("http: \(host ?? file.http.host ?? "127.0.0.1"):\(port ?? file.http.port ?? 9464), API key \(keyed ? "required" : "none")"
                     + ", /probe \(file.http.probeConcurrency ?? ProbeEndpoint.defaultConcurrency) at once, at most \(Self.text(file.http.probeTimeout ?? ProbeEndpoint.defaultTimeout))")
        lines.append("modules: " + file.modules.keys.sorted().map { name in
            let module = file.modules[name]!
            return name == module.prober.rawValue ? name : "\(name) (\(module.prober.rawValue))"
        }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    private func fail(_ path: String, _ problems: [String]) -> Never {
        FileHandle.standardError.write(Data((["isp-checker-monitor: \(path): \(problems.count) problem\(problems.count == 1 ? "" : "s"):"]
                                             + problems.map { "  - \($0)" }).joined(separator: "\n").utf8 + [0x0A]))
        MonitorCommand.exit(withError: ExitCode(ExitStatus.usage))
    }

    static func message(for error: any Error) -> String {
        if let error = error as? ValidationError { return error.message }
        return "\(error)"
    }

    /// `30s`, `1m30s`, `200ms`: as the file writes durations.
    static func text(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 {
            if seconds % 3600 == 0 && seconds > 0 { return "\(seconds / 3600)h" }
            if seconds % 60 == 0 && seconds > 0 { return "\(seconds / 60)m" }
            return "\(seconds)s"
        }
        let milliseconds = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        return milliseconds == milliseconds.rounded() ? "\(Int(milliseconds))ms" : "\(milliseconds)ms"
    }
}
