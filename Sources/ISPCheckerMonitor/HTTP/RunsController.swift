import Foundation
import Hummingbird
import Logging
import NIOCore

/// `/api/v1/runs` and `/api/v1/runs/{id}`: the history as JSON.
struct RunsController<Context: RequestContext> {
    let store: any RunStore

    func register(on group: RouterGroup<Context>) {
        group.get("runs") { request, context in try await list(request, context: context) }
        group.get("runs/:id") { _, context in try await one(context) }
    }

    /// Query parameters: `target`, `vantage`, `since`, `until` (ISO 8601, inclusive), `limit` (1…1000,
    /// default 50), `offset`. Body: `{"limit","next_offset","offset","runs":[…],"total"}`.
    func list(_ request: Request, context: Context) async throws -> Response {
        let query = try Self.parseQuery(request.uri.queryParameters)
        let page: RunPage
        do {
            page = try await store.runs(matching: query)
        } catch {
            throw Self.storeFailure(error, context: context)
        }
        let nextOffset = query.offset + page.runs.count < page.total ? "\(query.offset + page.runs.count)" : "null"
        var body = "{\"limit\":\(query.limit),\"next_offset\":\(nextOffset),\"offset\":\(query.offset),\"runs\":["
        body.reserveCapacity(body.utf8.count + page.runs.reduce(0) { $0 + $1.json.utf8.count + 1 } + 32)
        for (index, run) in page.runs.enumerated() {
            if index > 0 { body += "," }
            body += run.json
        }
        body += "],\"total\":\(page.total)}"
        return Self.json(body)
    }

    func one(_ context: Context) async throws -> Response {
        guard let id = context.parameters.get("id") else { throw HTTPError(.badRequest, message: "missing run id") }
        let run: StoredRun?
        do {
            run = try await store.run(id: id)
        } catch {
            throw Self.storeFailure(error, context: context)
        }
        guard let run else { throw HTTPError(.notFound, message: "no run with id \(id)") }
        return Self.json(run.json)
    }

    /// A store failure as the client sees it: 500 with a fixed message. The error itself (which
    /// may name hosts, ports, SQL or file paths) goes to the log only, under the request's id.
    static func storeFailure(_ error: any Error, context: Context) -> HTTPError {
        context.logger.error("run store request failed", metadata: ["error": "\(error)"])
        return HTTPError(.internalServerError, message: genericStoreFailure)
    }

    static var genericStoreFailure: String { "run store unavailable (details in the monitor's log)" }

    static func parseQuery(_ parameters: Parameters) throws -> RunQuery {
        func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
            guard let text = parameters.get(name) else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw HTTPError(.badRequest, message: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
        func date(_ name: String) throws -> Date? {
            guard let text = parameters.get(name) else { return nil }
            guard let date = parseDate(text) else {
                throw HTTPError(.badRequest, message: "\(name) must be an ISO 8601 time such as 2026-12-01T18:00:00Z")
            }
            return date
        }
        let target = parameters.get("target").flatMap { $0.isEmpty ? nil : $0 }
        let vantage = parameters.get("vantage").flatMap { $0.isEmpty ? nil : $0 }
        return RunQuery(target: target, vantage: vantage, since: try date("since"), until: try date("until"),
                        limit: try integer("limit", default: RunQuery.defaultLimit, range: 1...RunQuery.maximumLimit),
                        offset: try integer("offset", default: 0, range: 0...Int(Int32.max)))
    }

    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        return nil
    }

    static func json(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
