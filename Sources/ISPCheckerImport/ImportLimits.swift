import ISPCheckerResults

/// The ranges imported numbers must fall in: the run report's own (`ReportLimits` in
/// ISPCheckerAnalysis, which this target cannot see; a test keeps the two equal), so that every
/// imported result makes a report that decodes again, plus bounds on how much of a file is read.
enum ImportLimits {
    static let milliseconds: ClosedRange<Double> = 0...86_400_000
    static let percent: ClosedRange<Double> = 0...100
    static let count: ClosedRange<Double> = 0...100_000_000
    static let ttl: ClosedRange<Double> = 1...255
    static let maximumHops = 255
    static let maximumAddressesPerHop = 10_000
    static let rounds: ClosedRange<Double> = 1...100_000
    /// Replies or probes in one list of a file (a hop's replies, a ping's results): a million.
    static let maximumListEntries = 1_000_000
    /// Results (records) in one file: a hundred thousand.
    static let maximumRecords = 100_000
    /// Seconds since 1970 up to the year 9999: a timestamp outside is ignored.
    static let unixSeconds: ClosedRange<Double> = 0...253_402_300_799
}

/// Checks one number of an imported file, naming its place when it is out of range.
struct ImportCheck {
    var format: ImportFormat

    func number(_ value: Double, _ field: @autoclosure () -> String, in range: ClosedRange<Double>, integer: Bool = false) throws(ImportError) -> Double {
        guard value.isFinite, range.contains(value), !integer || value.rounded(.towardZero) == value else {
            throw .valueOutOfRange(format: format, field: field(), value: "\(value)", allowed: Self.describe(range, integer: integer))
        }
        return value
    }

    func integer(_ value: Double, _ field: @autoclosure () -> String, in range: ClosedRange<Double>) throws(ImportError) -> Int {
        Int(try number(value, field(), in: range, integer: true))
    }

    static func describe(_ range: ClosedRange<Double>, integer: Bool) -> String {
        func text(_ bound: Double) -> String { bound.rounded() == bound && abs(bound) < 1e16 ? String(Int(bound)) : String(bound) }
        return "\(integer ? "whole numbers" : "range") \(text(range.lowerBound)) … \(text(range.upperBound))"
    }

    /// An MPLS label stack entry (RFC 3032 §2.1: 20-bit label, 3-bit traffic class, S bit, TTL).
    func mpls(label: Double, trafficClass: Double, bottom: Double, ttl: Double, _ field: String) throws(ImportError) -> MPLSLabel {
        MPLSLabel(label: UInt32(try integer(label, "\(field).label", in: 0...1_048_575)),
                  trafficClass: UInt8(try integer(trafficClass, "\(field).traffic_class", in: 0...7)),
                  bottomOfStack: try integer(bottom, "\(field).s", in: 0...1) == 1,
                  ttl: UInt8(try integer(ttl, "\(field).ttl", in: 0...255)))
    }
}
