import Foundation
import TestSupport
import Testing

/// The live trace view as a user sees it: `trace` in a tmux pane (a real terminal: tmux gives
/// the CLI a pty, also on CI, which has none), read with `capture-pane`, driven with keys and
/// signals; after every way out the terminal must be as it was (main screen, cursor shown, the
/// same termios). One realistic lab for the whole suite.
@Suite(.serialized, .enabled(if: isRoot, "the network lab needs root"))
final class LiveViewLabTests {
    let lab: Lab
    let tmux: Tmux

    init() throws {
        tmux = try Tmux(socket: "\(Lab.prefixBase)-live")
        // realistic: the view as users run it, under routers' ICMP rate limits (one round a
        // second, as mtr, stays within them).
        lab = try Lab.up("live", realistic: true)
    }

    deinit {
        tmux.killServer()
        lab.down()
    }

    /// Runs `trace ARGUMENTS` in a new pane inside the lab's client namespace, between two
    /// `stty -g`, and records its exit status; returns the session name and the files.
    func startTrace(_ name: String, _ arguments: [String]) throws -> LivePane {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ispc-live-\(name)-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let command = (["/usr/sbin/ip", "netns", "exec", lab.client, cliPath, "trace"] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let script = """
        stty -g > \(directory.path)/stty-before
        \(command)
        echo $? > \(directory.path)/status
        stty -g > \(directory.path)/stty-after
        exec sleep 120
        """
        try script.write(to: directory.appendingPathComponent("run.sh"), atomically: true, encoding: .utf8)
        try tmux.newSession(name, command: "bash --norc --noprofile \(directory.path)/run.sh")
        return LivePane(session: name, directory: directory)
    }

    struct LivePane {
        let session: String
        let directory: URL
        var statusFile: String { directory.appendingPathComponent("status").path }
        func file(_ name: String) -> String? { try? String(contentsOfFile: directory.appendingPathComponent(name).path, encoding: .utf8) }
    }

    /// The row of hop `ttl` on a screen: its columns split on spaces.
    func row(_ screen: String, ttl: Int) -> [String]? {
        screen.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.first == "\(ttl)" && $0.count > 4 }
    }

    /// The `SNT` column of the destination's row (hop 4 of a three-router lab).
    func sent(_ screen: String) -> Int? {
        guard let columns = row(screen, ttl: lab.routers + 1), let address = columns.firstIndex(of: lab.destination4) else { return nil }
        return Int(columns[address + 2])
    }

    /// The round the view's first line says it is in.
    func round(_ screen: String) -> Int? {
        guard let first = screen.split(separator: "\n").first, let range = first.range(of: "round ") else { return nil }
        return Int(first[range.upperBound...].prefix { $0.isNumber })
    }

    /// The terminal is as it was before the view: main screen, cursor visible, same termios.
    func expectRestored(_ pane: LivePane) throws {
        #expect(try tmux.format(pane.session, "#{alternate_on}") == "0", "the view left the alternate screen on")
        #expect(try tmux.format(pane.session, "#{cursor_flag}") == "1", "the view left the cursor hidden")
        let before = try #require(pane.file("stty-before")), after = try #require(pane.file("stty-after"))
        #expect(before == after, "stty -g before \(before) and after \(after) the view differ")
    }

    @Test func theTableIsLiveItsSentCountGrowsAndQRestoresTheTerminal() async throws {
        let pane = try startTrace("q", [lab.destination4, "--no-path-cache"])
        let first = try await tmux.waitForScreen(pane.session, timeout: .seconds(10)) { (self.round($0) ?? 0) >= 1 && self.sent($0) != nil }
        #expect(first.contains("HOP MARK ADDRESS"))
        #expect(first.contains("Verdict:"))
        #expect(try tmux.format(pane.session, "#{alternate_on}") == "1", "the view draws on the alternate screen")
        let sentAfterOne = try #require(sent(first))
        let third = try await tmux.waitForScreen(pane.session, timeout: .seconds(10)) { (self.round($0) ?? 0) >= 3 }
        let sentAfterThree = try #require(sent(third), "\(third)")
        #expect(sentAfterThree >= 3 && sentAfterThree > sentAfterOne, "SNT \(sentAfterOne) after one round, \(sentAfterThree) after three:\n\(third)")
        for ttl in 1...lab.routers { #expect(row(third, ttl: ttl)?.contains(lab.router4(ttl)) == true, "hop \(ttl):\n\(third)") }

        try tmux.sendKeys(pane.session, "q")
        try await tmux.waitForFile(pane.statusFile, timeout: .seconds(10))
        #expect(pane.file("status")?.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let final = try tmux.capture(pane.session)
        #expect(final.contains("TRACE \(lab.destination4): udp paris"), "\(final)")
        #expect(final.contains("destination reached"))
        #expect(final.contains("Verdict: score"))
        try expectRestored(pane)
    }

    @Test func aLossyHopIsShownAndMarkedWhereLossStartsAndCtrlCEndsTheView() async throws {
        // r2 drops half of what it forwards, both ways: hops 3 and 4 lose, hops 1 and 2 do not.
        try lab.configure("loss", ["--node", "r2", "--percent", "50"])
        defer { try? lab.configure("clear", ["--node", "r2"]) }
        let pane = try startTrace("loss", [lab.destination4, "--no-path-cache", "--color", "never"])
        let marked = try await tmux.waitForScreen(pane.session, timeout: .seconds(20)) { screen in
            (self.round(screen) ?? 0) >= 3 && self.row(screen, ttl: 3)?.contains(">>") == true
        }
        let hop3 = try #require(row(marked, ttl: 3))
        #expect(marked.contains("<< loss starts here"))
        // TTL, mark, address (??? while hop 3 has not answered yet), loss %.
        #expect(hop3[2] == lab.router4(3) || hop3[2] == "???", "\(hop3)")
        let loss = try #require(Double(hop3[3]), "\(hop3)")
        #expect(loss > 0, "hop 3's loss: \(marked)")
        for ttl in 1...2 { #expect(row(marked, ttl: ttl)?.contains(">>") == false, "hop \(ttl) marked:\n\(marked)") }
        #expect(marked.contains("Verdict: score"))

        try tmux.sendKeys(pane.session, "C-c")
        try await tmux.waitForFile(pane.statusFile, timeout: .seconds(10))
        let final = try tmux.capture(pane.session)
        #expect(final.contains("TRACE \(lab.destination4)"), "\(final)")
        try expectRestored(pane)
    }

    /// SIGTERM prints the report and exits 143; a crash (SIGSEGV) dies as it would, with the
    /// terminal given back first.
    @Test(arguments: [("TERM", Int32(15)), ("SEGV", Int32(11))])
    func aSignalRestoresTheTerminal(_ signal: (name: String, number: Int32)) async throws {
        let pane = try startTrace("sig\(signal.name)", [lab.destination4, "--no-path-cache"])
        _ = try await tmux.waitForScreen(pane.session, timeout: .seconds(10)) { (self.round($0) ?? 0) >= 1 }
        let shell = try tmux.format(pane.session, "#{pane_pid}")
        // `ip netns exec` execs the CLI in place: the shell's child is the CLI.
        let children = try String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
        let cli = try #require(children.split(separator: " ").first.flatMap { Int32($0) }, "no child of the pane's shell")
        #expect(try String(contentsOfFile: "/proc/\(cli)/comm", encoding: .utf8).hasPrefix("isp-checker"))
        #expect(kill(cli, signal.number) == 0)
        try await tmux.waitForFile(pane.statusFile, timeout: .seconds(10))
        #expect(pane.file("status")?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(128 + signal.number)")
        if signal.name == "TERM" { #expect(try tmux.capture(pane.session).contains("TRACE \(lab.destination4)")) }
        try expectRestored(pane)
    }
}

/// A tmux server of its own (`-L SOCKET`), for the live views' tests.
struct Tmux {
    let socket: String

    init(socket: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw HarnessError.failed("tmux is missing: the live view tests run the CLI in a tmux pane (scripts/install-deps.sh installs it)")
        }
        self.socket = socket
        killServer()
    }

    @discardableResult
    func tmux(_ arguments: [String]) throws -> String {
        try run("/usr/bin/tmux", ["-L", socket] + arguments).stdout
    }

    func newSession(_ name: String, command: String) throws {
        try tmux(["new-session", "-d", "-s", name, "-x", "120", "-y", "40", command])
        // Keep the pane after the command ended, to read what it left on the screen.
        try tmux(["set-option", "-t", name, "remain-on-exit", "on"])
    }

    func capture(_ session: String) throws -> String { try tmux(["capture-pane", "-p", "-t", session]) }
    func sendKeys(_ session: String, _ keys: String) throws { try tmux(["send-keys", "-t", session, keys]) }
    func format(_ session: String, _ format: String) throws -> String {
        try tmux(["display-message", "-p", "-t", session, format]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The screen once `condition` holds; throws with the last screen after `timeout`.
    func waitForScreen(_ session: String, timeout: Duration, _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var screen = ""
        while ContinuousClock.now < deadline {
            screen = try capture(session)
            if condition(screen) { return screen }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError.failed("the pane never showed what was expected within \(timeout); last screen:\n\(screen)")
    }

    func waitForFile(_ path: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw HarnessError.failed("\(path) was not written within \(timeout): the CLI did not end")
    }

    func killServer() { _ = try? run("/usr/bin/tmux", ["-L", socket, "kill-server"], check: false) }
}
