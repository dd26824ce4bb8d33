import Foundation
import Hummingbird
import ISPChecker
import NIOCore

/// `GET /` (every target: score, severity, last diagnosis, breaker) and `GET /targets/{target}`
/// (latency graphs over 3 h, 1 d, 7 d and 30 d, the score history, the last path hop by hop, the
/// diagnosis history, the breaker, and with several vantages their combined verdict), as HTML with inline SVG drawn here: no script, no asset
/// fetched from anywhere.
///
/// Reads are bounded: the overview is one query (the newest run of at most `maximumTargets`
/// targets); a target page is one query per graph (`RunStore.historyColumns`, at most
/// `GraphRange.columns` rows each) and one page of `recentRuns` runs.
struct DashboardController<Context: RequestContext> {
    let store: any RunStore
    let state: MonitorState
    /// Most targets the overview lists.
    var maximumTargets = 500
    /// Runs in a target page's diagnosis history.
    var recentRuns = 20
    var now: @Sendable () -> Date = Date.init

    func register(on group: RouterGroup<Context>) {
        group.get("/") { _, context in try await overview(context: context) }
        group.get("targets/:target") { _, context in try await targetPage(context: context) }
        group.get("incidents/:id") { _, context in try await incidentPage(context: context) }
    }

    func overview(context: Context) async throws -> Response {
        var storeUnavailable = false
        var rows: [String: DashboardPages.OverviewRow] = [:]
        do {
            for stored in try await store.latestRunPerTarget(limit: maximumTargets) {
                guard let report = try? stored.report() else { continue }
                rows[stored.target] = .init(target: stored.target, latest: report)
            }
        } catch {
            storeUnavailable = true
            context.logger.error("dashboard: cannot read the run history", metadata: ["error": "\(error)"])
        }
        // Targets this monitor checks but the history has no run of yet still get a line.
        for (target, breaker) in state.breakerStates where rows[target] != nil || rows.count < maximumTargets {
            rows[target, default: .init(target: target)].breaker = breaker
        }
        return Self.html(DashboardPages.overview(Array(rows.values), now: now(), storeUnavailable: storeUnavailable,
                                                 incidents: await incidentsSection(context: context)))
    }

    func targetPage(context: Context) async throws -> Response {
        // The router hands the segment over still percent-encoded.
        guard let raw = context.parameters.get("target"), let target = raw.removingPercentEncoding, !target.isEmpty else {
            throw HTTPError(.badRequest, message: "missing target")
        }
        let now = self.now()
        var graphs: [DashboardPages.Graph] = []
        var recent: [RunReport] = []
        var unreadable = 0
        do {
            let page = try await store.runs(matching: RunQuery(target: target, limit: recentRuns))
            for row in page.runs {
                if let report = try? row.report() { recent.append(report) } else { unreadable += 1 }
            }
            if page.total == 0 && state.breakerStates[target] == nil {
                throw HTTPError(.notFound, message: "no target \(target) in the run history")
            }
            for range in GraphRange.allCases {
                let window = HistoryWindow(end: now, span: range.span, columns: GraphRange.columns)
                graphs.append(.init(range: range, window: window, columns: try await store.historyColumns(target: target, window: window)))
            }
        } catch let error as HTTPError {
            throw error
        } catch {
            throw RunsController<Context>.storeFailure(error, context: context)
        }
        var model = DashboardPages.TargetModel(target: target, breaker: state.breakerStates[target], graphs: graphs,
                                               recent: recent, unreadableRuns: unreadable, now: now)
        // One more bounded query (a row per vantage): the verdict across vantages, when there are several.
        if let found = try? await VerdictController<Context>.verdict(target: target, store: store), found.vantages > 1 {
            model.vantages = found.verdict
        }
        return Self.html(DashboardPages.target(model))
    }

    /// The page with headers that keep it inert: nothing but inline style may load or run
    /// (the SVG is inline), no referrer leaves with a link, nothing is cached.
    static func html(_ body: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            .init("X-Content-Type-Options")!: "nosniff",
            .init("Referrer-Policy")!: "no-referrer",
            .cacheControl: "no-store",
        ]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
