import ArgumentParser
import ISPChecker

struct HTTPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "GET or HEAD a URL: DNS, connect, TLS, first byte and total times, status, TLS version, certificate expiry."
    )

    @Argument(help: "http:// or https:// URL.")
    var url: String?

    @Flag(help: "HEAD instead of GET.")
    var head = false

    @Option(help: "Status code that counts as success (repeat for several; default 200-399).")
    var expectStatus: [Int] = []

    @Option(help: "Text the body must contain.")
    var bodyContains: String?

    @Option(help: "PEM file of trusted CA certificates instead of the system store.")
    var cacert: String?

    @Flag(name: [.customShort("k"), .long], help: "Do not verify the certificate (its expiry is still read).")
    var insecure = false

    @Flag(help: "Do not follow redirects.")
    var noFollow = false

    @Option(help: "Most redirects to follow.")
    var maxRedirects = 5

    @Option(name: [.customShort("W"), .long], help: "Seconds for the whole transfer.")
    var timeout = 10.0

    @Option(help: "Certificates expiring sooner than this many days give warn.")
    var certWarnDays = 14

    @OptionGroup var family: FamilyFlags
    @OptionGroup var common: ServiceOutputOptions

    func validate() throws {
        try OptionRange.seconds(timeout, flag: "--timeout")
        try OptionRange.integer(maxRedirects, flag: "--max-redirects", 0...100)
        try OptionRange.integer(certWarnDays, flag: "--cert-warn-days", 0...36_500, unit: "days")
        for code in expectStatus { try OptionRange.integer(code, flag: "--expect-status", 100...599) }
    }

    func run() throws {
        let options = HTTPProbeOptions(
            method: head ? .head : .get, followRedirects: !noFollow, maxRedirects: maxRedirects, timeout: .seconds(timeout),
            connectTimeout: .seconds(min(timeout, 5)), verifyCertificate: !insecure, caFile: cacert,
            expectedStatusCodes: expectStatus.isEmpty ? nil : Set(expectStatus), bodyContains: bodyContains,
            family: family.preference, certificateWarningDays: certWarnDays, networkNamespace: common.networkNamespace)
        try ServicePrinter.run(single: url, options: common, report: { $0.report }) { (row: ServiceTargets.Row) async throws(ProbeError) -> HTTPResult in
            var rowOptions = options
            if let column = row.columns.first, !column.isEmpty {
                guard let code = Int(column) else { throw .invalidArgument(name: "expected status", reason: "'\(column)' is not a number") }
                rowOptions.expectedStatusCodes = [code]
            }
            return try await HTTPProbe(options: rowOptions).fetch(row.target)
        }
    }
}
