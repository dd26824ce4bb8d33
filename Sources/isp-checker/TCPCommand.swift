import ArgumentParser
import ISPChecker

struct TCPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcp",
        abstract: "Connect to host:port and time the handshake: ok, refused, timeout (filtered) or unreachable."
    )

    @Argument(help: "host:port, or [IPv6]:port.")
    var target: String?

    @Option(name: [.customShort("W"), .long], help: "Seconds to wait for the handshake.")
    var timeout = 3.0

    @OptionGroup var family: FamilyFlags
    @OptionGroup var common: ServiceOutputOptions

    func validate() throws {
        try OptionRange.seconds(timeout, flag: "--timeout")
    }

    func run() throws {
        let options = TCPProbeOptions(timeout: .seconds(timeout), family: family.preference, networkNamespace: common.networkNamespace)
        try ServicePrinter.run(single: target, options: common, report: { $0.report }) { (row: ServiceTargets.Row) async throws(ProbeError) -> TCPResult in
            // CSV rows may give the port in the second column: host,port.
            if let port = row.columns.first, !port.isEmpty {
                guard let number = Int(port) else { throw .malformedTarget(row.target, reason: "port '\(port)' is not a number") }
                return try await TCPProbe(options: options).connect(host: row.target, port: number)
            }
            return try await TCPProbe(options: options).connect(row.target)
        }
    }
}
