import Foundation
import Hummingbird
import ISPChecker
import NIOCore

/// `GET /api/v1/targets/{target}/verdict`: the newest run of the target from every vantage,
/// combined (`CrossVantageVerdict`): is the fault one vantage's own network, or the destination
/// or a transit they all share? Body: the verdict's JSON (snake_case, sorted keys; docs/scaling.md).
/// 404 when the history holds no run of the target.
struct VerdictController<Context: RequestContext> {
    let store: any RunStore

    func register(on group: RouterGroup<Context>) {
        group.get("targets/:target/verdict") { _, context in try await verdict(context) }
    }

    func verdict(_ context: Context) async throws -> Response {
        guard let target = context.parameters.get("target"), !target.isEmpty else {
            throw HTTPError(.badRequest, message: "missing target")
        }
        let found: (verdict: CrossVantageVerdict, vantages: Int)?
        do {
            found = try await Self.verdict(target: target, store: store)
        } catch {
            throw RunsController<Context>.storeFailure(error, context: context)
        }
        guard let verdict = found?.verdict else { throw HTTPError(.notFound, message: "no run of target \(target) in the history") }
        let body = try LatencyController<Context>.encoder.encode(verdict)
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The newest run of every vantage that checked `target`, combined, and how many vantages
    /// stored one; nil when none did. A row this version cannot read (damaged, or a newer
    /// monitor's) is left out of the verdict. The endpoint's and the dashboard's one reading.
    static func verdict(target: String, store: any RunStore) async throws -> (verdict: CrossVantageVerdict, vantages: Int)? {
        let stored = try await store.latestRunPerVantage(target: target)
        guard !stored.isEmpty else { return nil }
        return (CrossVantageVerdict.combine(target: target, runs: stored.compactMap { try? $0.report() }), stored.count)
    }
}
