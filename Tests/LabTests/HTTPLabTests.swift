import Foundation
import ISPChecker
import TestSupport
import Testing

/// The http probe against nginx in the lab, over HTTP and HTTPS with self-signed
/// certificates made by openssl at test time.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct HTTPLabTests {
    typealias Output = ServiceJSON<HTTPResult>

    @Test func httpsReportsEveryPhaseTheTLSVersionAndTheCertificatesDaysLeft() throws {
        let lab = try ServiceLab("svhttp1", servers: [.nginx])
        defer { lab.stop() }
        let output = try lab.cli(["http", "https://web.lab/", "--cacert", lab.trusted30, "--body-contains", "hello", "--json"])
        #expect(output.status == 0, "\(output.stderr)")
        let report = try #require(try Output(output).report)
        #expect(report.name == "http")
        #expect(report.status == .ok)
        #expect(report.string("outcome") == "ok")
        #expect(report.int("status_code") == 200)
        #expect(report.string("tls_version") == "TLSv1.3")
        #expect(report.int("cert_days_left") == 30)
        #expect(report.int("bytes") == 19)
        #expect(report.details["body_matched"] == .bool(true))
        let phases = ["dns_ms", "connect_ms", "tls_ms", "ttfb_ms"].map { report.number($0) ?? -1 }
        #expect(phases.allSatisfy { $0 > 0 }, "every phase happened: \(phases)")
        let total = try #require(report.number("total_ms"))
        #expect(phases.reduce(0, +) <= total + 0.001, "\(phases) add up to at most \(total)")
    }

    @Test func certificateExpiringWithinFourteenDaysWarns() throws {
        let lab = try ServiceLab("svhttp2", servers: [.nginx])
        defer { lab.stop() }
        let output = try lab.cli(["http", "https://web.lab:8443/", "--cacert", lab.trusted10, "--json"])
        #expect(output.status == 1, "warn exits 1: \(output.stderr)")
        let report = try #require(try Output(output).report)
        #expect(report.status == .warn)
        #expect(report.int("cert_days_left") == 10)
        #expect(report.error?.contains("expires in 10 days") == true)
    }

    @Test func plainHTTPFollowsRedirectsAndHasNoTLSPhase() throws {
        let lab = try ServiceLab("svhttp3", servers: [.nginx])
        defer { lab.stop() }
        let report = try #require(try Output(try lab.cli(["http", "http://web.lab/moved", "--json"])).report)
        #expect(report.status == .ok)
        #expect(report.int("redirects") == 1)
        #expect(report.string("effective_url") == "http://web.lab/index.html")
        #expect(report.details["tls_ms"] == nil)
        #expect(report.details["cert_days_left"] == nil)
        #expect((report.number("connect_ms") ?? 0) > 0)

        let notFollowed = try #require(try Output(try lab.cli(["http", "http://web.lab/moved", "--no-follow", "--expect-status", "302", "--json"])).report)
        #expect(notFollowed.status == .ok)
        #expect(notFollowed.int("status_code") == 302)
    }

    @Test func unexpectedStatusOrMissingBodyTextIsAnHTTPError() throws {
        let lab = try ServiceLab("svhttp4", servers: [.nginx])
        defer { lab.stop() }
        let missing = try lab.cli(["http", "http://\(ServiceLab.good)/missing", "--json"])
        #expect(missing.status == 2)
        let missingReport = try #require(try Output(missing).report)
        #expect(missingReport.status == .crit)
        #expect(missingReport.string("outcome") == "http_error")
        #expect(missingReport.int("status_code") == 404)

        let body = try #require(try Output(try lab.cli(["http", "http://web.lab/", "--body-contains", "goodbye", "--json"])).report)
        #expect(body.string("outcome") == "http_error")
        #expect(body.details["body_matched"] == .bool(false))

        let head = try #require(try Output(try lab.cli(["http", "http://web.lab/", "--head", "--json"])).report)
        #expect(head.status == .ok)
        #expect(head.string("method") == "HEAD")
        #expect(head.int("bytes") == 0)
    }

    @Test func untrustedCertificateIsATLSErrorUnlessVerificationIsOff() throws {
        let lab = try ServiceLab("svhttp5", servers: [.nginx])
        defer { lab.stop() }
        let untrusted = try #require(try Output(try lab.cli(["http", "https://web.lab/", "--json"])).report)
        #expect(untrusted.status == .crit)
        #expect(untrusted.string("outcome") == "tls_error")

        let insecure = try #require(try Output(try lab.cli(["http", "https://web.lab/", "--insecure", "--json"])).report)
        #expect(insecure.string("outcome") == "ok")
        #expect(insecure.int("cert_days_left") == 30)
    }

    @Test func closedFilteredAndUnreachableServersGiveDistinctOutcomes() throws {
        let lab = try ServiceLab("svhttp6", servers: [.nginx])
        defer { lab.stop() }
        func outcome(_ url: String) throws -> String? {
            try Output(try lab.cli(["http", url, "-W", "1", "--json"])).report?.string("outcome")
        }
        #expect(try outcome("http://\(ServiceLab.good):81/") == "refused")
        #expect(try outcome("http://\(ServiceLab.good):8081/") == "timeout")
        #expect(try outcome("http://10.66.0.1/") == "network_unreachable")
    }

    @Test func cancellingTheTaskEndsATransferAtOnce() async throws {
        let lab = try ServiceLab("svhttp7", servers: [])
        defer { lab.stop() }
        let probe = HTTPProbe(options: HTTPProbeOptions(timeout: .seconds(30), connectTimeout: .seconds(30), networkNamespace: lab.lab.client))
        let task = Task { try await probe.fetch("http://\(ServiceLab.good):8081/") }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        task.cancel()
        await #expect(throws: ProbeError.cancelled) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(10), "cancellation ends the 30 s connect wait")
    }
}

/// Bad input through the CLI: exit status 2 and the typed error's text, before anything is sent
/// (run in a lab namespace all the same, so that a bug could not send anything out).
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct ServiceCLIInputTests {
    @Test func badInputExitsTwoWithTheTypedErrorsText() throws {
        let lab = try ServiceLab("svinput", servers: [])
        defer { lab.stop() }
        for (arguments, message) in [
            (["dns", "", "-r", ServiceLab.good], "empty name"),
            (["dns", "a..lab", "-r", ServiceLab.good], "malformed DNS name"),
            (["dns", "www.lab", "-r", "dns.lab"], "is not an IP address"),
            (["http", "ftp://web.lab/"], "unsupported scheme 'ftp'"),
            (["http", "web.lab/index.html"], "malformed URL"),
            (["tcp", "web.lab"], "malformed target"),
        ] {
            let output = try lab.cli(arguments)
            #expect(output.status == 64, "\(arguments): \(output.stderr)")
            #expect(output.stderr.contains(message), "\(arguments): \(output.stderr)")
        }
        let badOption = try lab.cli(["dns", "www.lab", "-t", "NOPE", "-r", ServiceLab.good])
        #expect(badOption.status == 64)
    }
}

/// The tcp probe: open, closed, filtered and unreachable ports.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct TCPLabTests {
    typealias Output = ServiceJSON<TCPResult>

    @Test func openClosedFilteredAndUnreachablePortsGiveDistinctOutcomes() throws {
        let lab = try ServiceLab("svtcp1", servers: [.nginx])
        defer { lab.stop() }
        let open = try lab.cli(["tcp", "\(ServiceLab.good):80", "--json"])
        #expect(open.status == 0, "\(open.stderr)")
        let openReport = try #require(try Output(open).report)
        #expect(openReport.name == "tcp")
        #expect(openReport.status == .ok)
        #expect(openReport.string("outcome") == "ok")
        #expect((openReport.number("connect_ms") ?? 0) > 0)
        #expect(openReport.int("port") == 80)

        let closed = try #require(try Output(try lab.cli(["tcp", "\(ServiceLab.good):81", "--json"])).report)
        #expect(closed.status == .crit)
        #expect(closed.string("outcome") == "refused")

        let filtered = try #require(try Output(try lab.cli(["tcp", "\(ServiceLab.good):8081", "-W", "0.5", "--json"])).report)
        #expect(filtered.status == .crit)
        #expect(filtered.string("outcome") == "timeout")
        #expect(filtered.details["connect_ms"] == nil)

        let unreachable = try #require(try Output(try lab.cli(["tcp", "10.66.0.1:80", "--json"])).report)
        #expect(unreachable.string("outcome") == "network_unreachable")
    }

    @Test func bulkTargetsFileKeepsItsOrderAndEachOutcome() throws {
        let lab = try ServiceLab("svtcp2", servers: [.nginx])
        defer { lab.stop() }
        let file = lab.directory + "/hosts.csv"
        try "\(ServiceLab.good):80\n\(ServiceLab.good),81\n\n\(ServiceLab.good):8081\nweb.lab:443\n".write(toFile: file, atomically: true, encoding: .utf8)
        let output = try lab.cli(["tcp", "--targets", file, "-W", "0.5", "--concurrency", "2", "--json"])
        #expect(output.status == 2)
        let bulk = try BulkJSON<TCPResult>(output)
        #expect(bulk.results.map { $0.report?.string("outcome") } == ["ok", "refused", "timeout", "ok"])
        #expect(bulk.results.map { $0.report?.int("port") } == [80, 81, 8081, 443])
    }
}
