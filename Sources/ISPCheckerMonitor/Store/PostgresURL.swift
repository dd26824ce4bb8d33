import Foundation

/// `postgres://user[:password]@host[:port]/database[?sslmode=MODE&sslrootcert=FILE&host=/DIR]` (also
/// `postgresql://`), split into parts. `host=/DIR` (libpq's form) connects through the server's
/// Unix socket `DIR/.s.PGSQL.PORT` instead of TCP (the URL's host is then ignored; no TLS): a
/// monitor in another network namespace than the server reaches it so. Errors quote the URL with its password replaced by `***`.
struct PostgresURL: Equatable {
    /// libpq's `sslmode` values this client implements (https://www.postgresql.org/docs/current/libpq-ssl.html).
    enum SSLMode: String, CaseIterable {
        /// Plain TCP only.
        case disable
        /// TLS when the server offers it, plain otherwise; the certificate is not checked (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not checked unless `sslrootcert` is given
        /// (then as `verify-ca`, as libpq does).
        case require
        /// TLS, the server's certificate chained to `sslrootcert` (or the system's CAs); any host name.
        case verifyCA = "verify-ca"
        /// TLS, the certificate chained to `sslrootcert` (or the system's CAs) and issued for the host.
        case verifyFull = "verify-full"
    }

    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    var sslMode: SSLMode
    /// PEM file with the CA certificate(s) the server's certificate must chain to.
    var sslRootCertificatePath: String?
    /// The directory of the server's Unix socket (`host=/DIR`), when given.
    var socketDirectory: String?

    /// The socket file to connect to: `DIR/.s.PGSQL.PORT`, as libpq names it.
    var unixSocketPath: String? { socketDirectory.map { "\($0)/.s.PGSQL.\(port)" } }

    static let knownParameters = ["sslmode", "sslrootcert", "host"]

    init(_ string: String) throws(RunStoreError) {
        func invalid(_ reason: String) -> RunStoreError {
            .invalidURL("'\(Self.redacted(string))': \(reason)")
        }
        guard let components = URLComponents(string: string) else {
            throw invalid("expected postgres://user[:password]@host[:port]/database")
        }
        guard let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("no host") }
        guard let username = components.user, !username.isEmpty else { throw invalid("no user name (postgres://USER@host/database)") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw invalid("no database name (postgres://user@host/DATABASE)") }
        var sslMode = SSLMode.prefer
        var rootCertificate: String?
        var socketDirectory: String?
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw invalid("sslmode=\(value) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw invalid("sslrootcert needs a file path") }
                rootCertificate = value
            case "host":
                guard value.hasPrefix("/") else { throw invalid("host= takes the directory of the server's Unix socket (an absolute path)") }
                socketDirectory = value
            default:
                // A misspelt sslmode must not quietly leave TLS at its default.
                throw invalid("unknown parameter '\(item.name)' (known: \(Self.knownParameters.joined(separator: ", ")))")
            }
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        self.sslMode = sslMode
        self.sslRootCertificatePath = rootCertificate
        self.socketDirectory = socketDirectory
    }

    /// `string` with everything between `user:` and the last `@` replaced by `***`. Works on
    /// strings that are not valid URLs too: a password with an unescaped `/`, `?` or `@` is
    /// still hidden (at worst more than the password is).
    static func redacted(_ string: String) -> String {
        let afterScheme = string.range(of: "://")?.upperBound ?? string.startIndex
        guard let at = string[afterScheme...].lastIndex(of: "@"),
              let colon = string[afterScheme..<at].firstIndex(of: ":") else { return string }
        return String(string[..<string.index(after: colon)]) + "***" + String(string[at...])
    }
}
