import Foundation
import ISPChecker

/// The dashboard's pages as HTML strings: plain functions of what the controller read, so the
/// tests render them without a server. Every string from the configuration or the history goes
/// through `HTML.escape` (or `HTML.pathSegment` in a link).
enum DashboardPages {
    /// Seconds between the page's own reloads (`<meta http-equiv="refresh">`, no script).
    static let refreshSeconds = 60

    /// One line of the overview: a target, its newest run and its breaker.
    struct OverviewRow: Sendable {
        var target: String
        var latest: RunReport?
        var breaker: CircuitState?
    }

    /// One graph of a target page: its range, window and columns.
    struct Graph: Sendable {
        var range: GraphRange
        var window: HistoryWindow
        var columns: [HistoryColumn]
    }

    /// What a target page shows.
    struct TargetModel: Sendable {
        var target: String
        var breaker: CircuitState?
        var graphs: [Graph]
        /// The newest runs, newest first (the diagnosis history; the first is the current state).
        var recent: [RunReport]
        /// Stored rows of the target that could not be read (not shown, counted).
        var unreadableRuns: Int = 0
        var now: Date
        /// The newest run of every vantage combined, when two or more vantages checked the target.
        var vantages: CrossVantageVerdict? = nil
    }

    // MARK: Overview

    /// - Parameter incidents: the incidents section (`incidentsSection`), placed under the targets.
    static func overview(_ rows: [OverviewRow], now: Date, storeUnavailable: Bool, incidents: String = "") -> String {
        var body = "<h1>isp-checker</h1><p class=\"sub\">\(rows.count) target\(rows.count == 1 ? "" : "s") · \(HTML.escape(HTML.timestamp(now))) · refreshes every \(refreshSeconds) s</p>"
        if storeUnavailable {
            body += "<p class=\"warning\">The run history cannot be read right now (details in the monitor's log): showing what the monitor holds in memory.</p>"
        }
        body += "<table class=\"targets\"><thead><tr><th>Target</th><th>Score</th><th>Severity</th><th>Last run</th><th>Last diagnosis</th><th>Breaker</th></tr></thead><tbody>"
        let sorted = rows.sorted { ($0.latest?.score ?? -1, $1.target) > ($1.latest?.score ?? -1, $0.target) }
        for row in sorted {
            let link = "targets/\(HTML.pathSegment(row.target))"
            body += "<tr class=\"target\" data-target=\"\(HTML.escape(row.target))\"><td><a href=\"\(link)\">\(HTML.escape(row.target))</a></td>"
            if let run = row.latest {
                body += "<td class=\"score\">\(HTML.number(run.score, digits: 1))</td><td>\(severityBadge(run.severity))</td>"
                body += "<td title=\"\(HTML.escape(HTML.timestamp(run.timestamp)))\">\(HTML.age(now.timeIntervalSince(run.timestamp)))</td>"
                body += "<td class=\"diagnosis\">\(diagnosisSummary(run))</td>"
            } else {
                body += "<td class=\"score\">–</td><td>–</td><td>no run yet</td><td>–</td>"
            }
            body += "<td>\(breakerBadge(row.breaker))</td></tr>"
        }
        if rows.isEmpty { body += "<tr><td colspan=\"6\">No runs recorded yet.</td></tr>" }
        body += "</tbody></table>" + incidents
        return page(title: "isp-checker", base: "", body: body)
    }

    // MARK: Target

    static func target(_ model: TargetModel) -> String {
        let latest = model.recent.first
        var body = "<p class=\"nav\"><a href=\"../\">← all targets</a></p><h1 class=\"target-name\">\(HTML.escape(model.target))</h1>"
        body += "<p class=\"sub\">\(HTML.escape(HTML.timestamp(model.now))) · refreshes every \(refreshSeconds) s</p>"
        body += "<section class=\"summary\">"
        if let latest {
            body += "<div><span class=\"label\">Score</span><span class=\"score big\">\(HTML.number(latest.score, digits: 1))</span></div>"
            body += "<div><span class=\"label\">Severity</span>\(severityBadge(latest.severity))</div>"
            body += "<div><span class=\"label\">Last run</span>\(HTML.escape(HTML.timestamp(latest.timestamp))) (\(HTML.age(model.now.timeIntervalSince(latest.timestamp))))</div>"
        } else {
            body += "<div><span class=\"label\">Score</span><span class=\"score big\">–</span></div><div>No run of this target in the history.</div>"
        }
        body += "<div><span class=\"label\">Circuit breaker</span>\(breakerBadge(model.breaker))</div></section>"
        if let latest, !latest.diagnosis.isEmpty {
            body += "<section><h2>Diagnosis</h2>\(diagnosisDetail(latest))</section>"
        }
        if let verdict = model.vantages { body += vantagesSection(verdict) }
        body += "<section class=\"graphs\"><h2>Latency and loss</h2>"
        for graph in model.graphs {
            body += "<figure class=\"graph-pair\" id=\"range-\(graph.range.rawValue)\"><figcaption>\(graph.range.title) · \(graph.columns.reduce(0) { $0 + $1.runs }) runs</figcaption>"
            body += DashboardGraphs.latency(graph.columns, window: graph.window, range: graph.range)
            body += "<div class=\"score-caption\">score (0 healthy … 100 outage): average <span class=\"avg\">—</span> worst <span class=\"worst\">- -</span></div>"
            body += DashboardGraphs.score(graph.columns, window: graph.window, range: graph.range)
            body += "</figure>"
        }
        body += "</section>"
        body += pathSection(model.recent)
        body += historySection(model.recent, unreadable: model.unreadableRuns)
        return page(title: "\(model.target) · isp-checker", base: "../", body: body)
    }

    /// "Is it me or everyone?": the cross-vantage verdict (`CrossVantageVerdict`, the API's
    /// `/api/v1/targets/{target}/verdict`) and each vantage's newest run.
    static func vantagesSection(_ verdict: CrossVantageVerdict) -> String {
        let scope = switch verdict.scope {
        case .noFault: "no vantage sees a fault"
        case .oneVantage: "one vantage only"
        case .someVantages: "some vantages"
        case .allVantages: "every vantage"
        case .singleVantage: "one vantage checks this target"
        }
        var html = "<section class=\"vantages\"><h2>Vantages: \(HTML.escape(scope))</h2>"
        html += "<p>\(HTML.escape(verdict.diagnosis.explanation))</p>"
        html += "<table class=\"runs\"><thead><tr><th>Vantage</th><th>Last run (UTC)</th><th>Score</th><th>Severity</th><th>Fault</th></tr></thead><tbody>"
        for run in verdict.vantages {
            var fault = run.fault.map { "<strong>\(HTML.escape($0))</strong>" } ?? "<span class=\"ok\">none</span>"
            if let hop = run.faultHop { fault += " at hop \(hop)" + (run.faultAddress.map { " (\(HTML.escape($0)))" } ?? "") }
            html += "<tr class=\"vantage\(run.faulty ? " fault" : "")\"><td>\(HTML.escape(run.vantage))</td><td>\(HTML.escape(HTML.timestamp(run.timestamp)))</td>"
            html += "<td>\(HTML.number(run.score, digits: 1))</td><td>\(severityBadge(run.severity))</td><td>\(fault)</td></tr>"
        }
        return html + "</tbody></table></section>"
    }

    /// The newest run's path, hop by hop, with the faulty hops marked.
    static func pathSection(_ recent: [RunReport]) -> String {
        guard let run = recent.first(where: { $0.trace != nil }), let trace = run.trace else {
            return "<section class=\"path\"><h2>Path</h2><p>No traceroute in the recent runs.</p></section>"
        }
        var faultsByHop: [Int: [String]] = [:]
        for fault in run.faults { if let hop = fault.hop { faultsByHop[hop, default: []].append(fault.component) } }
        var html = "<section class=\"path\"><h2>Path</h2><p class=\"sub\">run of \(HTML.escape(HTML.timestamp(run.timestamp))) to \(HTML.escape(trace.address.description)), \(HTML.escape(stopText(trace.stop)))</p>"
        html += "<table class=\"hops\"><thead><tr><th>Hop</th><th>Address</th><th>Loss</th><th>Sent / recv</th><th>Last</th><th>Avg</th><th>Best</th><th>Worst</th><th>MPLS labels</th><th>Fault</th></tr></thead><tbody>"
        for hop in trace.hops {
            let faults = faultsByHop[hop.ttl] ?? []
            let addresses = hop.addresses.isEmpty ? "*" : hop.addresses.map { address in
                HTML.escape(address.address.description) + (address.name.map { " <span class=\"name\">(\(HTML.escape($0)))</span>" } ?? "")
            }.joined(separator: "<br>")
            let labels = hop.mplsStacks.map { stack in
                stack.map { "L=\($0.label) TC=\($0.trafficClass) S=\($0.bottomOfStack ? 1 : 0) TTL=\($0.ttl)" }.joined(separator: " / ")
            }.joined(separator: "<br>")
            html += "<tr class=\"hop\(faults.isEmpty ? "" : " fault")\(hop.isDestination ? " destination" : "")\"><td>\(hop.ttl)</td><td>\(addresses)</td>"
            html += "<td style=\"color:\(hop.received == 0 ? "#999" : "inherit")\">\(HTML.number(hop.lossPercent, digits: 1))%</td><td>\(hop.sent) / \(hop.received)</td>"
            html += "<td>\(HTML.milliseconds(hop.lastMilliseconds))</td><td>\(HTML.milliseconds(hop.avgMilliseconds))</td><td>\(HTML.milliseconds(hop.bestMilliseconds))</td><td>\(HTML.milliseconds(hop.worstMilliseconds))</td>"
            html += "<td class=\"mpls\">\(labels.isEmpty ? "–" : labels)</td><td>\(faults.isEmpty ? "" : "⚠ " + faults.map { HTML.escape($0) }.joined(separator: ", "))</td></tr>"
        }
        return html + "</tbody></table></section>"
    }

    /// The recent runs: when, score, severity, what the diagnosis said.
    static func historySection(_ recent: [RunReport], unreadable: Int) -> String {
        var html = "<section class=\"history\"><h2>Diagnosis history</h2><table class=\"runs\"><thead><tr><th>Time (UTC)</th><th>Score</th><th>Severity</th><th>Diagnosis</th></tr></thead><tbody>"
        for run in recent {
            html += "<tr><td>\(HTML.escape(HTML.timestamp(run.timestamp)))</td><td>\(HTML.number(run.score, digits: 1))</td><td>\(severityBadge(run.severity))</td><td>\(diagnosisSummary(run))</td></tr>"
        }
        if recent.isEmpty { html += "<tr><td colspan=\"4\">No runs.</td></tr>" }
        html += "</tbody></table>"
        if unreadable > 0 { html += "<p class=\"sub\">\(unreadable) stored run\(unreadable == 1 ? "" : "s") could not be read and are not shown (see the monitor's log).</p>" }
        return html + "</section>"
    }

    static func diagnosisSummary(_ run: RunReport) -> String {
        let faults = run.faults
        guard let first = faults.first else {
            return run.notes.isEmpty ? "<span class=\"ok\">no fault found</span>"
                : "<span class=\"ok\">no fault found</span> <span class=\"note\">(\(run.notes.map { HTML.escape($0.component) }.joined(separator: ", ")))</span>"
        }
        var text = "<strong>\(HTML.escape(first.component))</strong> (\(Int((first.confidence * 100).rounded()))%)"
        if let hop = first.hop { text += " at hop \(hop)" }
        text += ": \(HTML.escape(first.explanation))"
        if faults.count > 1 { text += " <span class=\"note\">+\(faults.count - 1) more</span>" }
        return text
    }

    static func diagnosisDetail(_ run: RunReport) -> String {
        var html = "<ul class=\"diagnosis\">"
        for entry in run.diagnosis {
            html += "<li class=\"\(entry.informational ? "note" : "fault")\"><strong>\(HTML.escape(entry.component))</strong> (\(Int((entry.confidence * 100).rounded()))%\(entry.hop.map { ", hop \($0)" } ?? "")): \(HTML.escape(entry.explanation))"
            if !entry.suggestedAction.isEmpty { html += "<br><span class=\"action\">What to do: \(HTML.escape(entry.suggestedAction))</span>" }
            html += "</li>"
        }
        return html + "</ul>"
    }

    static func severityBadge(_ severity: Severity) -> String {
        let colour: String
        switch severity {
        case .p1: colour = "#c62828"
        case .p2: colour = "#ef6c00"
        case .p3: colour = "#f9a825"
        case .p4: colour = "#2e7d32"
        }
        return "<span class=\"badge severity\" style=\"background:\(colour)\">\(severity.rawValue)</span>"
    }

    static func breakerBadge(_ state: CircuitState?) -> String {
        guard let state else { return "<span class=\"badge breaker unknown\" title=\"not checked by this monitor\">–</span>" }
        let colour: String, title: String
        switch state {
        case .closed: colour = "#2e7d32"; title = "checks run"
        case .open: colour = "#c62828"; title = "checks fail fast until the recovery timeout"
        case .halfOpen: colour = "#ef6c00"; title = "trial checks"
        }
        return "<span class=\"badge breaker\" style=\"background:\(colour)\" title=\"\(title)\">\(state.rawValue)</span>"
    }

    static func stopText(_ stop: TraceStop) -> String {
        switch stop {
        case .destinationReached: return "destination reached"
        case .unreachable(let code): return "unreachable \(code)"
        case .maxHopsReached: return "no answer from the destination up to the last hop"
        }
    }

    /// The page around a body. `base` makes the relative links work from `/targets/X`.
    static func page(title: String, base: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="refresh" content="\(refreshSeconds)">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>\(HTML.escape(title))</title>
        <style>\(style)</style></head>
        <body>\(body)<footer>isp-checker monitor · <a href="\(base)metrics">metrics</a> · <a href="\(base)health/detailed">health</a></footer></body></html>
        """
    }

    static let style = """
        body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:18px 24px;color:#222;background:#fafafa;font-size:14px}
        h1{font-size:22px;margin:0 0 2px}h2{font-size:16px;margin:18px 0 6px}
        .sub{color:#666;font-size:12px;margin:2px 0 10px}.warning{background:#fff3cd;padding:6px 10px;border:1px solid #e0c36a}
        table{border-collapse:collapse;background:#fff;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
        th{background:#f0f0f0}td.score{text-align:right;font-variant-numeric:tabular-nums}
        .badge{display:inline-block;color:#fff;border-radius:3px;padding:0 6px;font-size:12px;font-weight:bold}
        .breaker.unknown{background:#999}.ok{color:#2e7d32}.note{color:#777}.action{color:#444;font-size:12px}
        .summary{display:flex;gap:28px;align-items:baseline;background:#fff;border:1px solid #ddd;padding:8px 14px}
        .label{display:block;color:#666;font-size:11px;text-transform:uppercase}.big{font-size:26px;font-weight:bold}
        figure{margin:8px 0 14px;background:#fff;border:1px solid #ddd;padding:6px;display:inline-block}figcaption{font-size:12px;color:#444}
        .score-caption{font-size:11px;color:#555}.score-caption .avg{color:#3366aa}.score-caption .worst{color:#cc3333}
        tr.fault td{background:#fdecea}.mpls{font-family:"DejaVu Sans Mono",monospace;font-size:12px}.name{color:#666}
        footer{margin-top:20px;color:#888;font-size:12px}a{color:#1a5fb4}
        """
}
