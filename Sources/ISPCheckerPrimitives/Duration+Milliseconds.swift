extension Duration {
    /// The duration in milliseconds, as a floating-point number for reports.
    package var inMilliseconds: Double {
        Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
    }
}
