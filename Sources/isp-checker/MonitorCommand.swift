import ArgumentParser
import ISPCheckerPrimitives
import FoundationEssentials
import ISPChecker
#if canImport(Glibc)
import Glibc
#endif

/// `isp-checker monitor …`: replaces this process with `isp-checker-monitor` from the same
/// directory as this executable, passing every argument through, so that the CLI itself never
/// links the monitor's HTTP server and databases.
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Run the monitor (isp-checker-monitor): scheduled checks, run history, /metrics and the HTTP API.",
        discussion: "Every argument is passed to isp-checker-monitor, found next to isp-checker; see `isp-checker monitor --help` and docs/monitor.md.")

    @Argument(parsing: .captureForPassthrough, help: "Arguments for isp-checker-monitor, e.g. --config checker.yaml.")
    var arguments: [String] = []

    func run() throws {
        let path = Self.monitorExecutablePath()
        guard FileManager.default.isExecutableFile(atPath: path) else {
            errorOutput("isp-checker: error: the monitor executable is missing: \(path) (build or install the isp-checker-monitor product next to isp-checker)\n")
            throw ExitCode(ExitStatus.unavailable)
        }
        let argv = [path] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        execv(path, &cArguments)
        // execv returns only on failure.
        let reason = String(cString: strerror(errno))
        errorOutput("isp-checker: error: cannot run \(path): \(reason)\n")
        throw ExitCode(ExitStatus.unavailable)
    }

    /// `isp-checker-monitor` in the directory of the running executable (/proc/self/exe).
    static func monitorExecutablePath() -> String {
        parentFolder(of: ownExecutablePath) + "/isp-checker-monitor"
    }
}
