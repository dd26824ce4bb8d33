import Foundation
@testable import ISPCheckerMonitor
import ServiceLifecycle

/// The two history backends the same behaviours are checked against.
enum Backend: String, CaseIterable, Sendable {
    case sqlite
    case postgresql

    /// SQLite always; PostgreSQL when this process may start a cluster.
    var available: Bool { self == .sqlite || PostgresCluster.available }

    static var availableCases: [Backend] { allCases.filter(\.available) }
}


/// A store of the given backend, torn down after `body` (even when it throws).
/// PostgreSQL: a fresh cluster, its client pool running alongside.
func withStore<T>(_ backend: Backend, _ body: (any RunStore, PostgresCluster?) async throws -> T) async throws -> T {
    switch backend {
    case .sqlite:
        let directory = try makeTemporaryDirectory("mn-sqlite")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try await SQLiteRunStore(path: "\(directory)/runs.sqlite")
        return try await body(store, nil)
    case .postgresql:
        let cluster = try await PostgresCluster.make()
        defer { cluster.destroy() }
        let store = try PostgresRunStore(url: cluster.url)
        let pool = Task { try await store.run() }
        defer { pool.cancel() }
        try await store.migrate()
        return try await body(store, cluster)
    }
}
