import Foundation
import ISPChecker
@testable import ISPCheckerMonitor
import Testing
import TestSupport

/// The dashboard in a real browser: the monitor serves a history the test recorded (30 days of
/// one target, a day of two more), headless Chromium (Debian `chromium`, scripts/install-deps.sh)
/// opens `/` and `/targets/…` through the `?key=` cookie flow, and the DOM it built is checked
/// for the targets, the scores and drawn graphs. Screenshots are kept under
/// `.build/test-artefacts/dashboard/` and their paths printed.
///
/// Chromium is told to reach nothing but 127.0.0.1 (every other name fails to resolve, no
/// background or component traffic), so the test sends packets only to loopback.
@Suite("Dashboard in a browser", .serialized)
struct DashboardBrowserTests {
    static let chromium = "/usr/bin/chromium"
    static let key = "browser-test-key"

    @Test("Chromium renders the overview and a target page: targets, scores, a median line of many points")
    func chromiumRendersDashboard() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.chromium),
                "Chromium is missing: install Debian's chromium (scripts/install-deps.sh) to run the dashboard's browser test")
        guard FileManager.default.isExecutableFile(atPath: Self.chromium) else { return }
        let now = Date()
        try await withStore(.sqlite) { store, _ in
            _ = try await fillDashboardHistory(store, target: "lab.invalid", now: now, days: 30, every: 600)
            try await store.insert([
                dashboardRun(target: "edge.invalid", timestamp: now.addingTimeInterval(-3600), rttMilliseconds: 48, lossPercent: 35, withTrace: true),
                dashboardRun(target: "<i>dns</i>.invalid", timestamp: now.addingTimeInterval(-90), rttMilliseconds: 4),
            ])
            let monitor = try await InProcessMonitor(store: store, apiKey: Self.key)
            monitor.state.setCircuitBreakerState(.closed, target: "lab.invalid")
            monitor.state.setCircuitBreakerState(.open, target: "edge.invalid")
            do {
                try await check(port: monitor.port)
            } catch {
                await monitor.stop(); throw error
            }
            await monitor.stop()
        }
    }

    private func check(port: Int) async throws {
        let artefacts = Self.artefactDirectory()
        let base = "http://127.0.0.1:\(port)"

        // The overview, through ?key= (a 303 that sets the cookie, then the page with it).
        let overview = try await Self.chromium(["--dump-dom", "\(base)/?key=\(Self.key)"], profile: "\(artefacts)/profile-overview")
        #expect(overview.contains("data-target=\"lab.invalid\"") && overview.contains("data-target=\"edge.invalid\""))
        #expect(overview.contains("&lt;i&gt;dns&lt;/i&gt;.invalid"), "the hostile name shown as text")
        #expect(!overview.contains("<i>dns</i>"))
        let edgeRow = try #require(overview.firstMatch(of: /data-target="edge\.invalid".*?<td class="score">([0-9.]+)<\/td>/.dotMatchesNewlines())?.1)
        #expect(Double(edgeRow) == 74.8)
        #expect(overview.contains(">open</span>"))

        // A target page: four latency graphs, each an <svg> whose median path has many points.
        let targetURL = "\(base)/targets/lab.invalid?key=\(Self.key)"
        let page = try await Self.chromium(["--dump-dom", targetURL], profile: "\(artefacts)/profile-target")
        #expect(page.contains("<h1 class=\"target-name\">lab.invalid</h1>"))
        #expect(page.firstMatch(of: /<span class="score big">[0-9]+\.[0-9]<\/span>/) != nil)
        let medians = page.matches(of: /<svg[^>]*class="graph latency"[^>]*>.*?<path class="median"[^>]* d="([^"]*)"/.dotMatchesNewlines())
        #expect(medians.count == 4)
        for median in medians {
            #expect(median.1.filter { $0 == "L" }.count >= 15, "a median line of several points")
        }
        #expect(page.contains("L=16001 TC=0 S=1 TTL=1"))
        #expect(page.contains("Diagnosis history"))

        // Screenshots, kept as artefacts.
        for (name, url) in [("overview", "\(base)/?key=\(Self.key)"), ("target", targetURL)] {
            let file = "\(artefacts)/dashboard-\(name).png"
            try? FileManager.default.removeItem(atPath: file)
            _ = try await Self.chromium(["--screenshot=\(file)", "--window-size=1280,900", "--hide-scrollbars", url],
                                        profile: "\(artefacts)/profile-shot-\(name)")
            let png = try #require(FileManager.default.contents(atPath: file), "no screenshot at \(file)")
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000)
            print("dashboard screenshot: \(file) (\(png.count) bytes)")
        }
    }

    /// `.build/test-artefacts/dashboard` in the package.
    static func artefactDirectory() -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent(".build/test-artefacts/dashboard").path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Runs headless Chromium (at most 90 s) with a fresh profile; returns its standard output.
    static func chromium(_ arguments: [String], profile: String) async throws -> String {
        try? FileManager.default.removeItem(atPath: profile)
        let flags = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)",
            // Loopback only: no name resolves (127.0.0.1 is an address), no proxy, no background traffic.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-proxy-server",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-domain-reliability", "--no-pings", "--no-first-run", "--disable-default-apps",
            "--disable-features=MediaRouter,OptimizationHints,Translate", "--virtual-time-budget=5000",
        ]
        let output = try await onOwnThread { try run("/usr/bin/timeout", ["90", chromium] + flags + arguments) }
        defer { try? FileManager.default.removeItem(atPath: profile) }
        return output.stdout
    }
}
