import ISPCheckerPrimitives
import Testing

/// `trimmingWhitespace`, which every target, header and configuration value goes through: the
/// ASCII fast path must give what the Unicode path gives.
@Suite struct WhitespaceTests {
    @Test func trimsUnicodeWhitespaceAtBothEndsOnly() {
        let cases: [(String, String)] = [
            ("10.77.128.1", "10.77.128.1"), ("  10.77.128.1\t", "10.77.128.1"), ("\u{A0}a b\u{2003}", "a b"),
            ("\r\n x \n", "x"), ("", ""), ("   ", ""), ("a", "a"), ("é", "é"), (" é ", "é"),
            ("a\u{301}", "a\u{301}"), ("\u{7F}x\u{7F}", "\u{7F}x\u{7F}"), ("~", "~"), ("!", "!"),
        ]
        for (text, trimmed) in cases {
            #expect(text.trimmingWhitespace() == trimmed, "\(text.unicodeScalars.map { $0.value })")
        }
    }
}
