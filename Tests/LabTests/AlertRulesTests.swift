import Foundation
import Testing

/// docs/alerts.yml is what users load into Prometheus: it must parse, and each alert must fire
/// on the series that should fire it (docs/alerts-test.yml) and on nothing else.
/// promtool comes with Debian's prometheus package (scripts/install-deps.sh).
@Suite struct AlertRulesTests {
    static let docs = repositoryRoot.appendingPathComponent("docs").path

    @Test func theAlertRulesPassPromtoolsCheck() throws {
        let result = try run("/usr/bin/promtool", ["check", "rules", "\(Self.docs)/alerts.yml"], check: false)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS: 10 rules found"), "\(result.stdout)")
    }

    @Test func eachAlertFiresOnItsSignatureAndNotOnAHealthyTarget() throws {
        let result = try run("/usr/bin/promtool", ["test", "rules", "\(Self.docs)/alerts-test.yml"], check: false)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
