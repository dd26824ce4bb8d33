import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import ISPChecker

/// Options the dns, http and tcp subcommands share.
struct ServiceOutputOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON: {\"report\": the run report's probe entry, \"result\": every measured field}.")
    var json = false

    @Option(help: "Probe every target in this file (one per line, or CSV: target first) instead of the argument.")
    var targets: String?

    @Option(help: "Most probes in flight at once with --targets.")
    var concurrency = 16

    @Option(name: .customLong("netns"), help: "Probe from inside this network namespace (name from 'ip netns' or a path).")
    var networkNamespace: String?

    @OptionGroup var privileges: PrivilegeOptions

    func validate() throws {
        try OptionRange.integer(concurrency, flag: "--concurrency", 1...4096)
    }
}

/// One probe's JSON: the report entry and the full result (docs/dns.schema.json, http, tcp).
struct ServiceOutput<Result: Encodable>: Encodable {
    var target: String
    var report: ProbeReport?
    var result: Result?
    var error: String?
}

enum ServicePrinter {
    static func encode<T: Encodable>(_ value: T) -> String {
        (try? JSONOutput.document(value)) ?? "{}"
    }

    /// `[#########-----------]  12/40` on one stderr line, redrawn in place.
    static func progress(_ done: Int, _ total: Int) {
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        errorOutput("\r[\(bar)] \(done)/\(total)")
    }

    static func line(_ report: ProbeReport) -> String {
        let details = report.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(report.name) \(report.status.rawValue.uppercased()) \(details)" + (report.error.map { "\n  error: \($0)" } ?? "")
    }

    /// Runs one or many probes and prints them. Exits with the worst status (0 ok, 1 warn,
    /// 2 crit), or 64 and above when an input was rejected (`ExitStatus`).
    static func run<Value: Sendable & Encodable>(
        single: String?, options: ServiceOutputOptions, report: @escaping @Sendable (Value) -> ProbeReport,
        probe: @escaping @Sendable (ServiceTargets.Row) async throws(ProbeError) -> Value
    ) throws {
        let rows: [ServiceTargets.Row]
        if let file = options.targets {
            do { rows = try ServiceTargets.load(path: file) } catch { throw CLIError(error) }
        } else if let single {
            rows = [ServiceTargets.Row(target: single, columns: [])]
        } else {
            throw ValidationError("give a target or --targets FILE")
        }
        let concurrency = options.concurrency
        // ldns, libcurl and OpenSSL parse what the network sends: never as root or with a
        // capability. The process enters the namespace first (its probe threads are then born
        // inside), then drops everything, before the first thread is started.
        do {
            if let namespace = options.networkNamespace { try ProcessPrivileges.enterNetworkNamespace(namespace) }
            try options.privileges.drop()
        } catch { throw CLIError(error) }
        // A progress bar on a terminal's stderr for lists; never in pipes or logs.
        let showProgress = rows.count > 1 && standardErrorIsTerminal
        let outcomes = try runBlocking {
            await ServiceBulk.run(rows, maxConcurrent: concurrency, name: \.target,
                                  progress: showProgress ? { done, total in ServicePrinter.progress(done, total) } : nil, probe)
        }
        if showProgress { errorOutput("\r\u{1B}[K") }
        var worst = ProbeStatus.ok
        var rejected: Int32?
        var outputs: [ServiceOutput<Value>] = []
        for outcome in outcomes {
            switch outcome.result {
            case .success(let value):
                let entry = report(value)
                worst = max(worst, entry.status)
                outputs.append(ServiceOutput(target: outcome.target, report: entry, result: value))
                if !options.json { output((rows.count > 1 ? "\(outcome.target): " : "") + line(entry)) }
            case .failure(let error):
                rejected = max(rejected ?? 0, ExitStatus.code(for: error))
                outputs.append(ServiceOutput(target: outcome.target, error: error.description))
                if !options.json { errorOutput("isp-checker: error: \(outcome.target): \(error)\n") }
            }
        }
        if options.json {
            if options.targets == nil, let only = outputs.first {
                if let error = only.error { errorOutput("isp-checker: error: \(error)\n") }
                output(encode(only))
            } else {
                output(encode(["results": outputs]))
            }
        }
        if let rejected { throw ExitCode(rejected) }
        if worst != .ok { throw ExitStatus.of(worst) }
    }
}
