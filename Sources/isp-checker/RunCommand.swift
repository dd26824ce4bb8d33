import ArgumentParser
import FoundationEssentials
import ISPChecker

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Checks a target: ping, traceroute, DNS (and HTTP with --url), then a health score and a diagnosis.",
        discussion: """
        The score runs from 0 (healthy) to 100 (complete outage), as in the operations runbook. \
        Exit status: 0 every probe ok, 1 a warning, 2 a critical probe; 64 and above are errors \
        (64 usage, 66 unreadable input, 68 unresolvable target, 69 unavailable, 77 permission).
        """
    )

    enum Mode: String, ExpressibleByArgument, CaseIterable { case live, replay }

    @Option(help: "Host name or IPv4/IPv6 address to check (live), or the flow to pick from a capture (replay).")
    var target: String?

    @Option(help: "live: probe now; replay: re-score saved data from --input.")
    var mode: Mode = .live

    @Option(help: "replay: a run report (JSON, as --output writes it), mtr --json/--csv, scamper JSON, RIPE Atlas results (JSON) or a packet capture (pcap/pcapng).")
    var input: String?

    @Option(name: .customLong("output"), help: "Also write the run report as JSON to this file.")
    var outputFile: String?

    @Flag(help: "Print the run report as JSON instead of the summary.")
    var json = false

    @Flag(help: "Print only the summary at the end, without the probes' live states a terminal gets.")
    var report = false

    @Option(help: "Colour the live states: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorChoice = .auto

    @Flag(name: .customLong("incident-report"), help: "Print the runbook's incident ticket (section 3.1.2, markdown) for the run instead of the summary; with --mode replay, for a saved report.")
    var incidentReport = false

    @Option(name: [.customShort("c"), .long], help: "Echo requests of the ping probe.")
    var count = 10

    @Option(name: [.customShort("i"), .long], help: "Seconds between echo requests.")
    var interval = 0.2

    @Option(name: [.customShort("W"), .long], help: "Seconds each ping and traceroute probe waits for its answer.")
    var timeout = 1.0

    @Flag(help: "Skip the traceroute.")
    var noTrace = false

    @Option(help: "Traceroute method: udp (default), icmp or tcp; replay: which trace to pick from a capture.")
    var traceMethod: TraceCommand.Method?

    @Option(help: "Destination port of a tcp traceroute.")
    var tracePort: UInt16 = 443

    @Option(help: "Traceroute rounds, half a second apart (more rounds tell loss from ICMP rate limiting better).")
    var rounds = 10

    @Option(help: "Name the DNS probe resolves (default: the target when it is a name).")
    var dnsName: String?

    @Option(name: .customLong("resolver"), help: "A DNS resolver to query directly, in failover order (repeatable; default: the runbook's 8.8.8.8, 1.1.1.1, 9.9.9.9, 208.67.222.222).")
    var resolvers: [String] = []

    @Flag(help: "Skip the DNS probe.")
    var noDNS = false

    @Option(help: "An http:// or https:// URL for the HTTP probe.")
    var url: String?

    @Flag(name: .customLong("path-mtu"), help: "Probe the path MTU and look for an MTU black hole (by default only when a TCP or HTTP probe fails while ping works; costs about four --timeout on a path that loses large packets).")
    var pathMTU = false

    @Flag(name: .customLong("dns-interception"), help: "Look for a middlebox answering DNS in the first resolver's place (its id.server identity; implied by the --dns-* options below).")
    var dnsInterception = false

    @Option(name: .customLong("resolver-identity"), help: "The first resolver's known id.server / hostname.bind answer: another one means interception.")
    var resolverIdentity: String?

    @Option(name: .customLong("dns-canary"), help: "An address that runs no resolver: an answer from it means interception.")
    var dnsCanary: String?

    @Option(name: .customLong("dns-expect"), help: "An answer the first resolver is known to give for --dns-name (repeatable): others mean interception.")
    var dnsExpect: [String] = []

    @Option(name: .customLong("captive-portal-url"), help: "An http:// URL with a fixed answer (like generate_204): another answer means a captive portal.")
    var captivePortalURL: String?

    @Option(name: .customLong("captive-portal-status"), help: "The status --captive-portal-url answers with.")
    var captivePortalStatus = 204

    @Option(name: .customLong("captive-portal-body"), help: "Text --captive-portal-url's page holds (for a URL answering 200).")
    var captivePortalBody: String?
    @Option(name: .customLong("bufferbloat"), help: ArgumentHelp("Measure latency under load: RTT to every hop while a bulk TCP flow to HOST:PORT (a server that sinks and sources bytes, e.g. lab/bulk_server.py) uploads, then downloads. Off by default: it loads your link for twice --bufferbloat-seconds.", valueName: "host:port"))
    var bufferbloatServer: String?

    @Option(name: .customLong("bufferbloat-seconds"), help: "How long each direction's flow of --bufferbloat runs, 2 ... 60 s.")
    var bufferbloatSeconds: Double = 4

    @Option(name: .customLong("history"), help: ArgumentHelp("An earlier run report of the target (JSON, as --output writes it; repeatable, any order): the baseline to compare with, and a path change that came with new loss is named in the diagnosis.", valueName: "report.json"))
    var historyFiles: [String] = []

    @Flag(name: .customLong("ecmp"), help: "Enumerate the parallel (ECMP) paths to the target (MDA-lite: Paris traces of up to 16 flows, 95 % confidence) and measure each path's loss and RTT with 40 TCP probes: says when only one of several paths loses. Off by default: it adds a few seconds.")
    var ecmp = false

    @OptionGroup var family: FamilyFlags

    @OptionGroup var engineOptions: EngineOptions

    func validate() throws {
        switch mode {
        case .live:
            guard let target, !target.allSatisfy(\.isWhitespace) else {
                throw ValidationError("--mode live needs --target HOST")
            }
            if input != nil { throw ValidationError("--input is for --mode replay") }
        case .replay:
            guard input != nil else { throw ValidationError("--mode replay needs --input report.json or capture.pcap") }
        }
        if json && incidentReport { throw ValidationError("give either --json or --incident-report, not both") }
        try OptionRange.integer(count, flag: "--count", 1...1_000_000)
        try OptionRange.seconds(interval, flag: "--interval", allowsMinimum: true)
        try OptionRange.seconds(timeout, flag: "--timeout")
        try OptionRange.integer(rounds, flag: "--rounds", 1...100_000)
        guard tracePort > 0 else { throw ValidationError("--trace-port must be 1 ... 65535, got 0") }
        guard bufferbloatSeconds.isFinite, (2...60).contains(bufferbloatSeconds) else {
            throw ValidationError("--bufferbloat-seconds must be 2 ... 60, got \(bufferbloatSeconds)")
        }
    }

    func run() throws {
        // Opened before the privileges go (sudo isp-checker run --output /root/report.json),
        // written once the report is ready.
        let outputHandle = try outputFile.map(Self.openOutput)
        // Read now (the files may be root's), decoded once the privileges are gone.
        let historyTexts = try historyFiles.map(Self.readHistoryFile)
        let report: RunReport
        switch mode {
        case .replay:
            // Nothing here needs a privilege, and libpcap and the decoders parse a file from
            // anywhere: the input is read as the unprivileged user.
            if !engineOptions.keepCapabilities { do { try engineOptions.privileges.drop() } catch { throw CLIError(error) } }
            report = try replay(history: try Self.decodeHistory(historyTexts))
        case .live: report = try live(historyTexts: historyTexts)
        }
        let data = try RunReport.encoder.encode(report)
        if let outputHandle, let outputFile {
            do { try TextFile.write(String(decoding: data, as: UTF8.self), toDescriptor: outputHandle, path: outputFile) } catch {
                errorOutput("isp-checker: error: cannot write '\(outputFile)': \(error.reason)\n")
                throw ExitCode(ExitStatus.noInput)
            }
        }
        if incidentReport {
            // The monitor's renderer (IncidentDocuments): the same ticket for one run as for an incident.
            output(IncidentDocuments.ticket(IncidentTracker.incident(fromSingleRun: report), reporter: "isp-checker run", now: report.timestamp))
        } else {
            output(json ? String(decoding: data, as: UTF8.self) : ReportText.render(report))
        }
        throw ExitStatus.of(report.worstStatus)
    }

    /// The --output file, created (0644) or opened for writing; truncated when written.
    static func openOutput(_ path: String) throws -> Int32 {
        do { return try TextFile.openForWriting(path) } catch {
            errorOutput("isp-checker: error: cannot write '\(path)': \(error.reason)\n")
            throw ExitCode(ExitStatus.noInput)
        }
    }

    /// A --history file's text, at most 16 MiB (a run report is a few kB), or exit 66 saying why.
    static func readHistoryFile(_ path: String) throws -> (path: String, text: String) {
        do { return (path, try TextFile.read(path, limit: 16 << 20)) } catch {
            errorOutput("isp-checker: error: cannot read --history '\(path)': \(error.reason)\n")
            throw ExitCode(ExitStatus.noInput)
        }
    }

    /// The --history files as run reports, or exit 66 naming the file that is not one.
    static func decodeHistory(_ texts: [(path: String, text: String)]) throws -> [RunReport] {
        try texts.map { file in
            do { return try RunReport.decoder.decode(RunReport.self, from: Data(file.text.utf8)) } catch {
                errorOutput("isp-checker: error: --history '\(file.path)' is not a run report (JSON as --output writes it): \(error)\n")
                throw ExitCode(ExitStatus.noInput)
            }
        }
    }

    private func live(historyTexts: [(path: String, text: String)]) throws -> RunReport {
        let engine: ProbeEngine
        do { engine = try engineOptions.makeEngine() } catch { throw CLIError(error) }
        let history = try Self.decodeHistory(historyTexts)
        // Bad names, resolvers and URLs are usage errors here, before anything is sent.
        var options: HealthCheckOptions
        do { options = try checkPlan().healthCheckOptions() } catch { throw CLIError(error) }
        options.pathMTU = pathMTU ? .always : .onSymptom
        // A name with IPv4 and IPv6 addresses is checked in both (not with -4/-6): one verdict each.
        options.eachFamily = true
        if let bufferbloatServer {
            // A quarter of each flow (at most 1 s) for TCP to fill the queue before samples count.
            let flow = Duration.milliseconds(Int64((bufferbloatSeconds * 1000).rounded()))
            options.bufferbloat = BufferbloatOptions(server: bufferbloatServer, flowDuration: flow, warmUp: min(.seconds(1), flow / 4))
        }
        if ecmp { options.ecmp = ECMPOptions() }
        let checked = options
        let checker = HealthChecker(engine: engine)
        if !json && !report && !incidentReport && standardOutputIsTerminal {
            return try LiveRun.check(checker, options: options, history: history, color: color)
        }
        do {
            return try runBlocking { () async throws -> RunReport in try await checker.check(checked, history: history) }
        } catch { throw CLIError(error) }
    }

    /// The check the options describe: the library's plan, so `run` checks a target as the monitor does.
    func checkPlan() -> CheckPlan {
        var trace: TraceOptions?
        if !noTrace {
            trace = HealthCheckOptions.defaultTrace
            trace?.method = switch traceMethod ?? .udp {
            case .udp: .udp
            case .icmp: .icmp
            case .tcp: .tcp(port: tracePort)
            }
            trace?.rounds = rounds
        }
        var plan = CheckPlan(
            host: target ?? "", dnsName: dnsName, probesDNS: !noDNS, resolvers: resolvers, url: url,
            pingCount: count, pingInterval: .seconds(interval), trace: trace, timeouts: CheckPlan.Timeouts(probe: .seconds(timeout)),
            family: family.preference, networkNamespace: engineOptions.networkNamespace)
        if dnsInterception || resolverIdentity != nil || dnsCanary != nil || !dnsExpect.isEmpty {
            plan.dnsInterception = DNSInterceptionPlan(expectedIdentity: resolverIdentity, canary: dnsCanary, expectedAnswers: dnsExpect)
        }
        if let captivePortalURL {
            plan.captivePortal = CaptivePortalPlan(url: captivePortalURL, expectedStatus: captivePortalStatus, expectedBody: captivePortalBody)
        }
        return plan
    }

    private func replay(history: [RunReport]) throws -> RunReport {
        let path = input ?? ""
        let analyzer = HealthAnalyzer()
        // Opened once and checked on its descriptor: a FIFO or /dev/zero is refused, not read forever.
        let file: ReplayFile
        do { file = try ReplayFile(path: path) } catch { throw CLIError(error) }
        // The kind is told by the content (docs/replay.md, Imports): a capture by its magic number;
        // a run report, mtr, scamper or RIPE Atlas results by their text.
        let head: [UInt8]
        do { head = try file.head() } catch { throw CLIError(error) }
        if !Importer.isCapture(head: head) {
            guard Importer.looksLikeText(head: head) else {
                throw CLIError(ImportError.unknownFormat(path: path, reason: "it is neither JSON, mtr CSV nor a capture"))
            }
            let bytes: [UInt8]
            do { bytes = try file.reportBytes() } catch { throw CLIError(error) }
            let kind: ReplayInputKind
            do { kind = try Importer.kind(of: bytes, path: path) } catch { throw CLIError(error) }
            if case .imported(let format) = kind {
                do {
                    return analyzer.analyze(try Importer.select(try Importer.runs(from: bytes, format: format, file: path), target: target))
                } catch { throw CLIError(error) }
            }
            do {
                return analyzer.reanalyze(try RunReport.decoder.decode(RunReport.self, from: Data(bytes)), history: history)
                    .replayed(tool: "isp-checker", format: "run_report", file: path)
            } catch {
                errorOutput("isp-checker: error: '\(path)' is not a run report: \(error)\n")
                throw ExitCode(ExitStatus.noInput)
            }
        }
        let contents: CaptureContents
        do { contents = try CaptureReplay.contents(from: file) } catch { throw CLIError(error) }
        let method: TraceMethod? = traceMethod.map { switch $0 { case .udp: .udp; case .icmp: .icmp; case .tcp: .tcp(port: tracePort) } }
        let (ping, trace): (PingResult?, TraceResult?)
        switch contents.choose(target: target, method: method) {
        case .chosen(let chosenPing, let chosenTrace): (ping, trace) = (chosenPing, chosenTrace)
        case .empty:
            errorOutput("isp-checker: error: '\(path)' has no echo traffic nor traceroute probes at all\n")
            throw ExitCode(ExitStatus.noInput)
        case .noFlow(let wanted, let flows):
            errorOutput("isp-checker: error: no ping nor traceroute to '\(wanted)' in '\(path)'; it has:\n\(Self.flowTable(flows))")
            throw ExitCode(ExitStatus.noInput)
        case .ambiguous(let flows):
            errorOutput("isp-checker: error: '\(path)' has \(flows.count) flows; pick one with --target ADDRESS "
                + "(and --trace-method when one destination has several traces):\n\(Self.flowTable(flows))")
            throw ExitCode(ExitStatus.usage)
        }
        var report = analyzer.analyze(target: trace?.target ?? ping?.target ?? "", ping: ping, trace: trace)
        report.mode = .replay
        return report.replayed(tool: "capture", format: "pcap", file: path)
    }

    /// The flows of a capture, one a line: kind, method, source → destination, probes, first time.
    static func flowTable(_ flows: [CaptureFlow]) -> String {
        let rows = flows.map { flow in
            let seconds = Double(flow.firstNanoseconds) / 1_000_000_000
            return [flow.kind.rawValue, flow.method.description, "\(flow.source) -> \(flow.destination)", "\(flow.probes)",
                    Date(timeIntervalSince1970: seconds).formatted(.iso8601)]
        }
        let header = ["kind", "method", "source -> destination", "probes", "first"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            "  " + row.enumerated().map { column, text in column == row.count - 1 ? text : padRight(text, widths[column]) }
                .joined(separator: "  ") + "\n"
        }.joined()
    }
}
