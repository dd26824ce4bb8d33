import Foundation
import ISPChecker
import ISPCheckerPrimitives

/// The recorder's queue on local disk: one run per line (its stored JSON), appended and
/// `fdatasync`ed before the run counts as queued, so a crash or `kill -9` while the store is
/// away loses nothing. Read back at start; emptied once the queue has drained. Lines whose run
/// is already in the store are harmless: inserts ignore an id the store has.
///
/// Owned by one `RunRecorder` (an actor): not shared, not `Sendable`.
final class RunSpool {
    let path: String
    private var descriptor: Int32
    /// Lines in the file now (written since the last `clear`/`rewrite`, or read at open).
    private(set) var lineCount = 0

    /// Opens (creating, mode 0600) the file.
    init(path: String) throws(RunSpoolError) {
        self.path = path
        descriptor = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, errno: errno) }
    }

    deinit { close(descriptor) }

    /// The runs in the file, oldest first, and how many lines could not be read (a line cut
    /// short by a crash mid-write, or a damaged file).
    func load() throws(RunSpoolError) -> (runs: [RunReport], unreadableLines: Int) {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let count = pread(descriptor, &buffer, buffer.count, offset)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .cannotRead(path: path, errno: errno) }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
            offset += off_t(count)
        }
        var runs: [RunReport] = []
        var unreadable = 0
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            if let run = try? RunReport.decoder.decode(RunReport.self, from: Data(line)) {
                runs.append(run)
            } else {
                unreadable += 1
            }
        }
        lineCount = runs.count + unreadable
        return (runs, unreadable)
    }

    /// Appends the runs and syncs the file: once this returns they survive a crash.
    func append(_ runs: [RunReport]) throws(RunSpoolError) {
        guard !runs.isEmpty else { return }
        try writeAll(Self.lines(runs), to: descriptor)
        guard fdatasync(descriptor) == 0 else { throw .cannotWrite(path: path, errno: errno) }
        lineCount += runs.count
    }

    /// Empties the file (the queue has drained).
    func clear() throws(RunSpoolError) {
        guard ftruncate(descriptor, 0) == 0, fdatasync(descriptor) == 0 else { throw .cannotWrite(path: path, errno: errno) }
        lineCount = 0
    }

    /// Replaces the file with exactly `runs` (written beside it, synced, renamed over it), so
    /// lines of runs already written or dropped stop taking space.
    func rewrite(_ runs: [RunReport]) throws(RunSpoolError) {
        let temporary = path + ".tmp"
        let fresh = open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard fresh >= 0 else { throw .cannotOpen(path: temporary, errno: errno) }
        do throws(RunSpoolError) {
            try writeAll(Self.lines(runs), to: fresh)
            guard fsync(fresh) == 0 else { throw .cannotWrite(path: temporary, errno: errno) }
            guard rename(temporary, path) == 0 else { throw .cannotWrite(path: path, errno: errno) }
        } catch {
            close(fresh)
            unlink(temporary)
            throw error
        }
        // The rename itself is durable once the directory is synced.
        let directory = open(parentFolder(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
        close(descriptor)
        descriptor = fresh
        lineCount = runs.count
    }

    /// The spool's lines for `runs`: one JSON run report each (a run that cannot be encoded is
    /// left out; the store would refuse it too).
    private static func lines(_ runs: [RunReport]) -> [UInt8] {
        var bytes: [UInt8] = []
        for run in runs {
            guard let json = try? StoredRun.encoder.encode(run) else { continue }
            bytes += json
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    private func writeAll(_ bytes: [UInt8], to descriptor: Int32) throws(RunSpoolError) {
        let failure = ISPCheckerPrimitives.writeAll(bytes, to: descriptor)
        if failure != 0 { throw .cannotWrite(path: path, errno: failure) }
    }
}

/// Why the spool file failed, and what to do.
public enum RunSpoolError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, errno: Int32)
    case cannotRead(path: String, errno: Int32)
    case cannotWrite(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code):
            return "cannot open the spool file \(path): \(String(cString: strerror(code))) (check the directory exists and the monitor's user may write it)"
        case .cannotRead(let path, let code):
            return "cannot read the spool file \(path): \(String(cString: strerror(code)))"
        case .cannotWrite(let path, let code):
            return "cannot write the spool file \(path): \(String(cString: strerror(code))) (disk full? queued runs stay in memory only)"
        }
    }
}
