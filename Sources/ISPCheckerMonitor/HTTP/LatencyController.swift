import Foundation
import Hummingbird
import NIOCore

/// `GET /api/v1/targets/{target}/latency`: p50/p95/p99 of the target's ping RTT and HTTP total
/// time over 5 min, 1 h and 1 d of its run history, as JSON (docs/monitor.md):
///
/// ```json
/// {"generated_at":"…","percentile_method":"nearest-rank","runs_read":12,"target":"10.0.0.1","truncated":false,
///  "windows":{"5m":{"seconds":300,"rtt_ms":{"samples":5,"p50":1.2,"p95":3.4,"p99":3.4},"http_total_ms":{…}},"1h":{…},"1d":{…}}}
/// ```
/// 404 when the history holds no run of the target at all.
struct LatencyController<Context: RequestContext> {
    let store: any RunStore

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    func register(on group: RouterGroup<Context>) {
        group.get("targets/:target/latency") { _, context in try await latency(context) }
    }

    func latency(_ context: Context) async throws -> Response {
        guard let target = context.parameters.get("target"), !target.isEmpty else {
            throw HTTPError(.badRequest, message: "missing target")
        }
        let report: LatencyReport
        do {
            report = try await LatencyReport.load(target: target, from: store)
            if report.runsRead == 0, try await store.runs(matching: RunQuery(target: target, limit: 1)).total == 0 {
                throw HTTPError(.notFound, message: "no run of target \(target) in the history")
            }
        } catch let error as HTTPError {
            throw error
        } catch {
            throw RunsController<Context>.storeFailure(error, context: context)
        }
        let body = try Self.encoder.encode(report)
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
