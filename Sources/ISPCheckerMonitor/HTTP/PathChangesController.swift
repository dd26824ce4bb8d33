import Foundation
import Hummingbird

/// `/api/v1/path-changes?target=…` and `/api/v1/targets/{target}/path-changes`: the history's
/// path changes (Store/PathChanges.swift) as JSON, newest first, paged like runs.
struct PathChangesController<Context: RequestContext> {
    let store: any RunStore

    func register(on group: RouterGroup<Context>) {
        group.get("path-changes") { request, context in try await list(request, target: nil, context: context) }
        group.get("targets/:target/path-changes") { request, context in
            try await list(request, target: context.parameters.get("target"), context: context)
        }
    }

    /// Query parameters as `/api/v1/runs`: `target`, `since`, `until`, `limit`, `offset`. Body:
    /// `{"limit","next_offset","offset","path_changes":[…],"total"}`.
    func list(_ request: Request, target: String?, context: Context) async throws -> Response {
        var query = try RunsController<Context>.parseQuery(request.uri.queryParameters)
        if let target { query.target = target }
        // `path_changes` has no vantage column: a run's path is compared with earlier runs of
        // its own vantage, but the changes are listed for all vantages.
        query.vantage = nil
        let page: PathChangePage
        do {
            page = try await store.pathChanges(matching: query)
        } catch {
            throw RunsController<Context>.storeFailure(error, context: context)
        }
        let nextOffset = query.offset + page.changes.count < page.total ? "\(query.offset + page.changes.count)" : "null"
        let items = page.changes.map(\.json).joined(separator: ",")
        return RunsController<Context>.json(
            "{\"limit\":\(query.limit),\"next_offset\":\(nextOffset),\"offset\":\(query.offset),\"path_changes\":[\(items)],\"total\":\(page.total)}")
    }
}
