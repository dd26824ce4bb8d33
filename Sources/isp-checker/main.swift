import ArgumentParser
import Dispatch
import FoundationEssentials
import ISPChecker

/// Runs async library work from a synchronous command. The CLI stays synchronous until it has
/// dropped every privilege on the main thread (`ProcessPrivileges.drop`), so that every thread
/// created after that (the concurrency pool's included) starts unprivileged.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var outcome: Result<T, any Error>?
    Task.detached {
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        done.signal()
    }
    done.wait()
    return try outcome!.get()
}

struct ISPCheckerCommand: ParsableCommand {
    /// On its own, so that `--version` does not build the command tree (nine command types'
    /// metadata) to print it.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "isp-checker",
        abstract: "Checks an Internet connection and tells which part is broken.",
        discussion: "Timing comes from kernel packet timestamps (libpcap) when the process may capture; see README.md.",
        version: version,
        subcommands: [RunCommand.self, LabCommand.self, MonitorCommand.self, PingCommand.self, TraceCommand.self, SweepCommand.self, DNSCommand.self, HTTPCommand.self, TCPCommand.self]
    )
}

/// Every `--json` output of the CLI, in one dialect: the run report's (`RunReport.encoder`:
/// sorted keys, ISO 8601 dates, slashes unescaped). The keys are snake_case because every type
/// written spells them out in its `CodingKeys`; each output has a schema in docs/*.schema.json.
enum JSONOutput {
    /// One JSON document, pretty-printed (`ping`, `trace`, `dns`/`http`/`tcp`, `run`).
    static func document(_ value: some Encodable) throws -> String {
        String(decoding: try RunReport.encoder.encode(value), as: UTF8.self)
    }

    /// The encoder of JSON lines (`sweep --json`): one compact document per line.
    static func linesEncoder() -> JSONEncoder {
        let encoder = RunReport.encoder
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// One line of JSON-lines output.
    static func line(_ value: some Encodable, encoder: JSONEncoder = linesEncoder()) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

// Before anything else: a set-user-ID install would run with its caller's arguments as root.
do { try ProcessPrivileges.refuseSetUserIDInstall() } catch { ISPCheckerCommand.exit(withError: CLIError(error)) }
// `--version`, a plain `trace` and a plain `sweep` skip ArgumentParser's general machinery (QuickParse.swift);
// errors end the way `main()` ends them.
let arguments = Array(CommandLine.arguments.dropFirst())
if QuickParse.isVersionRequest(arguments) {
    output(ISPCheckerCommand.version)
} else if let trace = TraceCommand.quickParse(arguments) {
    do { try trace.run() } catch { ISPCheckerCommand.exit(withError: error) }
} else if let sweep = SweepCommand.quickParse(arguments) {
    do { try sweep.run() } catch { ISPCheckerCommand.exit(withError: error) }
} else {
    ISPCheckerCommand.main(arguments)
}
