import Foundation

/// `postgres://user[:password]@host[:port]/database` (also `postgresql://`), split into parts.
struct PostgresURL: Equatable {
    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String

    init(_ string: String) throws {
        guard let components = URLComponents(string: string),
              let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql",
              let host = components.host, !host.isEmpty,
              let username = components.user, !username.isEmpty
        else { throw RunStoreError.invalidURL(string) }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw RunStoreError.invalidURL(string) }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
    }
}
