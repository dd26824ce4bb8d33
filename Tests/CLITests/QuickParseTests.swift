import ArgumentParser
import Testing
@testable import isp_checker

/// `trace` read by QuickParse must be exactly the command ArgumentParser reads, field by field
/// (the description of a parsed command lists every property, so a property QuickParse forgot
/// shows as an unparsed definition and fails the comparison); anything QuickParse cannot read
/// plainly must be left to ArgumentParser.
@Suite struct QuickParseTests {
    static let plainTraces: [[String]] = [
        ["trace", "10.99.4.2"],
        ["trace", "example.net", "-M", "icmp"],
        ["trace", "-M", "tcp", "-p", "443", "192.0.2.1"],
        ["trace", "--method=udp", "--port=33000", "2001:db8::1", "--json"],
        ["trace", "10.0.0.1", "-m", "12", "-f", "2", "-c", "5", "-W", "0.5", "--rate", "200", "-i", "0.2"],
        ["trace", "10.0.0.1", "--max-hops", "64", "--first-hop", "64", "--rounds", "100000", "--timeout", "3600", "--interval", "0"],
        ["trace", "10.0.0.1", "--full-wait", "--classic", "-r", "--no-path-cache", "-4"],
        ["trace", "--resolve", "-6", "host", "--no-capture", "--unprivileged", "--keep-capabilities"],
        ["trace", "host", "--capture", "--capture-interface", "eth0", "--netns", "lab-c", "--user", "nobody:nogroup"],
        ["trace", "host", "--timeout=1e-3", "--user=daemon"],
        ["trace", "host", "--report", "--color", "never"],
        ["trace", "host", "--color=always", "-c", "3"],
    ]

    @Test(arguments: plainTraces)
    func plainTraceArgumentsReadAsArgumentParserReadsThem(_ arguments: [String]) throws {
        let quick = try #require(TraceCommand.quickParse(arguments))
        let full = try #require(try ISPCheckerCommand.parseAsRoot(arguments) as? TraceCommand)
        #expect(quick == full.request)
    }

    /// Every option of `trace` (and of its groups) has its field in TraceRequest: a new option
    /// left out of it would be read and then ignored.
    @Test func everyTraceOptionHasAPlainField() throws {
        let full = try #require(try ISPCheckerCommand.parseAsRoot(["trace", "host"]) as? TraceCommand)
        // Property wrappers reflect as `_name`.
        let groups = ["_family", "_engineOptions"]
        let commandFields = Mirror(reflecting: full).children.filter { !groups.contains($0.label ?? "") }.count
        let familyFields = Mirror(reflecting: full.family).children.count
        let engineFields = Mirror(reflecting: full.engineOptions).children.count - 1 + Mirror(reflecting: full.engineOptions.privileges).children.count
        let requestFields = Mirror(reflecting: full.request).children.count - 1 + Mirror(reflecting: full.request.engine).children.count
        #expect(commandFields == 16 && familyFields == 2 && engineFields == 7)
        #expect(commandFields + familyFields + engineFields == requestFields)
    }

    static let leftToArgumentParser: [[String]] = [
        ["trace"],                                   // no target: ArgumentParser's usage error
        ["trace", "a", "b"],                         // two targets
        ["trace", "host", "--help"], ["trace", "-h"], // help
        ["trace", "host", "--bogus"],                // unknown option
        ["trace", "host", "-W"],                     // value missing
        ["trace", "host", "-W", "-1"],               // a value that looks like an option
        ["trace", "host", "-W", "x"],                // does not convert
        ["trace", "host", "-M", "gre"],              // not a method
        ["trace", "host", "-c", "2", "-c", "3"],     // repeated
        ["trace", "host", "-r4"],                    // combined short flags
        ["trace", "host", "--json=yes"],             // a flag with a value
        ["trace", "--", "host"],                     // terminator
        ["trace", ""],                               // empty target
        ["trace", "host", "-W", "0"],                // fails validation: ArgumentParser words it
        ["trace", "host", "-M", "tcp"],              // tcp without --port
        ["trace", "host", "-4", "-6"],               // families exclude each other
        ["trace", "host", "--capture", "--no-capture"],
        ["trace", "host", "--user", "nobody:"],   // not USER or USER:GROUP
        ["trace", "host", "--color", "sometimes"],   // not a colour choice
        ["ping", "host"], ["--version", "trace"], [],
    ]

    @Test(arguments: leftToArgumentParser)
    func anythingElseIsLeftToArgumentParser(_ arguments: [String]) {
        #expect(TraceCommand.quickParse(arguments) == nil)
    }

    static let plainSweeps: [[String]] = [
        ["sweep", "10.77.128.0/20"],
        ["sweep", "--targets", "/tmp/targets.txt", "-c", "1", "--rate", "10000000", "-W", "0.5", "-q"],
        ["sweep", "10.0.0.1", "192.0.2.0/30", "2001:db8::1", "--json"],
        ["sweep", "--targets=/tmp/t", "--timeout", "2", "-s", "1400", "--quiet"],
        ["sweep", "10.0.0.1", "--size=12"],
        ["sweep", "10.0.0.1", "--capture", "--capture-interface", "eth0", "--netns", "lab-c", "--user", "nobody:nogroup", "--keep-capabilities"],
        ["sweep", "10.0.0.1", "--no-capture", "--unprivileged", "--rate=1"],
    ]

    @Test(arguments: plainSweeps)
    func plainSweepArgumentsReadAsArgumentParserReadsThem(_ arguments: [String]) throws {
        let quick = try #require(SweepCommand.quickParse(arguments))
        let full = try #require(try ISPCheckerCommand.parseAsRoot(arguments) as? SweepCommand)
        #expect(String(describing: quick) == String(describing: full))
        #expect(!String(describing: quick).contains("definition"))
    }

    static let sweepsLeftToArgumentParser: [[String]] = [
        ["sweep"],                                    // no targets: validation fails
        ["sweep", "10.0.0.1", "--trace"],             // trace options
        ["sweep", "10.0.0.1", "--trace-all", "-m", "8"],
        ["sweep", "10.0.0.1", "--rate", "0"],         // out of range
        ["sweep", "10.0.0.1", "-c", "x"],             // does not convert
        ["sweep", "10.0.0.1", "-q", "-q"],            // repeated
        ["sweep", "10.0.0.1", "--count", "3"],        // -c has no long spelling: unknown option
        ["sweep", "10.0.0.1", "--help"],
        ["sweep", "10.0.0.1", "--capture", "--no-capture"],
        ["trace", "10.0.0.1"],
    ]

    @Test(arguments: sweepsLeftToArgumentParser)
    func sweepsQuickParseCannotReadAreLeftToArgumentParser(_ arguments: [String]) {
        #expect(SweepCommand.quickParse(arguments) == nil)
    }

    @Test func onlyAVersionRequestAloneIsAnsweredQuickly() {
        #expect(QuickParse.isVersionRequest(["--version"]))
        #expect(!QuickParse.isVersionRequest(["--version", "trace"]))
        #expect(!QuickParse.isVersionRequest(["trace", "--version"]))
        #expect(!QuickParse.isVersionRequest([]))
    }
}
