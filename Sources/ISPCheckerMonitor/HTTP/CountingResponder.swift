import Hummingbird

/// Wraps the router and counts every response to `/api/…` (errors, 401 and 404 included) in
/// `isp_checker_api_requests_total{status}`.
struct CountingResponder<Inner: HTTPResponder>: HTTPResponder {
    typealias Context = Inner.Context
    let inner: Inner
    let metrics: MonitorMetrics

    @Sendable func respond(to request: Request, context: Context) async throws -> Response {
        let counted = request.uri.path.hasPrefix("/api/")
        do {
            let response = try await inner.respond(to: request, context: context)
            if counted { metrics.countAPIResponse(statusCode: response.status.code) }
            return response
        } catch let error as any HTTPResponseError {
            if counted { metrics.countAPIResponse(statusCode: error.status.code) }
            throw error
        } catch {
            if counted { metrics.countAPIResponse(statusCode: 500) }
            throw error
        }
    }
}
