import Foundation
import TestSupport

/// A throw-away PostgreSQL cluster: `initdb` into a temporary directory owned by the
/// `postgres` user, `pg_ctl start` on 127.0.0.1 and a free port, `stop()` deletes it all.
final class PostgresCluster: Sendable {
    let directory: String
    let port: Int
    let binDirectory: String
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    /// The newest `/usr/lib/postgresql/*/bin` that has `pg_ctl`.
    static let binDirectory: String? = {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        return versions.map { "\(root)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/pg_ctl") }
    }()

    /// Root (to run the server as `postgres`) and the server binaries.
    static var available: Bool { isRoot && binDirectory != nil && getpwnam("postgres") != nil }

    /// Creates and starts a cluster (off the cooperative pool: initdb takes seconds).
    static func make() async throws -> PostgresCluster {
        try await onOwnThread { try PostgresCluster() }
    }

    /// Starts the stopped server again.
    func restart() async throws {
        try await onOwnThread { try self.start() }
    }

    /// Stops the server, dropping open connections, as when the database goes away.
    func stop() async throws {
        try await onOwnThread { try self.stopServer() }
    }

    private init() throws {
        guard let binDirectory = Self.binDirectory else { throw HarnessError.failed("no PostgreSQL server binaries") }
        self.binDirectory = binDirectory
        directory = try makeTemporaryDirectory("mn-pg")
        port = try freeLoopbackPort()
        try run("/bin/chown", ["postgres:postgres", directory])
        try asPostgres("\(binDirectory)/initdb", ["-D", "\(directory)/data", "-U", "postgres", "-A", "trust", "--no-sync"])
        try start()
    }

    func start() throws {
        try asPostgres("\(binDirectory)/pg_ctl", [
            "-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "30",
            "-o", "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=on", "start",
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
