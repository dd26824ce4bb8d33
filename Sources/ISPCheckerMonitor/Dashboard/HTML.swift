import Foundation

/// Escaping for the dashboard's HTML and inline SVG. Every string that comes from the
/// configuration or the run history (target names, addresses, diagnoses: a shared store may hold
/// rows another program wrote) goes through `escape` before it reaches a page.
enum HTML {
    /// Text safe in element content and in a double- or single-quoted attribute value.
    static func escape(_ text: some StringProtocol) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            // Control characters (but tab and newline) have no place in a page: shown as U+FFFD.
            case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n", "\u{7F}":
                escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// A path segment: every byte but unreserved characters (RFC 3986 §2.3) percent-encoded, so a
    /// target named `a/b?c` is one segment and cannot steer the link elsewhere.
    static func pathSegment(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                encoded += "%"
                encoded.unicodeScalars.append(hex[Int(byte >> 4)])
                encoded.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        // "." and ".." would be resolved away by the browser.
        if encoded == "." { return "%2E" }
        if encoded == ".." { return "%2E%2E" }
        return encoded
    }

    /// A number for SVG coordinates: one decimal, no exponent.
    static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = (value * 10).rounded()
        let whole = Int(tenths) / 10, fraction = abs(Int(tenths) % 10)
        return tenths < 0 && whole == 0 ? "-0.\(fraction)" : (fraction == 0 ? "\(whole)" : "\(whole).\(fraction)")
    }

    /// Milliseconds for a table cell: 3 significant figures up to 100, whole above.
    static func milliseconds(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        if value >= 100 { return "\(Int(value.rounded())) ms" }
        if value >= 10 { return "\(number(value, digits: 1)) ms" }
        return "\(number(value, digits: 2)) ms"
    }

    static func number(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((abs(value) * scale).rounded())
        let whole = scaled / Int(scale), fraction = scaled % Int(scale)
        var text = (value < 0 && scaled != 0 ? "-" : "") + "\(whole)"
        if digits > 0 {
            let digitsText = String(fraction)
            text += "." + String(repeating: "0", count: digits - digitsText.count) + digitsText
        }
        return text
    }

    /// `2026-12-01 18:00:05 UTC`.
    static func timestamp(_ date: Date) -> String {
        let c = utcCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return "\(c.year!)-\(two(c.month!))-\(two(c.day!)) \(two(c.hour!)):\(two(c.minute!)):\(two(c.second!)) UTC"
    }

    /// An axis label: `18:00` within a day's span, `Dec 1` beyond.
    static func axisLabel(_ date: Date, withDay: Bool) -> String {
        let c = utcCalendar.dateComponents([.month, .day, .hour, .minute], from: date)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return withDay ? "\(months[c.month! - 1]) \(c.day!)" : "\(two(c.hour!)):\(two(c.minute!))"
    }

    /// `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
    static func age(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s < 120 { return "\(s) s ago" }
        if s < 7200 { return "\(s / 60) min ago" }
        if s < 172_800 { return "\(s / 3600) h ago" }
        return "\(s / 86400) d ago"
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
