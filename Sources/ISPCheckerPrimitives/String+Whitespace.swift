extension String {
    /// The text without leading and trailing white space (Unicode's, as Foundation trims).
    package func trimmingWhitespace() -> String {
        // Most text (every line of a sweep's targets file) starts and ends with a printable
        // ASCII byte: nothing to trim, and no Unicode property to look up.
        if let first = utf8.first, let last = utf8.last, (0x21..<0x7F).contains(first), (0x21..<0x7F).contains(last) {
            return self
        }
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[start...end])
    }
}
