import Foundation
import TestSupport

/// A throw-away PostgreSQL cluster: `initdb` into a temporary directory owned by the
/// `postgres` user, `pg_ctl start` on 127.0.0.1 and a free port, `stop()` deletes it all.
final class PostgresCluster: Sendable {
    let directory: String
    let port: Int
    let binDirectory: String
    /// Whether the server was started with `ssl=on` and a certificate from `caCertificatePath`.
    let tls: Bool
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }
    /// The self-signed CA that issued the server's certificate (SAN `localhost`, `127.0.0.1`).
    var caCertificatePath: String { "\(directory)/ca.pem" }

    /// The newest `/usr/lib/postgresql/*/bin` that has `pg_ctl`.
    static let binDirectory: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        return versions.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/pg_ctl") }
    }()

    /// Root (to run the server as `postgres`) and the server binaries.
    static var available: Bool { isRoot && binDirectory != nil && getpwnam("postgres") != nil }

    /// Creates and starts a cluster (off the cooperative pool: initdb takes seconds).
    /// With `tls`, the server has `ssl=on` with a certificate issued by a fresh CA (openssl).
    static func make(tls: Bool = false) async throws -> PostgresCluster {
        try await onOwnThread { try PostgresCluster(tls: tls) }
    }

    /// Starts the stopped server again.
    func restart() async throws {
        try await onOwnThread { try self.start() }
    }

    /// Stops the server, dropping open connections, as when the database goes away.
    func stop() async throws {
        try await onOwnThread { try self.stopServer() }
    }

    private init(tls: Bool) throws {
        guard let binDirectory = Self.binDirectory else { throw HarnessError.failed("no PostgreSQL server binaries") }
        self.binDirectory = binDirectory
        self.tls = tls
        directory = try makeTemporaryDirectory("mn-pg")
        port = try freeLoopbackPort()
        if tls { try Self.makeCertificates(in: directory, prefix: "") }
        try run("/bin/chown", ["-R", "postgres:postgres", directory])
        try asPostgres("\(binDirectory)/initdb", ["-D", "\(directory)/data", "-U", "postgres", "-A", "trust", "--no-sync"])
        try start()
    }

    /// `PREFIXca.pem` (a self-signed CA) and `PREFIXserver.pem`/`PREFIXserver.key` (issued by it
    /// for `localhost` and `127.0.0.1`) in `directory`.
    static func makeCertificates(in directory: String, prefix: String) throws {
        let d = "\(directory)/\(prefix)"
        try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=isp-checker test CA",
                                     "-keyout", "\(d)ca.key", "-out", "\(d)ca.pem"])
        try run("/usr/bin/openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                                     "-keyout", "\(d)server.key", "-out", "\(d)server.csr"])
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: "\(d)san.ext", atomically: true, encoding: .utf8)
        try run("/usr/bin/openssl", ["x509", "-req", "-in", "\(d)server.csr", "-CA", "\(d)ca.pem", "-CAkey", "\(d)ca.key",
                                     "-CAcreateserial", "-days", "2", "-extfile", "\(d)san.ext", "-out", "\(d)server.pem"])
        chmod("\(d)server.key", 0o600)
    }

    func start() throws {
        var options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=on"
        if tls {
            options += " -c ssl=on -c ssl_cert_file=\(directory)/server.pem -c ssl_key_file=\(directory)/server.key"
        }
        try asPostgres("\(binDirectory)/pg_ctl", [
            "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "30", "-o", options, "start",
        ])
    }

    /// Fast shutdown: open connections are dropped, as when the database goes away.
    func stopServer() throws {
        try asPostgres("\(binDirectory)/pg_ctl", ["-D", "\(directory)/data", "-m", "fast", "-w", "stop"])
    }

    /// Stops the server (if running) and deletes the cluster.
    func destroy() {
        _ = try? asPostgres("\(binDirectory)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    private func asPostgres(_ executable: String, _ arguments: [String]) throws -> String {
        try run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments).stdout
    }
}
