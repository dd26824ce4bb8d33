import ArgumentParser
import ISPChecker

struct DNSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns",
        abstract: "Query resolvers directly (UDP, TCP on truncation), failing over in order.",
        discussion: "Without --resolver the runbook's resolvers are asked: 8.8.8.8, 1.1.1.1, then 9.9.9.9, 208.67.222.222."
    )

    @Argument(help: "The name to look up.")
    var name: String?

    @Option(name: [.customShort("t"), .long], help: "Record type: A, AAAA, TXT, MX... or a number.")
    var type = "A"

    @Option(name: [.customShort("r"), .long], help: "Resolver IP[:port], in failover order (repeat the option).")
    var resolver: [String] = []

    @Option(name: [.customShort("W"), .long], help: "Seconds each resolver gets.")
    var timeout = 2.0

    @Option(help: "EDNS UDP payload size to offer; 0 sends no EDNS (512-byte UDP answers).")
    var ednsSize = 1232

    @Flag(help: "Move on to the next resolver on NXDOMAIN too.")
    var failoverOnNxdomain = false

    @Flag(help: "Do not ask for recursion (RD=0), for authoritative servers.")
    var norecurse = false

    @OptionGroup var common: ServiceOutputOptions

    func validate() throws {
        try OptionRange.seconds(timeout, flag: "--timeout")
        guard ednsSize == 0 || (512...65535).contains(ednsSize) else { throw ValidationError("--edns-size must be 0 or 512-65535, got \(ednsSize)") }
        guard DNSRecordType(type) != nil else { throw ValidationError("--type: unknown record type '\(type)'") }
    }

    func run() throws {
        let resolvers: [DNSResolverAddress]
        do { resolvers = try resolver.isEmpty ? DNSResolverAddress.runbookDefault : resolver.map { try DNSResolverAddress(parsing: $0) } } catch {
            throw CLIError(error)
        }
        let options = DNSProbeOptions(resolvers: resolvers, timeoutPerResolver: .seconds(timeout),
                                      ednsUDPPayloadBytes: ednsSize == 0 ? nil : UInt16(ednsSize), recursionDesired: !norecurse,
                                      failoverOnNXDOMAIN: failoverOnNxdomain, networkNamespace: common.networkNamespace)
        let defaultType = DNSRecordType(type) ?? .a
        try ServicePrinter.run(single: name, options: common, report: { $0.report }) { (row: ServiceTargets.Row) async throws(ProbeError) -> DNSResult in
            var queryType = defaultType
            if let column = row.columns.first, !column.isEmpty {
                guard let parsed = DNSRecordType(column) else { throw .invalidArgument(name: "type", reason: "unknown record type '\(column)'") }
                queryType = parsed
            }
            return try await DNSProbe(options: options).query(row.target, type: queryType)
        }
    }
}
