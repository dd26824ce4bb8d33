import ISPCheckerPrimitives
import ISPCheckerResults
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The distances of recently traced destinations, kept in a file between processes, so that
/// a trace from a new process (each `isp-checker trace`) probes straight up to a destination it
/// has reached before: one round trip on any path, and one probe at the destination instead
/// of a window that may pass it and spend its ICMP budget (see `PathLengthMemory`).
///
/// The file is opened once (before the process gives up its privileges, so a process that
/// changes user can still write back a file of the user it started as) and rewritten at the
/// end. Lines: `address ttl unix-seconds`. A line that does not parse is skipped; entries older
/// than `maximumAge` are forgotten. Losing the file costs one slower trace, nothing else.
public final class PathLengthFile {
    /// Entries kept at most (the newest).
    public static let capacity = 4096
    /// How long a measured distance is trusted: routes change, and a wrong distance costs a
    /// round (too short) or a few probes past the destination (too long).
    public static let maximumAgeSeconds = 24 * 3600

    private let descriptor: Int32
    private var entries: [IPAddress: (ttl: Int, seenAt: Int)] = [:]

    /// The default location: `$XDG_CACHE_HOME/isp-checker/path-lengths`, else
    /// `$HOME/.cache/isp-checker/path-lengths`; nil when neither is set.
    public static var defaultPath: String? {
        if let cache = getenv("XDG_CACHE_HOME").map({ String(cString: $0) }), cache.hasPrefix("/") {
            return cache + "/isp-checker/path-lengths"
        }
        if let home = getenv("HOME").map({ String(cString: $0) }), home.hasPrefix("/") {
            return home + "/.cache/isp-checker/path-lengths"
        }
        return nil
    }

    /// Opens (creating it and its folder when missing) and reads the file at `path`; nil when it
    /// cannot be opened: a trace then simply starts cold.
    public init?(path: String, now: Int = Int(time(nil))) {
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 && errno == ENOENT {
            // The folder is made only when missing: a trace's start pays no mkdir per run.
            let folder = parentFolder(of: path)
            if folder != "." && folder != "/" { Self.makeDirectories(folder) }
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size <= 1 << 20 else {
            close(fd)
            return nil
        }
        descriptor = fd
        guard let text = try? TextFile.read(descriptor: fd, limit: 1 << 20) else { return }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let address = IPAddress(String(fields[0])), let ttl = Int(fields[1]),
                  (1...255).contains(ttl), let seenAt = Int(fields[2]), now - seenAt <= Self.maximumAgeSeconds else { continue }
            entries[address] = (ttl, seenAt)
        }
    }

    deinit { close(descriptor) }

    /// The distances read, to seed an engine with (`ProbeEngine.rememberPathLengths`).
    public var pathLengths: [IPAddress: Int] { entries.mapValues(\.ttl) }

    /// How old a still-right entry may get before `save` rewrites the file only to renew its
    /// time: a trace that measured what the file already says skips the write.
    public static let refreshSeconds = 3600

    /// Records what an engine measured and rewrites the file, newest entries first kept; does
    /// not touch the file when every distance measured is already there, younger than
    /// `refreshSeconds`.
    public func save(_ measured: [IPAddress: Int], now: Int = Int(time(nil))) {
        let news = measured.filter { address, ttl in
            guard (1...255).contains(ttl) else { return false }
            guard let known = entries[address] else { return true }
            return known.ttl != ttl || now - known.seenAt > Self.refreshSeconds
        }
        guard !news.isEmpty else { return }
        for (address, ttl) in news { entries[address] = (ttl, now) }
        let kept = entries.sorted { $0.value.seenAt > $1.value.seenAt }.prefix(Self.capacity)
        let text = kept.map { "\($0.key) \($0.value.ttl) \($0.value.seenAt)\n" }.joined()
        // Losing the file costs one slower trace: a failed write is not worth an error.
        _ = TextFile.replaceContents(ofDescriptor: descriptor, with: text)
    }

    private static func makeDirectories(_ path: String) {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            _ = mkdir(prefix, 0o700)
        }
    }
}
