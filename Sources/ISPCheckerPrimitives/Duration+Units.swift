// Duration in the units the C core, the reports and the logs take: the one place for these
// conversions.
extension Duration {
    /// The duration in milliseconds, as a floating-point number for reports.
    package var inMilliseconds: Double {
        Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
    }

    /// The duration in seconds, with fractions.
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The whole duration in nanoseconds, saturating at `Int64.max` (`Int64.min` below zero).
    package var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (fromSeconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (total, overflow2) = fromSeconds.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? Int64.min : Int64.max }
        return total
    }

    /// Whole milliseconds for a C timeout, at least 1.
    package var clampedMilliseconds: Int32 {
        let ms = components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(1, ms))
    }

    package var isPositive: Bool { self > .zero }
}
