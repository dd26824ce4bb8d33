import ISPCheckerResults
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing whole small text files with the system's own reason when it fails
/// ("No such file or directory (errno 2)"), without Foundation's localized error texts: the
/// library and the CLI link FoundationEssentials only, which keeps ICU out of the process.
public enum TextFile {
    /// A file that could not be read or written: `reason` is the system's (`strerror`).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The bytes of the file at `path` as UTF-8 text (invalid sequences replaced), at most
    /// `limit` bytes: a larger file, or one that never ends (a FIFO, a device), is refused.
    public static func read(_ path: String, limit: Int = 64 << 20) throws(Failure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, reason: ProbeError.describe(errno: errno)) }
        defer { close(fd) }
        return try read(descriptor: fd, limit: limit, path: path)
    }

    /// The rest of an open file as UTF-8 text, at most `limit` bytes (see `read(_:limit:)`).
    public static func read(descriptor fd: Int32, limit: Int, path: String = "") throws(Failure) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(path: path, reason: ProbeError.describe(errno: errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[..<n])
            guard bytes.count <= limit else { throw Failure(path: path, reason: "larger than \(limit) bytes") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Replaces the file at `path` with `text` (created with mode 0644 when missing).
    public static func write(_ text: String, to path: String) throws(Failure) {
        try write(text, toDescriptor: try openForWriting(path), path: path)
    }

    /// Opens (creating it with mode 0644) the file at `path` for `write(_:toDescriptor:path:)`
    /// later: a process that gives up its privileges opens its output first.
    public static func openForWriting(_ path: String) throws(Failure) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(path: path, reason: ProbeError.describe(errno: errno)) }
        return fd
    }

    /// Replaces the contents of the open file `fd` with `text` and closes it.
    public static func write(_ text: String, toDescriptor fd: Int32, path: String) throws(Failure) {
        var failure = replaceContents(ofDescriptor: fd, with: text)
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure != 0 { throw Failure(path: path, reason: ProbeError.describe(errno: failure)) }
    }

    /// Truncates the open file `fd` and writes `text` from its start, whatever its offset (a
    /// file read to its end first is rewritten in place, not after a hole). 0, or the errno.
    public static func replaceContents(ofDescriptor fd: Int32, with text: String) -> Int32 {
        guard ftruncate(fd, 0) == 0 else { return errno }
        var utf8 = Array(text.utf8)[...]
        var offset: off_t = 0
        while !utf8.isEmpty {
            let n = utf8.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            utf8 = utf8.dropFirst(n)
            offset += off_t(n)
        }
        return 0
    }
}
