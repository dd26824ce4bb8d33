#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Double {
    /// The value with `digits` decimals (0 ... 9), right-aligned in `width` characters: what C's
    /// `%W.Df` prints. Ties between two printable values go to the even one, as printf's do;
    /// the value is scaled in floating point, so a value within a rounding error of a tie may
    /// land on its other side (printf reads the exact binary value): a last-digit difference
    /// no report or table can show.
    ///
    /// Pure Swift for every value a report holds: `withVaList` would cast each argument to
    /// `CVarArg` at run time, and the first cast of a process scans every protocol conformance
    /// of the binary (docs/benchmarks.md, issue 17). Not-a-number, the infinities and values of
    /// 9e15 and more after scaling still go through `vsnprintf`.
    package func fixed(digits: Int, width: Int = 0) -> String {
        let digits = Swift.max(0, Swift.min(digits, 9))
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let text: String
        if isFinite, Swift.abs(self) * Double(scale) < 9.0e15 {
            let scaled = UInt64((Swift.abs(self) * Double(scale)).rounded(.toNearestOrEven))
            let whole = String(scaled / scale)
            var fraction = ""
            if digits > 0 {
                let part = String(scaled % scale)
                fraction = "." + String(repeating: "0", count: digits - part.count) + part
            }
            text = (sign == .minus ? "-" : "") + whole + fraction
        } else {
            text = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 352) { buffer in
                // 352: the longest %f of a Double (1e308 with a few decimals) fits.
                _ = withVaList([Int32(digits), self]) { vsnprintf(buffer.baseAddress, buffer.count, "%.*f", $0) }
                return String(cString: buffer.baseAddress!)
            }
        }
        return text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
