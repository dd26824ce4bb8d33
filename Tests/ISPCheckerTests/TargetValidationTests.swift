import Testing
@testable import ISPChecker
@testable import ISPCheckerAnalysis
@testable import ISPCheckerCore
@testable import ISPCheckerPrimitives
@testable import ISPCheckerResilience
@testable import ISPCheckerResults

/// Bad input must give a clear typed error before any packet or DNS query leaves.
@Suite struct TargetValidationTests {
    @Test(arguments: ["", "   ", "\t\n"])
    func emptyTargetIsRejected(_ target: String) async {
        await #expect(throws: ProbeError.emptyTarget) {
            _ = try await TargetResolver.resolve(target, preference: .any)
        }
    }

    @Test(arguments: ["999.1.1.1", "10.0.0.256", "1.2.3", "host name", "a..b", "-bad.example", "bad-.example",
                      "fd00::zz", "1:2:3", "exa mple.org", "under$core.org", String(repeating: "a", count: 64) + ".org"])
    func malformedTargetIsRejectedWithoutResolving(_ target: String) async throws {
        do {
            _ = try await TargetResolver.resolve(target, preference: .any)
            Issue.record("\(target) was accepted")
        } catch {
            guard case .malformedTarget(let echoed, let reason) = error else {
                Issue.record("expected malformedTarget for \(target), got \(error)")
                return
            }
            #expect(echoed == target)
            #expect(!reason.isEmpty)
        }
    }

    @Test func literalsResolveWithoutDNS() async throws {
        #expect(try await TargetResolver.resolve("10.99.4.2", preference: .any) == IPAddress("10.99.4.2"))
        #expect(try await TargetResolver.resolve(" fd00:99:4::2 ", preference: .any).family == .ipv6)
        #expect(try await TargetResolver.resolve("[::1]", preference: .ipv6).description == "::1")
    }

    @Test func familyMismatchIsRejected() async {
        await #expect(throws: ProbeError.self) {
            _ = try await TargetResolver.resolve("10.0.0.1", preference: .ipv6)
        }
    }

    @Test func countZeroIsRejected() {
        #expect(throws: ProbeError.invalidArgument(name: "count", reason: "must be between 1 and 1000000, got 0")) {
            try ProbeEngine.validatePingArguments(count: 0, interval: .seconds(1), timeout: .seconds(1), payloadSize: 56)
        }
    }

    @Test func negativeIntervalIsRejected() {
        #expect(throws: ProbeError.self) {
            try ProbeEngine.validatePingArguments(count: 1, interval: .milliseconds(-1), timeout: .seconds(1), payloadSize: 56)
        }
    }

    @Test func zeroTimeoutAndOddPayloadsAreRejected() {
        #expect(throws: ProbeError.self) {
            try ProbeEngine.validatePingArguments(count: 1, interval: .zero, timeout: .zero, payloadSize: 56)
        }
        for size in [0, 11, 1401] {
            #expect(throws: ProbeError.self) {
                try ProbeEngine.validatePingArguments(count: 1, interval: .zero, timeout: .seconds(1), payloadSize: size)
            }
        }
        #expect(throws: Never.self) {
            try ProbeEngine.validatePingArguments(count: 1, interval: .zero, timeout: .seconds(1), payloadSize: 12)
        }
    }

    @Test func errorsSayWhatToDo() {
        #expect(ProbeError.permissionDenied(hint: ProbeError.icmpPermissionHint).description.contains("CAP_NET_RAW"))
        #expect(ProbeError.permissionDenied(hint: ProbeError.icmpPermissionHint).description.contains("ping_group_range"))
        #expect(ProbeError.unresolvableTarget("x.lab", reason: "Name or service not known").description.contains("pass an IP address"))
    }
}
