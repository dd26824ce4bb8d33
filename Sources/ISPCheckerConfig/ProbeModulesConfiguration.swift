import ISPChecker
import Yams

/// Reads the `modules:` section: the modules `GET /probe?target=T&module=M` runs, as
/// blackbox_exporter's configuration names them (docs/monitor.md, "The /probe endpoint").
///
/// ```yaml
/// modules:
///   icmp_burst:           # a module's name: letters, digits, _ and -
///     prober: icmp        # icmp | trace | dns | http | tcp | check; may be left out when the name is one of them
///     count: 50
///     interval: 20ms
///     timeout: 500ms
///   dns_lab:
///     prober: dns
///     query_name: check.lab   # the target is then the resolver
///     query_type: AAAA
///   icmp:                 # replaces the built-in icmp module
///     count: 20
/// ```
///
/// Every module of `ProbeModule.builtIn` exists unless replaced. Each prober takes only the keys
/// it reads (a key another prober reads is refused, with the keys this one takes): a misspelt
/// or misplaced setting is never ignored silently.
enum ProbeModulesConfiguration {
    static let key = "modules"

    /// The keys each prober reads, besides `prober` and `timeout`.
    static let keys: [ProbeModule.Prober: [String]] = [
        .icmp: ["count", "interval", "family"],
        .trace: ["rounds", "max_hops", "family"],
        .dns: ["query_name", "query_type", "resolvers"],
        .http: ["valid_status_codes", "family"],
        .tcp: ["family"],
        .check: ["count", "interval", "rounds", "max_hops", "resolvers", "family"],
    ]

    /// The built-in modules with the file's added or replacing them; problems go to `problems`.
    static func read(_ node: Node?, problems: inout [ConfigurationProblem]) -> [String: ProbeModule] {
        var modules = ProbeModule.builtIn
        guard let node else { return modules }
        guard case .mapping(let mapping) = node else {
            problems.append(ConfigurationProblem(key: key, line: node.mark?.line, column: node.mark?.column,
                                                 reason: "expected a mapping of module names to modules, got \(MappingReader.describe(node))"))
            return modules
        }
        var seen: Set<String> = []
        for (nameNode, body) in mapping {
            guard let name = nameNode.string, !name.isEmpty else {
                problems.append(ConfigurationProblem(key: key, line: nameNode.mark?.line, column: nameNode.mark?.column,
                                                     reason: "a module's name must be a string"))
                continue
            }
            let path = "\(key).\(name)"
            guard name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0)
                                         || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                problems.append(ConfigurationProblem(key: path, line: nameNode.mark?.line, column: nameNode.mark?.column,
                                                     reason: "a module's name takes letters, digits, _ and - only (it goes in a URL)"))
                continue
            }
            guard seen.insert(name).inserted else {
                problems.append(ConfigurationProblem(key: path, line: nameNode.mark?.line, column: nameNode.mark?.column, reason: "appears twice"))
                continue
            }
            var reader = MappingReader(body, path: path)
            if let module = readModule(name: name, at: nameNode, &reader) { modules[name] = module }
            problems += reader.problems
        }
        return modules
    }

    private static func readModule(name: String, at nameNode: Node, _ reader: inout MappingReader) -> ProbeModule? {
        let probers = ProbeModule.Prober.allCases.map(\.rawValue)
        let proberName = reader.choice("prober", from: probers) ?? (reader.mark(of: "prober") == nil ? name : nil)
        guard let prober = proberName.flatMap(ProbeModule.Prober.init(rawValue:)) else {
            if reader.mark(of: "prober") == nil {
                reader.addProblem(ConfigurationProblem(key: reader.full("prober"), line: nameNode.mark?.line, column: nameNode.mark?.column,
                                                       reason: "module \(name) needs a prober: one of \(probers.joined(separator: ", "))"))
            }
            return nil
        }
        var module = ProbeModule(prober: prober)
        if let value = reader.duration("timeout") { module.timeout = value }
        let takes = keys[prober] ?? []
        if takes.contains("count"), let value = reader.int("count") { module.count = value }
        if takes.contains("interval"), let value = reader.duration("interval") { module.interval = value }
        if takes.contains("rounds"), let value = reader.int("rounds") { module.rounds = value }
        if takes.contains("max_hops"), let value = reader.int("max_hops") { module.maxHops = value }
        if takes.contains("family"), let value = reader.choice("family", from: ["any", "ipv4", "ipv6"]) {
            module.family = FamilyPreference(rawValue: value) ?? .any
        }
        if takes.contains("query_name") { module.queryName = reader.string("query_name") }
        if takes.contains("query_type"), let text = reader.string("query_type") {
            if let type = DNSRecordType(text) { module.queryType = type } else {
                let mark = reader.mark(of: "query_type")
                reader.addProblem(ConfigurationProblem(key: reader.full("query_type"), line: mark?.line, column: mark?.column,
                                                       reason: "'\(text)' is not a DNS record type (A, AAAA, MX, TXT, TYPE65 …)"))
            }
        }
        if takes.contains("resolvers"), let value = reader.strings("resolvers") { module.resolvers = value }
        if takes.contains("valid_status_codes") { module.validStatusCodes = readStatusCodes(&reader) }
        // Range and syntax checks of the values read, at their keys' lines.
        for problem in module.problems {
            let mark = reader.mark(of: problem.key)
            reader.addProblem(ConfigurationProblem(key: reader.full(problem.key), line: mark?.line, column: mark?.column,
                                                   reason: problem.reason))
        }
        reader.rejectUnknownKeys(known: "the \(prober.rawValue) prober takes " + (["prober", "timeout"] + takes).joined(separator: ", "))
        return module
    }

    private static func readStatusCodes(_ reader: inout MappingReader) -> Set<Int>? {
        guard let node = reader.node("valid_status_codes") else { return nil }
        guard case .sequence(let items) = node else {
            reader.addProblem(reader.problem(reader.full("valid_status_codes"), at: node,
                                             "expected a list of status codes such as [200, 204], got \(MappingReader.describe(node))"))
            return nil
        }
        var codes: Set<Int> = []
        for item in items {
            if case .scalar = item, let code = item.int { codes.insert(code) } else {
                reader.addProblem(reader.problem(reader.full("valid_status_codes"), at: item,
                                                 "expected a whole number, got \(MappingReader.describe(item))"))
            }
        }
        return codes.isEmpty ? nil : codes
    }
}
