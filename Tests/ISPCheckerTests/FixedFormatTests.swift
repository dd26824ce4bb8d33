import Glibc
import ISPCheckerPrimitives
import TestSupport
import Testing

/// `Double.fixed(digits:width:)` prints what C's `%W.Df` prints.
struct FixedFormatTests {
    private func printf(_ value: Double, _ digits: Int, _ width: Int) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 400) { buffer in
            _ = withVaList([Int32(width), Int32(digits), value]) { vsnprintf(buffer.baseAddress, buffer.count, "%*.*f", $0) }
            return String(cString: buffer.baseAddress!)
        }
    }

    @Test func namedValues() {
        #expect(0.0496.fixed(digits: 3) == "0.050")
        #expect(12.0.fixed(digits: 1, width: 5) == " 12.0")
        #expect(100.0.fixed(digits: 1, width: 5) == "100.0")
        #expect(123_456.789.fixed(digits: 1, width: 5) == "123456.8")
        #expect(2.5.fixed(digits: 0) == "2")  // ties to even, as printf
        #expect(3.5.fixed(digits: 0) == "4")
        #expect((-0.0001).fixed(digits: 3) == "-0.000")  // printf keeps the sign
        #expect((-1.25).fixed(digits: 1) == "-1.2")
        #expect(Double.nan.fixed(digits: 3, width: 7) == printf(.nan, 3, 7))
        #expect(Double.infinity.fixed(digits: 1) == "inf")
        #expect(1e300.fixed(digits: 2) == printf(1e300, 2, 0))
    }

    @Test func agreesWithPrintfOnSeededRandomValues() {
        var generator = SeededRandom(seed: 0x15C0_FFEE)
        var compared = 0
        for _ in 0..<20_000 {
            let magnitude = Double(generator.next() % 14) - 4          // 1e-4 ... 1e9
            let mantissa = 10 * Double(generator.next() >> 11) / Double(UInt64(1) << 53)  // 0 ..< 10, every bit used
            let value = (generator.next() % 2 == 0 ? 1 : -1) * mantissa * pow(10, magnitude)
            let digits = Int(generator.next() % 5)
            let width = Int(generator.next() % 10)
            // A value within a rounding error of a tie may print either way (documented).
            let scaled = abs(value) * pow(10, Double(digits))
            if abs(scaled - scaled.rounded(.down) - 0.5) <= 4 * scaled.ulp { continue }
            #expect(value.fixed(digits: digits, width: width) == printf(value, digits, width), "value \(value) digits \(digits) width \(width)")
            compared += 1
        }
        #expect(compared > 19_000)
    }
}
