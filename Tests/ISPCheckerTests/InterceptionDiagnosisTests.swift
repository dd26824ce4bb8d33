import Foundation
import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerResults

/// Issue 20, items 3 and 4: DNS answered by a middlebox is a "DNS Interception" fault located at
/// the hop that answers hop-limited queries; a check URL that gets a redirect or another page is
/// a "Captive Portal" fault that the outage rules give way to.
@Suite struct InterceptionDiagnosisTests {
    func interception(identity: String? = nil, expectedIdentity: String? = nil, canaryAnswered: Bool? = nil,
                      answers: [String] = [], expectedAnswers: [String] = [], hop: Int? = nil) -> DNSInterceptionResult {
        DNSInterceptionResult(resolver: "10.99.5.2:53", identity: identity, expectedIdentity: expectedIdentity,
                              canary: canaryAnswered == nil ? nil : "10.99.5.9:53", canaryAnswered: canaryAnswered,
                              canaryIdentity: canaryAnswered == true ? identity : nil,
                              checkedName: expectedAnswers.isEmpty ? nil : "check.lab", expectedAnswers: expectedAnswers,
                              answers: answers, interceptingHop: hop, durationMilliseconds: 40)
    }

    func portal(status: Int? = 302, location: String? = "http://10.99.1.2/login", title: String? = "Hotspot Login",
                bodyMatched: Bool? = nil) -> CaptivePortalResult {
        CaptivePortalResult(url: "http://10.99.5.2/generate_204", expectedStatus: 204, statusCode: status, location: location,
                            title: title, serverAddress: "10.99.5.2", bodyMatched: bodyMatched, durationMilliseconds: 3)
    }

    @Test func aCanaryThatAnswersIsInterceptionAtTheHopThatAnswersHopLimitedQueries() throws {
        let result = interception(identity: "intercept-r2", canaryAnswered: true, hop: 2)
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(dnsInterception: result)], trace: Fixture.cleanTrace())
        let fault = try #require(report.faults.first { $0.component == DiagnosisComponent.dnsInterception })
        #expect(fault.hop == 2 && abs(fault.confidence - 0.95) < 0.001)
        #expect(fault.explanation.contains("hop 2 (10.99.2.2), your ISP's access network"), "\(fault.explanation)")
        #expect(fault.evidence.contains { $0.detail.contains("10.99.5.9:53 runs no resolver") })
        #expect(report.probe(ProbeName.dnsInterception)?.status == .warn)
    }

    @Test func interceptionAtHop1IsTheRoutersToTurnOff() throws {
        let result = interception(identity: "router", expectedIdentity: "resolver-1", hop: 1)
        let fault = try #require(Fixture.analyze([Fixture.ping(), ProbeReport(dnsInterception: result)], trace: Fixture.cleanTrace())
            .faults.first { $0.component == DiagnosisComponent.dnsInterception })
        #expect(fault.explanation.contains("your own router") && fault.suggestedAction.contains("on your router"))
        #expect(fault.evidence.contains { $0.detail.contains("\"router\", not its known identity \"resolver-1\"") })
        #expect(abs(fault.confidence - 0.85) < 0.001)
    }

    @Test func otherAnswersWithoutALocatedHopAreInterceptionBetweenYouAndTheResolver() throws {
        let result = interception(answers: ["10.99.2.2"], expectedAnswers: ["10.99.5.2"])
        #expect(result.intercepted && result.answersMismatch)
        let fault = try #require(Fixture.analyze([Fixture.ping(), ProbeReport(dnsInterception: result)], trace: Fixture.cleanTrace())
            .faults.first { $0.component == DiagnosisComponent.dnsInterception })
        #expect(fault.hop == nil && fault.explanation.contains("between you and 10.99.5.2:53"))
        #expect(abs(fault.confidence - 0.7) < 0.001)
    }

    @Test func theKnownIdentityAndAnswersAndASilentCanaryAreNoInterception() {
        let result = interception(identity: "resolver-1", expectedIdentity: "resolver-1", canaryAnswered: false,
                                  answers: ["10.99.5.2"], expectedAnswers: ["10.99.5.2"])
        #expect(!result.intercepted)
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(dnsInterception: result)], trace: Fixture.cleanTrace())
        #expect(report.faults.isEmpty, "\(report.diagnosis)")
        #expect(report.probe(ProbeName.dnsInterception)?.status == .ok)
    }

    @Test func aResolverThatGivesNoIdentityIsNoEvidence() {
        #expect(!interception(identity: nil, expectedIdentity: "resolver-1").intercepted)
    }

    @Test func aRedirectInsteadOfTheFixedAnswerIsACaptivePortalWithItsLocationAndTitle() throws {
        let report = Fixture.analyze([Fixture.ping(), ProbeReport(captivePortal: portal())], trace: Fixture.cleanTrace())
        let fault = try #require(report.faults.first)
        #expect(fault.component == DiagnosisComponent.captivePortal && abs(fault.confidence - 0.95) < 0.001)
        #expect(fault.explanation.contains("http://10.99.1.2/login"))
        #expect(fault.evidence.map(\.detail) == ["http://10.99.5.2/generate_204 answered HTTP 302 instead of 204 from 10.99.5.2",
                                                  "Location: http://10.99.1.2/login", "page title: \"Hotspot Login\""])
        #expect(report.probe(ProbeName.captivePortal)?.status == .crit)
    }

    @Test func aLoginPageWithoutTheExpectedTextIsACaptivePortal() throws {
        let result = portal(status: 204, location: nil, bodyMatched: false)
        #expect(result.portalDetected)
        let fault = try #require(Fixture.analyze([Fixture.ping(), ProbeReport(captivePortal: result)], trace: Fixture.cleanTrace()).faults.first)
        #expect(fault.component == DiagnosisComponent.captivePortal && abs(fault.confidence - 0.85) < 0.001)
    }

    @Test func thePortalExplainsARunWhereEverythingElseFails() throws {
        // Portals drop everything else: ping and the trace get nothing past the gateway.
        let report = Fixture.analyze([Fixture.ping(loss: 100, avg: nil), ProbeReport(captivePortal: portal())], trace: nil)
        #expect(report.faults.first?.component == DiagnosisComponent.captivePortal, "\(report.diagnosis)")
        #expect(!report.faults.contains { $0.component == DiagnosisComponent.upstream })
    }

    @Test func theFixedAnswerOrNoResponseIsNoPortal() {
        #expect(!portal(status: 204, location: nil).portalDetected)
        let silent = portal(status: nil, location: nil, title: nil)
        #expect(!silent.portalDetected && ProbeReport(captivePortal: silent).status == .warn)
    }

    @Test func titlesAreReadCaseInsensitivelyAndCollapsed() {
        #expect(CaptivePortalResult.title(ofHTML: "<HTML><Title lang=en>\n  Hotel  Wi-Fi\tLogin </TITLE>") == "Hotel Wi-Fi Login")
        #expect(CaptivePortalResult.title(ofHTML: "<title>İstanbul Havalimanı</title>") == "İstanbul Havalimanı")
        #expect(CaptivePortalResult.title(ofHTML: "<title>never closed") == nil)
        #expect(CaptivePortalResult.title(ofHTML: "") == nil)
    }

    @Test func theEntriesReadBackFromTheirDetails() {
        let dns = ProbeReport(dnsInterception: interception(identity: "x", canaryAnswered: true, hop: 3))
        #expect(ProbeMeasurement(name: dns.name, details: dns.details) == dns.measurement)
        #expect(dns.measurement.dnsInterception?.interceptingHop == 3)
        let http = ProbeReport(captivePortal: portal())
        #expect(ProbeMeasurement(name: http.name, details: http.details) == http.measurement)
        #expect(http.measurement.captivePortal?.location == "http://10.99.1.2/login")
    }
}
