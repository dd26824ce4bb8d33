import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Testing

/// The dashboard: downsampling in the stores, the pages and graphs as rendered, and the key.
@Suite("Dashboard")
struct DashboardTests {
    let now = Date(timeIntervalSince1970: 1_796_000_000)
    static let hostileNames = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(2)>",
        "a/b?c=1#d",
        "'; x='<svg onload=alert(3)>",
        "..",
    ]

    // MARK: Downsampling

    @Test("a column's quantiles, median and loss are those of its runs (ranks 1 + ⌊(k−1)q⌋)")
    func columnQuantiles() {
        let window = HistoryWindow(startMilliseconds: 0, endMilliseconds: 10_000, columns: 10)
        let samples = [5.0, 1, 9, 3, 7, 2, 8, 4, 6, 10].enumerated().map { index, rtt in
            HistoryColumn.Sample(timestampMilliseconds: Int64(index * 90), score: Double(index),
                                 ping: PingColumns(lossPercent: index == 0 ? 50 : 0, rttAvgMilliseconds: rtt, rttMaxMilliseconds: rtt * 2))
        } + [HistoryColumn.Sample(timestampMilliseconds: 950, score: 100, ping: PingColumns(lossPercent: 100))]
        let columns = HistoryColumn.aggregate(samples, in: window)
        #expect(columns.count == 1)
        let column = try! #require(columns.first)
        #expect(column.runs == 11 && column.rttRuns == 10)
        #expect(column.rttP10Milliseconds == 1 && column.rttP25Milliseconds == 3 && column.rttMedianMilliseconds == 5)
        #expect(column.rttP75Milliseconds == 7 && column.rttP90Milliseconds == 9 && column.rttMaxMilliseconds == 20)
        #expect(column.lossMaxPercent == 100 && abs(column.lossAveragePercent! - 150.0 / 11) < 1e-9)
        #expect(column.scoreMax == 100)
    }

    @Test("30 days of runs every 5 minutes come back as at most 300 columns, equal to the Swift reference", arguments: Backend.availableCases)
    func storeDownsamplesMonth(_ backend: Backend) async throws {
        try await withStore(backend) { store, _ in
            let runs = try await fillDashboardHistory(store, target: "lab.invalid", now: now, days: 30, every: 300)
            _ = try await fillDashboardHistory(store, target: "other.invalid", now: now, days: 1, every: 600, seed: 7)
            #expect(runs.count > 8_600)
            let window = HistoryWindow(end: now, span: GraphRange.month.span, columns: GraphRange.columns)
            let columns = try await store.historyColumns(target: "lab.invalid", window: window)
            #expect(columns.count <= GraphRange.columns && columns.count >= GraphRange.columns - 1)
            #expect(columns.reduce(0) { $0 + $1.runs } == runs.filter { window.column(ofMilliseconds: Self.ms($0.timestamp)) != nil }.count)
            let reference = HistoryColumn.aggregate(runs.map {
                .init(timestampMilliseconds: Self.ms($0.timestamp), score: $0.score, ping: PingColumns($0))
            }, in: window)
            #expect(columns.count == reference.count)
            for (stored, expected) in zip(columns, reference) {
                #expect(stored.index == expected.index && stored.runs == expected.runs && stored.rttRuns == expected.rttRuns)
                #expect(stored.rttMedianMilliseconds == expected.rttMedianMilliseconds)
                #expect(stored.rttP10Milliseconds == expected.rttP10Milliseconds && stored.rttP90Milliseconds == expected.rttP90Milliseconds)
                #expect(stored.rttP25Milliseconds == expected.rttP25Milliseconds && stored.rttP75Milliseconds == expected.rttP75Milliseconds)
                #expect(stored.rttMaxMilliseconds == expected.rttMaxMilliseconds && stored.lossMaxPercent == expected.lossMaxPercent)
                #expect(abs(stored.scoreAverage - expected.scoreAverage) < 1e-6)
                #expect(abs((stored.lossAveragePercent ?? -1) - (expected.lossAveragePercent ?? -1)) < 1e-6)
            }
            // The newest run of each target, one per target.
            let latest = try await store.latestRunPerTarget(limit: 10)
            #expect(latest.map(\.target) == ["lab.invalid", "other.invalid"])
            #expect(latest.first?.id == runs.max { $0.timestamp < $1.timestamp }?.id)
        }
    }

    @Test("a store without SQL of its own answers the same columns through the protocol's default")
    func defaultImplementationMatches() async throws {
        try await withStore(.sqlite) { store, _ in
            let runs = try await fillDashboardHistory(store, target: "lab.invalid", now: now, days: 0.5, every: 300)
            let window = HistoryWindow(end: now, span: GraphRange.threeHours.span, columns: 20)
            let viaSQL = try await store.historyColumns(target: "lab.invalid", window: window)
            let viaDefault = try await PlainStore(inner: store).historyColumns(target: "lab.invalid", window: window)
            #expect(viaSQL == viaDefault)
            #expect(!viaSQL.isEmpty && runs.count > 100)
        }
    }

    // MARK: Rendering

    @Test("the latency graph draws the median as one path through the runs, broken at a gap in the history")
    func latencyGraphMedianPath() {
        let window = HistoryWindow(startMilliseconds: 0, endMilliseconds: 300_000, columns: 300)
        func column(_ index: Int, loss: Double = 0) -> HistoryColumn {
            HistoryColumn(index: index, runs: 1, scoreAverage: 10, scoreMax: 10, lossAveragePercent: loss, lossMaxPercent: loss,
                          rttRuns: 1, rttP10Milliseconds: 8, rttP25Milliseconds: 9, rttMedianMilliseconds: 10, rttP75Milliseconds: 11,
                          rttP90Milliseconds: 12, rttMaxMilliseconds: 30)
        }
        func median(_ svg: String) -> Substring { svg.firstMatch(of: /<path class="median"[^>]* d="([^"]*)"/)!.1 }
        // Columns 0…4, a gap of 16, then 20…24: two pieces.
        let gapped = DashboardGraphs.latency((0..<5).map { column($0, loss: $0 == 3 ? 20 : 0) } + (20..<25).map { column($0) },
                                             window: window, range: .threeHours)
        #expect(median(gapped).filter { $0 == "M" }.count == 2 && median(gapped).filter { $0 == "L" }.count == 8)
        #expect(gapped.contains("fill=\"#7e00ff\""))  // 20 % loss in SmokePing's colour
        #expect(gapped.contains("fill=\"#26ff00\""))  // no loss
        #expect(gapped.hasPrefix("<svg") && gapped.hasSuffix("</svg>"))
        // Runs sparser than the columns (one column in 17): one line.
        let sparse = DashboardGraphs.latency(stride(from: 0, to: 300, by: 17).map { column($0) }, window: window, range: .threeHours)
        #expect(median(sparse).filter { $0 == "M" }.count == 1 && median(sparse).filter { $0 == "L" }.count == 17)
    }

    @Test("a graph without replies says so instead of drawing nothing")
    func emptyGraph() {
        let window = HistoryWindow(startMilliseconds: 0, endMilliseconds: 300_000, columns: 300)
        let svg = DashboardGraphs.latency([HistoryColumn(index: 0, runs: 1, scoreAverage: 100, scoreMax: 100, lossAveragePercent: 100)],
                                          window: window, range: .day)
        #expect(svg.contains("no ping replies in this window"))
        #expect(svg.contains("fill=\"#ff0000\""))  // the loss strip shows the total loss
    }

    @Test("hostile target names, addresses and diagnoses are escaped on both pages", arguments: hostileNames)
    func hostileStringsEscaped(_ name: String) {
        let run = dashboardRun(target: name, timestamp: now, rttMilliseconds: 12, lossPercent: 10, withTrace: true,
                               explanation: "</td><script>alert(4)</script>")
        let overview = DashboardPages.overview([.init(target: name, latest: run, breaker: .open)], now: now, storeUnavailable: false)
        let window = HistoryWindow(end: now, span: GraphRange.day.span, columns: 10)
        let target = DashboardPages.target(.init(target: name, breaker: .halfOpen,
                                                 graphs: [.init(range: .day, window: window, columns: [])], recent: [run], now: now))
        for page in [overview, target] {
            #expect(!page.contains(name) || HTML.escape(name) == name, "raw name in page")
            #expect(page.contains(HTML.escape(name)))
            #expect(!page.contains("<script>") && !page.contains("<img") && !page.contains("<svg onload"))
            #expect(page.contains("&lt;/td&gt;&lt;script&gt;alert(4)&lt;/script&gt;"))
        }
        #expect(overview.contains("href=\"targets/\(HTML.pathSegment(name))\""))
        #expect(!HTML.pathSegment(name).contains("/") && !HTML.pathSegment(name).contains("?") && HTML.pathSegment(name) != "..")
    }

    @Test("the target page shows the path hop by hop with MPLS labels and the faulty hop marked")
    func pathTable() {
        let run = dashboardRun(target: "lab.invalid", timestamp: now, rttMilliseconds: 9, lossPercent: 30, withTrace: true)
        let html = DashboardPages.pathSection([run])
        #expect(html.contains("L=16001 TC=0 S=1 TTL=1"))
        #expect(html.contains("<tr class=\"hop fault\"><td>2</td><td>10.0.1.1</td>"))
        #expect(html.contains("⚠ ISP Access"))
        #expect(html.contains("class=\"hop fault destination\"") == false)  // the fault names hop 2 only
    }

    @Test("the overview lists every target worst first, with score, severity, diagnosis and breaker")
    func overviewRows() {
        let healthy = dashboardRun(target: "b.invalid", timestamp: now.addingTimeInterval(-30), rttMilliseconds: 10)
        let lossy = dashboardRun(target: "a.invalid", timestamp: now.addingTimeInterval(-600), rttMilliseconds: 10, lossPercent: 40)
        let html = DashboardPages.overview([.init(target: "b.invalid", latest: healthy, breaker: .closed),
                                            .init(target: "a.invalid", latest: lossy, breaker: .open),
                                            .init(target: "c.invalid", latest: nil, breaker: .closed)], now: now, storeUnavailable: false)
        let a = try! #require(html.range(of: "data-target=\"a.invalid\"")), b = try! #require(html.range(of: "data-target=\"b.invalid\""))
        #expect(a.lowerBound < b.lowerBound)
        #expect(html.contains("<td class=\"score\">81.0</td>") && html.contains(">P1</span>"))
        #expect(html.contains("<strong>ISP Access</strong> (80%) at hop 2"))
        #expect(html.contains(">open</span>") && html.contains("no run yet"))
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"60\">"))
    }

    // MARK: Served

    @Test("the pages are served, a hostile target through its percent-encoded path, an unknown one 404")
    func served() async throws {
        try await withDashboardMonitor { monitor in
            let name = "<b>x</b>/y"
            monitor.submit(dashboardRun(target: name, timestamp: Date(), rttMilliseconds: 12, withTrace: true))
            #expect(try await monitor.waitForStoredRuns(1))
            let overview = try await httpGet(port: monitor.port, "/")
            #expect(overview.status == 200 && overview.headers["content-type"] == "text/html; charset=utf-8")
            #expect(overview.headers["content-security-policy"]?.hasPrefix("default-src 'none'") == true)
            #expect(overview.text.contains("&lt;b&gt;x&lt;/b&gt;/y"))
            let page = try await httpGet(port: monitor.port, "/targets/\(HTML.pathSegment(name))")
            #expect(page.status == 200)
            #expect(page.text.contains("<h1 class=\"target-name\">&lt;b&gt;x&lt;/b&gt;/y</h1>"))
            #expect(page.text.components(separatedBy: "<path class=\"median\"").count == 5)  // 3 h, 1 d, 7 d, 30 d
            #expect(try await httpGet(port: monitor.port, "/targets/nobody.invalid").status == 404)
        }
    }

    @Test("with an API key the pages need it: header, or ?key= once which sets a cookie and drops the key from the address")
    func keyProtectsPages() async throws {
        let key = "s3cret key;=\"x\""
        try await withDashboardMonitor(apiKey: key) { monitor in
            monitor.submit(dashboardRun(target: "lab.invalid", timestamp: Date(), rttMilliseconds: 12))
            #expect(try await monitor.waitForStoredRuns(1))
            let encodedKey = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let refused = try await httpGet(port: monitor.port, "/")
            #expect(refused.status == 401 && refused.text.contains("/?key=YOUR_KEY") && !refused.text.contains("lab.invalid"))
            #expect(try await httpGet(port: monitor.port, "/targets/lab.invalid?key=wrong").status == 401)
            #expect(try await httpGet(port: monitor.port, "/", headers: ["Cookie": "isp_checker_dashboard=00"]).status == 401)
            #expect(try await httpGet(port: monitor.port, "/", headers: ["X-API-Key": key]).status == 200)

            let redirect = try await httpGet(port: monitor.port, "/targets/lab.invalid?key=\(encodedKey)")
            #expect(redirect.status == 303 && redirect.headers["location"] == "/targets/lab.invalid")
            let setCookie = try #require(redirect.headers["set-cookie"])
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/"))
            let cookie = try #require(setCookie.split(separator: ";").first.map(String.init))
            #expect(!cookie.contains(key))
            let page = try await httpGet(port: monitor.port, "/targets/lab.invalid", headers: ["Cookie": cookie])
            #expect(page.status == 200 && page.text.contains("lab.invalid"))
            // The cookie opens the dashboard, not the API.
            #expect(try await httpGet(port: monitor.port, "/api/v1/runs", headers: ["Cookie": cookie]).status == 401)
        }
    }

    private func withDashboardMonitor(apiKey: String? = nil, _ body: (InProcessMonitor) async throws -> Void) async throws {
        try await withStore(.sqlite) { store, _ in
            let monitor = try await InProcessMonitor(store: store, apiKey: apiKey)
            do { try await body(monitor) } catch { await monitor.stop(); throw error }
            await monitor.stop()
        }
    }

    static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
}

/// A store that only has the protocol's required reads: the dashboard's defaults apply.
private struct PlainStore: RunStore {
    let inner: any RunStore
    var backendName: String { "plain" }
    func migrate() async throws {}
    func insert(_ reports: [RunReport]) async throws { try await inner.insert(reports) }
    func run(id: String) async throws -> StoredRun? { try await inner.run(id: id) }
    func runs(matching query: RunQuery) async throws -> RunPage { try await inner.runs(matching: query) }
    func deleteRuns(olderThan cutoff: Date) async throws -> Int { try await inner.deleteRuns(olderThan: cutoff) }
    func ping() async throws {}
}
