import ArgumentParser
import CTerminal
import ISPCheckerPrimitives
#if canImport(Glibc)
import Glibc
#endif

// The terminal of the live views (`trace` and `run` on a terminal): plain ANSI/VT100 escape
// sequences and termios through CTerminal, no curses library (docs/live-view.md says why).
// Nothing here runs unless a live view is shown: a plain trace, `--json` and `--report` never
// touch the terminal's modes.

/// `--color`: whether output may be coloured.
enum ColorChoice: String, ExpressibleByArgument, CaseIterable, Sendable {
    case auto, always, never

    /// `always` and `never` as said; `auto` colours a terminal unless NO_COLOR is set to
    /// anything but the empty string (no-color.org: a command-line flag overrides NO_COLOR).
    func enabled(isTerminal: Bool, noColor: String? = environment("NO_COLOR")) -> Bool {
        switch self {
        case .always: true
        case .never: false
        case .auto: isTerminal && (noColor ?? "").isEmpty
        }
    }
}

func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// Whether standard output is a terminal: where the live views are drawn.
var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }

/// SGR sequences (ECMA-48 §8.3.117) the views colour with; empty strings when colour is off.
struct TextStyle: Sendable {
    let enabled: Bool
    func apply(_ codes: String, _ text: String) -> String { enabled ? "\u{1B}[\(codes)m\(text)\u{1B}[0m" : text }
    func bold(_ text: String) -> String { apply("1", text) }
    func dim(_ text: String) -> String { apply("2", text) }
    /// The hop where persistent loss starts: white on red, bold.
    func alert(_ text: String) -> String { apply("1;37;41", text) }
    func warning(_ text: String) -> String { apply("33", text) }
    func good(_ text: String) -> String { apply("32", text) }
    func bad(_ text: String) -> String { apply("1;31", text) }
}

/// What a view reads from the terminal between two frames.
enum TerminalInput: Equatable {
    case key(UInt8)
    /// SIGINT (also Ctrl-C), SIGTERM or SIGHUP.
    case signal(Int32)
    case resized
}

/// The terminal taken over by a live view, from `enter` to `leave` (also run on every exit
/// path by CTerminal's signal handlers). Used by one thread: the view's loop on the main thread.
final class TerminalSession {
    /// A full-screen view: the alternate screen (the shell's screen comes back untouched at the
    /// end), cursor hidden. An inline view: cursor hidden only, so its last frame stays.
    enum Mode { case fullScreen, inline }

    static let enterFullScreen = "\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J"
    static let leaveFullScreen = "\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l"
    static let enterInline = "\u{1B}[?25l"
    static let leaveInline = "\u{1B}[0m\u{1B}[?25h"

    let input: Int32
    private let signalDescriptor: Int32
    private var left = false

    /// - Throws: `TerminalError` when the terminal cannot be taken over.
    init(mode: Mode) throws(TerminalError) {
        // Keys come from standard input when it is this terminal; without one (input from a
        // file) the view still runs, and Ctrl-C still ends it.
        input = isatty(STDIN_FILENO) != 0 ? STDIN_FILENO : -1
        var descriptor: Int32 = -1
        let (enter, leave) = mode == .fullScreen ? (Self.enterFullScreen, Self.leaveFullScreen) : (Self.enterInline, Self.leaveInline)
        let result = ct_enter(input, STDOUT_FILENO, enter, leave, &descriptor)
        guard result == 0 else { throw TerminalError(errno: -result) }
        signalDescriptor = descriptor
    }

    deinit { leave() }

    /// Gives the terminal back: its modes, the main screen, the cursor, the signal handlers.
    func leave() {
        guard !left else { return }
        left = true
        ct_leave()
    }

    /// Rows and columns (24 × 80 when the terminal does not say).
    var size: (rows: Int, columns: Int) {
        var rows: Int32 = 0, columns: Int32 = 0
        guard ct_window_size(STDOUT_FILENO, &rows, &columns) == 0, rows > 0, columns > 0 else { return (24, 80) }
        return (Int(rows), Int(columns))
    }

    /// Draws a full-screen frame from the top-left corner, each line cleared to its end.
    func drawFullScreen(_ lines: [String]) {
        writeAll(Array(("\u{1B}[H" + lines.joined(separator: "\u{1B}[K\n") + "\u{1B}[K\u{1B}[J").utf8), to: STDOUT_FILENO)
    }

    /// Draws an inline frame over the previous one of `previousLineCount` lines.
    func drawInline(_ lines: [String], previousLineCount: Int) {
        let up = previousLineCount > 0 ? "\r\u{1B}[\(previousLineCount)A" : ""
        writeAll(Array((up + lines.map { $0 + "\u{1B}[K\n" }.joined() + "\u{1B}[J").utf8), to: STDOUT_FILENO)
    }

    /// Waits up to `milliseconds` for keys or a signal.
    func wait(milliseconds: Int32) throws(TerminalError) -> [TerminalInput] {
        var keys = [UInt8](repeating: 0, count: 64)
        var count = 0
        var signal: Int32 = 0
        let result = ct_wait(input, signalDescriptor, milliseconds, &keys, keys.count, &count, &signal)
        guard result == 0 else { throw TerminalError(errno: -result) }
        var inputs = keys.prefix(count).map(TerminalInput.key)
        if signal == SIGWINCH { inputs.append(.resized) } else if signal != 0 { inputs.append(.signal(signal)) }
        return inputs
    }

    /// A SIGINT/SIGTERM/SIGHUP was acted on: a second one is again taken as a request, not as
    /// "leave at once".
    func signalHandled() { ct_signal_handled() }
}

/// The terminal could not be taken over or read.
struct TerminalError: Error, CustomStringConvertible {
    var errno: Int32
    var description: String {
        "the terminal could not be used for the live view (\(String(cString: strerror(errno)))); run with --report for the plain report"
    }
}
