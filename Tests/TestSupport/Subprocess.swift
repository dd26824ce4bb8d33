import Foundation

/// A child process started with posix_spawn, its output going to temporary files.
///
/// Foundation's `Process.waitUntilExit` was seen hanging here after `lab.sh` had exited
/// (it leaves a daemonised relay behind), so the tests spawn and reap children themselves.
public final class Subprocess {
    public let pid: pid_t
    private let outputPath: String
    private let errorPath: String
    private var exitStatus: Int32?

    /// Starts `executable` (a path: posix_spawn does not search `PATH`) with `arguments`, stdin from
    /// `/dev/null`. Throws `HarnessError.failed("cannot start …")` when posix_spawn fails.
    public init(_ executable: String, _ arguments: [String]) throws {
        let directory = FileManager.default.temporaryDirectory.path
        let stamp = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        outputPath = "\(directory)/ispc-test-\(stamp).out"
        errorPath = "\(directory)/ispc-test-\(stamp).err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // The test runner's threads block signals; a child would inherit that mask and
        // ignore the SIGTERM that stops it. Start it with no signal blocked and defaults.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw HarnessError.failed("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
        unlink(outputPath)
        unlink(errorPath)
    }

    /// Whether the child has not exited yet (reaps it, without blocking, if it has).
    public var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { exitStatus = Self.decode(status); return false }
        return result == 0
    }

    /// Sends SIGTERM if the child is still running.
    public func terminate() { if isRunning { kill(pid, SIGTERM) } }

    /// Blocks until the child exits; its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let decoded = Self.decode(status)
        exitStatus = decoded
        return decoded
    }

    /// Everything the child has written to stdout so far.
    public var stdout: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    /// Everything the child has written to stderr so far.
    public var stderr: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
