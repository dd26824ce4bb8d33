import ISPChecker
import Testing
@testable import isp_checker

/// `sweep --targets FILE`: one address or prefix per line, `#` comments, blank lines, LF or
/// CRLF endings, spaces and tabs around; what is left goes to `SweepTargets.expand`.
@Suite struct TargetLinesTests {
    @Test func readsOneSpecPerLineWithoutCommentsOrBlanks() throws {
        let text = "# lab targets\n10.77.128.1\r\n  10.77.128.2\t# the second\n\n\t\n10.77.129.0/30   \r\n#10.77.130.1\n2001:db8::1"
        #expect(SweepCommand.targetLines(text) == ["10.77.128.1", "10.77.128.2", "10.77.129.0/30", "2001:db8::1"])
        #expect(SweepCommand.targetLines("") == [])
        #expect(SweepCommand.targetLines("\n\r\n#only a comment\n   \n") == [])
        #expect(SweepCommand.targetLines("10.0.0.1") == ["10.0.0.1"], "no newline at the end")
    }

    @Test func otherWhitespaceIsLeftToExpandAndOtherTextIsRefusedThere() throws {
        // A no-break space is not trimmed here; expand trims every Unicode space.
        let lines = SweepCommand.targetLines("\u{A0}10.77.128.1\u{A0}\n10.77.128.2\u{301}\n")
        #expect(lines == ["\u{A0}10.77.128.1\u{A0}", "10.77.128.2\u{301}"])
        #expect(try SweepTargets.expand([lines[0]]).map(\.description) == ["10.77.128.1"])
        #expect(throws: ProbeError.self) { try SweepTargets.expand([lines[1]]) }
    }

    @Test func aLargeFileKeepsEveryLineInOrder() {
        let addresses = (0..<65_536).map { "10.78.\($0 / 256).\($0 % 256)" }
        #expect(SweepCommand.targetLines(addresses.joined(separator: "\r\n") + "\r\n") == addresses)
    }
}
