import ISPCheckerResults

/// The ranges every number of a saved run report must fall in. A report is read back by
/// `run --mode replay` and by the monitor (its history, which a shared PostgreSQL may hold rows
/// of other writers in): a crafted or damaged number there (`"status_code": 1e300`, a hop `ttl`
/// of `Int.max`) must be refused when decoded, by name, and never reach the arithmetic and the
/// integer conversions of grading and diagnosis. The ranges are wide: every report this library
/// writes is inside them (docs/report-schema.md lists them).
public enum ReportLimits {
    /// Any duration in milliseconds (latencies, phases, a trace's duration): 0 … one day.
    public static let milliseconds: ClosedRange<Double> = 0...86_400_000
    /// Percentages (`packet_loss`): 0 … 100.
    public static let percent: ClosedRange<Double> = 0...100
    /// Counters (packets, replies, echoes, redirects, hops): 0 … 100,000,000.
    public static let count: ClosedRange<Double> = 0...100_000_000
    /// A hop's TTL: 1 … 255 (the IP header's 8 bits; 0 is never sent).
    public static let ttl: ClosedRange<Double> = 1...255
    /// Hops in one trace: at most 255.
    public static let maximumHops = 255
    /// Addresses that answered at one hop: at most 10,000 (a trace's rounds × probes).
    public static let maximumAddressesPerHop = 10_000
    /// A trace's rounds, as `TraceOptions.validate` allows them.
    public static let rounds: ClosedRange<Double> = 1...100_000
    /// HTTP status codes: 0 … 999 (three digits).
    public static let statusCode: ClosedRange<Double> = 0...999
    /// Days a certificate has left (negative once expired): ± 1,000,000.
    public static let certificateDays: ClosedRange<Double> = -1_000_000...1_000_000
    /// Every other number in `details`: ± 2^53, where a Double still holds every integer, so a
    /// conversion to `Int` is exact.
    public static let anyNumber: ClosedRange<Double> = -9_007_199_254_740_992...9_007_199_254_740_992
    /// The health score: 0 … 100.
    public static let score: ClosedRange<Double> = 0...100
    /// A diagnosis's confidence: 0 … 1.
    public static let confidence: ClosedRange<Double> = 0...1
    /// The hop an evidence entry names: 0 … 256 (one past the last possible hop: "dark from here").
    public static let evidenceHop: ClosedRange<Double> = 0...256

    /// The range of a `details` number under this key.
    static func detailRange(_ key: String) -> ClosedRange<Double> {
        switch key {
        case "packet_loss": return percent
        case "status_code": return statusCode
        case "cert_days_left": return certificateDays
        case "packets_sent", "packets_received", "redirects", "hops", "answers": return count
        case "port": return 0...65_535
        case _ where key.hasSuffix("_ms"): return milliseconds
        default: return anyNumber
        }
    }
}

/// A number in a saved run report that is outside the range the schema allows (`ReportLimits`):
/// the report is damaged or crafted. Nothing of it is used.
public struct ReportValueError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Where the number is, as a path into the JSON: `probes[0].details.status_code`, `trace.hops[2].ttl`.
    public var field: String
    /// The number as it was read.
    public var value: String
    /// The range allowed there, in words.
    public var allowed: String

    public var description: String {
        "\(field) is \(value), outside the allowed \(allowed): the report is damaged or was crafted; fix or drop it"
    }
}

/// Checks one number against its range, naming the field when it is out.
struct ReportRangeCheck {
    var field: String

    func check(_ value: Double, in range: ClosedRange<Double>, integer: Bool = false) throws(ReportValueError) {
        let whole = !integer || value.rounded(.towardZero) == value
        guard value.isFinite, range.contains(value), whole else {
            throw ReportValueError(field: field, value: "\(value)", allowed: Self.describe(range, integer: integer))
        }
    }

    func check(_ value: Int, in range: ClosedRange<Double>) throws(ReportValueError) {
        // Every bound is a whole number well inside ±2^53, so comparing as Double is exact
        // enough: an Int far outside a range converts to a Double far outside it too.
        guard range.contains(Double(value)) else {
            throw ReportValueError(field: field, value: "\(value)", allowed: Self.describe(range, integer: true))
        }
    }

    static func describe(_ range: ClosedRange<Double>, integer: Bool) -> String {
        func text(_ bound: Double) -> String {
            bound.rounded() == bound && abs(bound) < 1e16 ? String(Int(bound)) : String(bound)
        }
        return "\(integer ? "whole numbers" : "range") \(text(range.lowerBound)) … \(text(range.upperBound))"
    }
}

extension RunReport {
    /// Every number of a decoded report inside `ReportLimits`; the first one that is not, by name.
    static func validateDecodedValues(probes: [ProbeReport], score: Double, diagnosis: [Diagnosis],
                                      trace: TraceResult?) throws(ReportValueError) {
        try ReportRangeCheck(field: "score").check(score, in: ReportLimits.score)
        for (index, probe) in probes.enumerated() {
            try probe.validateDetails(field: "probes[\(index)].details")
        }
        for (index, entry) in diagnosis.enumerated() {
            try ReportRangeCheck(field: "diagnosis[\(index)].confidence").check(entry.confidence, in: ReportLimits.confidence)
            for (evidenceIndex, evidence) in entry.evidence.enumerated() {
                if let hop = evidence.hop {
                    try ReportRangeCheck(field: "diagnosis[\(index)].evidence[\(evidenceIndex)].hop").check(hop, in: ReportLimits.evidenceHop)
                }
            }
        }
        try trace?.validate(field: "trace")
    }

    /// A check over both families has one verdict per family: at most two, each family once,
    /// scores and hops in range.
    static func validateDecodedFamilies(_ families: [FamilyVerdict]?) throws(ReportValueError) {
        guard let families else { return }
        try ReportRangeCheck(field: "families.count").check(families.count, in: 1...2)
        for (index, verdict) in families.enumerated() {
            try ReportRangeCheck(field: "families[\(index)].score").check(verdict.score, in: ReportLimits.score)
            if let hop = verdict.lastAnsweringHop {
                try ReportRangeCheck(field: "families[\(index)].last_answering_hop").check(hop, in: ReportLimits.evidenceHop)
            }
        }
        if families.count == 2 && families[0].family == families[1].family {
            throw ReportValueError(field: "families", value: "\(families[0].family) twice", allowed: "one verdict per family")
        }
    }
}

extension ProbeReport {
    /// Every number in `details` inside the range its key allows (`ReportLimits.detailRange`).
    func validateDetails(field: String) throws(ReportValueError) {
        for (key, value) in details {
            let check = ReportRangeCheck(field: "\(field).\(key)")
            switch value {
            case .int(let number): try check.check(number, in: ReportLimits.detailRange(key))
            case .double(let number): try check.check(number, in: ReportLimits.detailRange(key))
            case .string, .bool, .strings: continue
            }
        }
    }
}

extension TraceResult {
    /// Every number of a decoded trace inside `ReportLimits`, named by its JSON key.
    func validate(field: String) throws(ReportValueError) {
        try ReportRangeCheck(field: "\(field).rounds").check(rounds, in: ReportLimits.rounds)
        try ReportRangeCheck(field: "\(field).duration_ms").check(durationMilliseconds, in: ReportLimits.milliseconds)
        if case .unreachable(let code) = stop {
            try ReportRangeCheck(field: "\(field).stop_unreachable.code").check(code.code, in: 0...255)
        }
        guard hops.count <= ReportLimits.maximumHops else {
            throw ReportValueError(field: "\(field).hops", value: "\(hops.count) hops", allowed: "at most \(ReportLimits.maximumHops)")
        }
        for (index, hop) in hops.enumerated() {
            let place = "\(field).hops[\(index)]"
            func check(_ name: String, _ value: Int?, _ range: ClosedRange<Double>) throws(ReportValueError) {
                if let value { try ReportRangeCheck(field: "\(place).\(name)").check(value, in: range) }
            }
            func check(_ name: String, _ value: Double?, _ range: ClosedRange<Double>) throws(ReportValueError) {
                if let value { try ReportRangeCheck(field: "\(place).\(name)").check(value, in: range) }
            }
            try check("ttl", hop.ttl, ReportLimits.ttl)
            try check("sent", hop.sent, ReportLimits.count)
            try check("received", hop.received, ReportLimits.count)
            try check("echo_sent", hop.echoSent, ReportLimits.count)
            try check("echo_received", hop.echoReceived, ReportLimits.count)
            try check("packet_loss", hop.lossPercent, ReportLimits.percent)
            try check("latency_last_ms", hop.lastMilliseconds, ReportLimits.milliseconds)
            try check("latency_avg_ms", hop.avgMilliseconds, ReportLimits.milliseconds)
            try check("latency_best_ms", hop.bestMilliseconds, ReportLimits.milliseconds)
            try check("latency_worst_ms", hop.worstMilliseconds, ReportLimits.milliseconds)
            try check("latency_stdev_ms", hop.stdevMilliseconds, ReportLimits.milliseconds)
            guard hop.addresses.count <= ReportLimits.maximumAddressesPerHop else {
                throw ReportValueError(field: "\(place).addresses", value: "\(hop.addresses.count) addresses",
                                       allowed: "at most \(ReportLimits.maximumAddressesPerHop)")
            }
            for (addressIndex, address) in hop.addresses.enumerated() {
                try ReportRangeCheck(field: "\(place).addresses[\(addressIndex)].replies").check(address.replies, in: ReportLimits.count)
            }
            for (codeIndex, code) in hop.unreachable.enumerated() {
                try ReportRangeCheck(field: "\(place).unreachable[\(codeIndex)].code").check(code.code, in: 0...255)
            }
            for (stackIndex, stack) in hop.mplsStacks.enumerated() {
                for (labelIndex, label) in stack.enumerated() {
                    let labelPlace = "\(place).mpls_stacks[\(stackIndex)][\(labelIndex)]"
                    // RFC 3032 §2.1: a 20-bit label and a 3-bit traffic class.
                    try ReportRangeCheck(field: "\(labelPlace).label").check(Int(label.label), in: 0...1_048_575)
                    try ReportRangeCheck(field: "\(labelPlace).traffic_class").check(Int(label.trafficClass), in: 0...7)
                }
            }
        }
    }
}
