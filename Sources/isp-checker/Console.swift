import FoundationEssentials
import ISPCheckerPrimitives
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Terminal output without Foundation's FileHandle and String(format:): the CLI links
// FoundationEssentials only, which keeps ICU (about 5 ms of every start) out of the process.

/// Writes one line to standard output at once, even into a pipe, so that live output (a line
/// per probe) is live; all CLI output goes through here to keep its order.
func output(_ line: String) {
    writeAll(STDOUT_FILENO, line + "\n")
}

/// Writes `text` to standard error as it is (no newline added): progress lines and errors.
func errorOutput(_ text: String) {
    writeAll(STDERR_FILENO, text)
}

/// Whether standard error is a terminal (progress lines only go there).
var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

private func writeAll(_ fd: Int32, _ text: String) {
    writeAll(Array(text.utf8), to: fd)  // a closed pipe: nothing more can be said
}

/// `value` with `digits` decimals, right-aligned in `width` characters (printf's `%W.Df`).
func fixed(_ value: Double, digits: Int, width: Int = 0) -> String {
    value.fixed(digits: digits, width: width)
}

/// `text` padded with spaces on the right to `width` characters (longer text is kept whole).
func padRight(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// `text` padded with spaces on the left to `width` characters.
func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// This program's file, from /proc/self/exe (argv[0] when /proc is not mounted): where `lab`
/// looks for the lab scripts and `monitor` for `isp-checker-monitor`.
var ownExecutablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
