import Foundation
@testable import ISPCheckerMonitor
import Testing

/// The URL's `sslmode`/`sslrootcert` against a real PostgreSQL with `ssl=on` and a certificate
/// from a CA made for the test (openssl).
@Suite("PostgreSQL TLS", .enabled(if: PostgresCluster.available, "needs root and the PostgreSQL server (Debian postgresql)"))
struct PostgresTLSTests {
    /// Whether the store's connection is encrypted, as the server sees it (`pg_stat_ssl`).
    private func connectionUsesTLS(_ url: String) async throws -> Bool {
        let store = try PostgresRunStore(url: url, operationTimeout: .seconds(5))
        let pool = Task { try await store.run() }
        defer { pool.cancel() }
        var encrypted: Bool?
        let rows = try await store.client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        for try await value in rows.decode(Bool.self) { encrypted = value }
        return try #require(encrypted as Bool?, "no pg_stat_ssl row for this connection")
    }

    private func pingSucceeds(_ url: String) async throws -> Bool {
        let store = try PostgresRunStore(url: url, operationTimeout: .seconds(5))
        let pool = Task { try await store.run() }
        defer { pool.cancel() }
        do { try await store.ping(); return true } catch { return false }
    }

    @Test("against a TLS server: verify-full with its CA, require and the default (prefer) encrypt; disable does not")
    func modesAgainstTLSServer() async throws {
        let cluster = try await PostgresCluster.make(tls: true)
        defer { cluster.destroy() }
        let ca = cluster.caCertificatePath
        #expect(try await connectionUsesTLS("\(cluster.url)?sslmode=verify-full&sslrootcert=\(ca)"))
        #expect(try await connectionUsesTLS("\(cluster.url)?sslmode=verify-ca&sslrootcert=\(ca)"))
        #expect(try await connectionUsesTLS("\(cluster.url)?sslmode=require"))
        #expect(try await connectionUsesTLS(cluster.url))
        #expect(try await connectionUsesTLS("\(cluster.url)?sslmode=disable") == false)
    }

    @Test("verify-full and verify-ca refuse a certificate another CA issued; verify-full by host name (localhost) connects")
    func verifyFullRefusesWrongCertificate() async throws {
        let cluster = try await PostgresCluster.make(tls: true)
        defer { cluster.destroy() }
        try PostgresCluster.makeCertificates(in: cluster.directory, prefix: "other-")
        #expect(try await pingSucceeds("\(cluster.url)?sslmode=verify-full&sslrootcert=\(cluster.directory)/other-ca.pem") == false)
        #expect(try await pingSucceeds("\(cluster.url)?sslmode=verify-ca&sslrootcert=\(cluster.directory)/other-ca.pem") == false)
        let byName = "postgres://postgres@localhost:\(cluster.port)/postgres?sslmode=verify-full&sslrootcert=\(cluster.caCertificatePath)"
        #expect(try await pingSucceeds(byName))
    }

    @Test("require against a server without TLS fails; the default (prefer) falls back to plain TCP")
    func requireAgainstPlainServer() async throws {
        let cluster = try await PostgresCluster.make()
        defer { cluster.destroy() }
        #expect(try await pingSucceeds("\(cluster.url)?sslmode=require") == false)
        #expect(try await connectionUsesTLS(cluster.url) == false)
    }
}

/// The URL's parts and its errors, which never quote the password.
@Suite("PostgreSQL URL")
struct PostgresURLTests {
    @Test("sslmode and sslrootcert are read; prefer is the default")
    func parsesSSLMode() throws {
        #expect(try PostgresURL("postgres://u@h/db").sslMode == .prefer)
        let url = try PostgresURL("postgresql://u:p%40ss@db.example.net:6432/runs?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(url.sslMode == .verifyFull)
        #expect(url.sslRootCertificatePath == "/etc/ca.pem")
        #expect(url.password == "p@ss")
        #expect(url.port == 6432)
    }

    @Test("an invalid URL, unknown sslmode or unknown parameter is an error that hides the password", arguments: [
        "postgres://user:hunter2@/db",
        "postgres://user:hunter2@host",
        "mysql://user:hunter2@host/db",
        "postgres://user:hunter2@host/db?sslmode=verify",
        "postgres://user:hunter2@host/db?ssl_mode=require",
        "postgres://user:hun/ter2@host/db",
        "postgres://user:hunter2@host/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    ])
    func errorsHidePassword(_ url: String) {
        do {
            try PostgresRunStore.validate(url: url)
            Issue.record("accepted \(url)")
        } catch {
            let text = String(describing: error)
            #expect(!text.contains("hunter2") && !text.contains("ter2"), "\(text)")
            if !url.contains("sslrootcert") { #expect(text.contains("***"), "\(text)") }
        }
    }

    @Test("redaction hides everything between user: and the last @")
    func redaction() {
        #expect(PostgresURL.redacted("postgres://u:secret@h:5432/db") == "postgres://u:***@h:5432/db")
        #expect(PostgresURL.redacted("postgres://u@h/db") == "postgres://u@h/db")
        #expect(PostgresURL.redacted("postgres://u:a@b/c@h/db") == "postgres://u:***@h/db")
    }
}
