import Foundation
import ISPChecker
import TestSupport
import Testing

/// A lab with real DNS and web servers in its destination namespace, for the dns, http and
/// tcp probes. The servers listen on extra addresses of the destination's loopback (the lab
/// routes 10.77.128.0/20 there):
///
/// | address | server |
/// |---|---|
/// | 10.77.128.1 (and fd00:77::1 for DNS) | dnsmasq: `www.lab` → 10.1.2.3, `big.lab` → 100 A records (truncated over UDP), other `.lab` names NXDOMAIN, the rest REFUSED; nginx on 80, 443 (certificate valid 30 days) and 8443 (10 days) |
/// | 10.77.128.3 | unbound: `*.nx.svtest` NXDOMAIN, `*.rf.svtest` REFUSED, `*.sf.svtest` SERVFAIL (forwarded to dnsmasq, which refuses it), everything else REFUSED |
/// | 10.77.128.9 | nothing answers: nftables drops all traffic to it (timeout) |
/// | 10.77.128.1:8081 | filtered: nftables drops TCP to that port |
///
/// Only the servers a test asks for are started. `stop()` (in a `defer`) ends every server
/// and tears the lab down, also when an expectation failed.
final class ServiceLab {
    let lab: Lab
    let directory: String
    private var servers: [Subprocess] = []

    static let good = "10.77.128.1"
    /// dnsmasq listens here too.
    static let good6 = "fd00:77::1"
    static let rcodes = "10.77.128.3"
    static let dropped = "10.77.128.9"
    /// r1 answers ICMP net unreachable for 10.66.0.0/16.
    static let unreachable = "10.66.0.53"

    struct Servers: OptionSet {
        let rawValue: Int
        static let dnsmasq = Servers(rawValue: 1)
        static let unbound = Servers(rawValue: 2)
        static let nginx = Servers(rawValue: 4)
    }

    init(_ name: String, servers wanted: Servers) throws {
        // idealised: the DNS/HTTP/TCP tests assert one typed outcome per exchange, some of them an
        // ICMP unreachable from r1 (10.66.0.53) that the kernel's per-destination limit could thin.
        lab = try Lab.up(name, routers: 1, realistic: false)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-\(name)-\(getpid())").path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for address in [Self.good, Self.rcodes, Self.dropped] {
                try lab.exec("d", ["ip", "addr", "add", "\(address)/32", "dev", "lo"])
            }
            try lab.exec("d", ["ip", "-6", "addr", "add", "\(Self.good6)/128", "dev", "lo", "nodad"])
            try nft("""
                table inet svlab {
                    chain input {
                        type filter hook input priority 0; policy accept;
                        ip daddr \(Self.dropped) drop
                        ip daddr \(Self.good) tcp dport 8081 drop
                    }
                }
                """)
            // Names for the http tests come from the client's hosts file (lab.sh removes it).
            let hosts = "/etc/netns/\(lab.client)/hosts"
            let existing = (try? String(contentsOfFile: hosts, encoding: .utf8)) ?? ""
            try (existing + "\(Self.good) web.lab\n").write(toFile: hosts, atomically: true, encoding: .utf8)
            if wanted.contains(.dnsmasq) { try startDnsmasq() }
            if wanted.contains(.unbound) { try startUnbound() }
            if wanted.contains(.nginx) { try startNginx() }
        } catch {
            stop()
            throw error
        }
    }

    func stop() {
        for server in servers { server.terminate() }
        for server in servers { server.wait() }
        servers.removeAll()
        lab.down()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs the CLI in the client namespace.
    func cli(_ arguments: [String]) throws -> CommandOutput {
        try lab.exec("c", [cliPath] + arguments, check: false)
    }

    private func nft(_ ruleset: String) throws {
        let path = directory + "/rules.nft"
        try ruleset.write(toFile: path, atomically: true, encoding: .utf8)
        try lab.exec("d", ["nft", "-f", path])
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func start(_ arguments: [String], listening address: String, port: Int, udp: Bool = false) throws {
        let server = try Subprocess("/usr/sbin/ip", ["netns", "exec", lab.namespace("d")] + arguments)
        servers.append(server)
        // Ready once the socket is bound: `ss` in the destination namespace lists it.
        for _ in 0..<100 {
            let listing = try lab.exec("d", ["ss", "-Hn", udp ? "-lu" : "-lt"], check: false).stdout
            if listing.contains("\(address):\(port) ") { return }
            guard server.isRunning else { throw HarnessError.failed("\(arguments[0]) exited: \(server.stderr)") }
            usleep(50_000)
        }
        throw HarnessError.failed("\(arguments[0]) did not listen on \(address):\(port): \(server.stderr)")
    }

    private func startDnsmasq() throws {
        var hosts = "10.1.2.3 www.lab\n"
        for index in 1...100 { hosts += "10.5.0.\(index) big.lab\n" }
        let hostsPath = try write("dnsmasq.hosts", hosts)
        // --no-resolv and no --server: it never forwards; names outside .lab are REFUSED.
        try start(["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--addn-hosts=\(hostsPath)",
                   "--listen-address=\(Self.good),\(Self.good6)", "--bind-interfaces", "--local=/lab/", "--pid-file=\(directory)/dnsmasq.pid",
                   "--log-facility=\(directory)/dnsmasq.log", "--user=root"],
                  listening: Self.good, port: 53)
    }

    private func startUnbound() throws {
        let config = try write("unbound.conf", """
            server:
              interface: \(Self.rcodes)
              outgoing-interface: \(Self.rcodes)
              port: 53
              do-daemonize: no
              chroot: ""
              username: ""
              directory: "\(directory)"
              pidfile: "\(directory)/unbound.pid"
              use-syslog: no
              logfile: ""
              verbosity: 0
              access-control: 0.0.0.0/0 allow
              do-ip6: no
              module-config: "iterator"
              # Never recurse: everything without a rule below is refused.
              local-zone: "." always_refuse
              local-zone: "nx.svtest." always_nxdomain
              local-zone: "rf.svtest." always_refuse
              local-zone: "sf.svtest." transparent
            forward-zone:
              name: "sf.svtest."
              forward-addr: \(Self.good)
            """)
        try start(["unbound", "-d", "-c", config], listening: Self.rcodes, port: 53)
    }

    /// Writes a self-signed certificate for web.lab and 10.77.128.1, valid `days` days from now.
    func certificate(days: Int, name: String) throws -> (cert: String, key: String) {
        let cert = directory + "/\(name).pem", key = directory + "/\(name).key"
        try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                     "-days", "\(days)", "-subj", "/CN=web.lab",
                                     "-addext", "subjectAltName=DNS:web.lab,IP:\(Self.good)"])
        return (cert, key)
    }

    /// The CA file that trusts the 30-day certificate on 443.
    var trusted30: String { directory + "/cert30.pem" }
    var trusted10: String { directory + "/cert10.pem" }

    private func startNginx() throws {
        let thirty = try certificate(days: 30, name: "cert30")
        let ten = try certificate(days: 10, name: "cert10")
        let root = directory + "/www"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        _ = try write("www/index.html", "hello from the lab\n")
        let temp = directory + "/nginx-tmp"
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        let config = try write("nginx.conf", """
            daemon off;
            master_process off;
            worker_processes 1;
            pid \(directory)/nginx.pid;
            error_log \(directory)/nginx-error.log;
            events { worker_connections 64; }
            http {
              access_log off;
              client_body_temp_path \(temp); proxy_temp_path \(temp); fastcgi_temp_path \(temp);
              uwsgi_temp_path \(temp); scgi_temp_path \(temp);
              ssl_protocols TLSv1.2 TLSv1.3;
              server {
                listen \(Self.good):80;
                listen \(Self.good):443 ssl;
                ssl_certificate \(thirty.cert);
                ssl_certificate_key \(thirty.key);
                root \(root);
                location = /moved { return 302 /index.html; }
                location = /missing { return 404; }
              }
              server {
                listen \(Self.good):8443 ssl;
                ssl_certificate \(ten.cert);
                ssl_certificate_key \(ten.key);
                root \(root);
              }
            }
            """)
        try start(["nginx", "-c", config, "-e", "\(directory)/nginx-error.log"], listening: Self.good, port: 8443)
    }
}

/// A result the dns, http or tcp subcommand prints, with the schema of that JSON.
protocol ServiceResultJSON: Decodable {
    /// docs/NAME.schema.json.
    static var schema: String { get }
}

extension DNSResult: ServiceResultJSON { static var schema: String { "dns" } }
extension HTTPResult: ServiceResultJSON { static var schema: String { "http" } }
extension TCPResult: ServiceResultJSON { static var schema: String { "tcp" } }

/// The JSON of a dns, http or tcp subcommand, checked against its schema before it is decoded.
func decodeServiceJSON<Value: Decodable, Result: ServiceResultJSON>(_ output: CommandOutput, as type: Value.Type, result: Result.Type) throws -> Value {
    let violations = try JSONSchema.violations(of: output, schema: Result.schema)
    guard violations.isEmpty else {
        throw HarnessError.failed("the CLI's JSON does not conform to docs/\(Result.schema).schema.json: \(violations)\n\(output.stdout)")
    }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    do {
        return try decoder.decode(Value.self, from: Data(output.stdout.utf8))
    } catch {
        throw HarnessError.failed("not the CLI's JSON (exit \(output.status)): \(output.stdout)\(output.stderr)")
    }
}

/// The CLI's JSON for one probe: `{"target", "report", "result", "error"}`.
struct ServiceJSON<Result: ServiceResultJSON>: Decodable {
    var target: String
    var report: ProbeReport?
    var result: Result?
    var error: String?

    init(_ output: CommandOutput) throws {
        self = try decodeServiceJSON(output, as: ServiceJSON.self, result: Result.self)
    }
}

/// The CLI's JSON with `--targets FILE`: `{"results": [...]}`.
struct BulkJSON<Result: ServiceResultJSON>: Decodable {
    var results: [ServiceJSON<Result>]

    init(_ output: CommandOutput) throws {
        self = try decodeServiceJSON(output, as: BulkJSON.self, result: Result.self)
    }
}

extension ProbeReport {
    func string(_ key: String) -> String? { if case .string(let value)? = details[key] { return value }; return nil }
    func strings(_ key: String) -> [String]? { if case .strings(let value)? = details[key] { return value }; return nil }
    func int(_ key: String) -> Int? { if case .int(let value)? = details[key] { return value }; return nil }
    func number(_ key: String) -> Double? { details[key]?.number }
}
