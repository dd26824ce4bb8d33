import Foundation
import ISPChecker
import TestSupport
import Testing

/// Issue 20, items 3 and 4, on real packets in the realistic lab: a router that redirects DNS
/// to its own resolver (`lab.sh dns-intercept`) and one that answers HTTP with a portal
/// (`lab.sh captive-portal`), each seen first on the clean path (no false alarm), then with
/// the middlebox; and `isp-checker lab` with the two new scenarios.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
struct InterceptionLabTests {
    @Test func dnsInterceptionIsSeenByCanaryIdentityAndAnswersAndLocatedAtItsHop() async throws {
        // realistic: the routers' ICMP errors (time exceeded for the hop-limited queries) are limited.
        let lab = try Lab.up("dnsint", realistic: true)
        defer { lab.down() }
        // The destination runs no resolver: on a clean path nothing answers either address.
        let resolver = try DNSResolverAddress(parsing: lab.destination4)
        let canary = try DNSResolverAddress(parsing: "10.99.4.9")
        let options = DNSInterceptionOptions(resolver: resolver, expectedIdentity: "resolver-d", canary: canary,
                                             checkedName: "check.lab", expectedAnswers: [lab.destination4],
                                             maxHops: 8, timeout: .milliseconds(400), networkNamespace: lab.client)
        let clean = try await DNSInterceptionProbe(options: options).run()
        #expect(clean.canaryAnswered == false && clean.identity == nil && clean.answers.isEmpty, "\(clean)")
        #expect(clean.interceptingHop == nil && !clean.intercepted, "a silent resolver is no interception")

        try lab.configure("dns-intercept", ["--node", "r2"])
        let found = try await DNSInterceptionProbe(options: options).run()
        #expect(found.intercepted)
        #expect(found.canaryAnswered == true && found.canaryIdentity == "intercept-r2", "\(found)")
        #expect(found.identity == "intercept-r2")
        #expect(found.answers == [lab.router4(2)], "check.lab from the interceptor: \(found.answers)")
        #expect(found.interceptingHop == 2, "the hop-limited queries are answered from hop 2 on: \(found)")
    }

    @Test func aCaptivePortalIsTheRedirectAndTitleOfWhatCameInstead() async throws {
        let lab = try Lab.up("portal", realistic: true)
        defer { lab.down() }
        let options = CaptivePortalOptions(url: "http://\(lab.destination4)/generate_204", expectedStatus: 204,
                                           timeout: .seconds(2), networkNamespace: lab.client)
        // No web server on the destination: refused, so the probe cannot tell (no portal).
        let clean = try await CaptivePortalProbe(options: options).run()
        #expect(clean.statusCode == nil && !clean.portalDetected && clean.error != nil, "\(clean)")

        try lab.configure("captive-portal", ["--node", "r1"])
        let found = try await CaptivePortalProbe(options: options).run()
        #expect(found.portalDetected)
        #expect(found.statusCode == 302 && found.location == "http://\(lab.router4(1))/login", "\(found)")
        #expect(found.title == "Redirecting")
        let report = ProbeReport(captivePortal: found)
        #expect(report.status == .crit && report.details["location"] == .string("http://\(lab.router4(1))/login"))
    }

    func labReport(_ scenario: String) throws -> (status: Int32, report: RunReport) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-h5-\(scenario)-\(getpid()).json").path
        defer { unlink(file) }
        let result = try run(cliPath, ["lab", "--scenario", scenario, "--json", "--output", file], check: false)
        let json = try String(contentsOfFile: file, encoding: .utf8)
        #expect(try ReportSchema.violations(ofJSON: Data(json.utf8)) == [], "\(scenario)")
        return (result.status, try RunReport.decoder.decode(RunReport.self, from: Data(json.utf8)))
    }

    @Test func theDNSInterceptionScenarioIsAFaultAtHop2() throws {
        let (_, report) = try labReport("dns-interception")
        let fault = try #require(report.faults.first { $0.component == "DNS Interception" }, "\(report.diagnosis)")
        #expect(fault.hop == 2 && fault.explanation.contains("hop 2 (10.99.2.2)"), "\(fault)")
        #expect(report.probe("dns_interception")?.status == .warn)
        #expect(report.probe("dns_interception")?.details["intercepting_hop"] == .int(2))
    }

    @Test func theCaptivePortalScenarioIsACaptivePortalFaultWithItsLocation() throws {
        let (status, report) = try labReport("captive-portal")
        #expect(status == 2)
        let fault = try #require(report.faults.first, "\(report.diagnosis)")
        #expect(fault.component == "Captive Portal" && fault.explanation.contains("http://10.99.1.2/login"), "\(fault)")
        #expect(report.probe("captive_portal")?.details["status_code"] == .int(302))
    }
}
