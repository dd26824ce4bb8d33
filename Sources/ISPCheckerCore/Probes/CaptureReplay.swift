import CProbe
import ISPCheckerPrimitives
import ISPCheckerResults

#if canImport(Glibc)
import Glibc
#endif

/// Rebuilds ping results from a capture file, offline: the `--mode replay --input FILE.pcap`
/// path. Any ICMP/ICMPv6 echo traffic counts, ours or another tool's (iputils ping, fping),
/// and each flow — one requester, one target, one identifier — becomes one `PingResult` timed
/// by the capture's own kernel timestamps (clock `pcap`).
public enum CaptureReplay {
    /// The echo flows in `path`, in the order their first request appears.
    ///
    /// A request with no reply in the file counts as lost. Malformed and foreign packets are
    /// skipped under the same strict parsing as live probes.
    /// - Throws: `ProbeError.unreadableCapture` when the file cannot be opened or is not a
    ///   pcap/pcapng capture of a supported link type.
    public static func pings(fromCapture path: String) throws(ProbeError) -> [PingResult] {
        let file = try ReplayFile(path: path)
        return try pings(from: file)
    }

    /// The echo flows of a capture already opened (and checked) as a `ReplayFile`.
    public static func pings(from file: ReplayFile) throws(ProbeError) -> [PingResult] {
        let path = file.path
        var capture: OpaquePointer?
        var message = [CChar](repeating: 0, count: 512)
        let opened = cp_capture_open_offline_fd(file.descriptor, nil, &capture, &message, message.count)
        guard opened == 0, let capture else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .unreadableCapture(path: path, reason: text.isEmpty ? ProbeError.describe(errno: -opened) : text)
        }
        defer { cp_capture_close(capture) }

        var flows = EchoFlows()
        var frame = cp_frame()
        while true {
            let next = cp_capture_next(capture, &frame)
            if next == -ENODATA { break }
            if next < 0 { throw .unreadableCapture(path: path, reason: ProbeError.describe(errno: -next)) }
            if next == 0 { continue }
            var info = cp_echo_info()
            guard frame.family != 0,
                  cp_echo_parse_any(frame.family, 1, frame.l3, frame.l3_len, nil, nil, &info) == 0,
                  let source = IPAddress(info.src), let destination = IPAddress(info.dst) else { continue }
            let isRequest = info.type == CP_ICMP4_ECHO_REQUEST || info.type == CP_ICMP6_ECHO_REQUEST
            if isRequest {
                flows.request(from: source, to: destination, ident: info.ident, sequence: info.seq, at: frame.ts_ns)
            } else {
                flows.reply(from: source, to: destination, ident: info.ident, sequence: info.seq, at: frame.ts_ns, ttl: Int(info.ttl))
            }
        }
        return flows.results()
    }
}

/// Echo requests and replies paired per flow.
private struct EchoFlows {
    struct FlowKey: Hashable {
        var requester: IPAddress
        var target: IPAddress
        var ident: UInt16
    }

    struct Request {
        var sequence: UInt16
        var sentNanoseconds: Int64
        var rttNanoseconds: Int64?
        var replyTTL: Int?
    }

    /// The longest round trip a reply may take: a day (`ReportLimits.milliseconds`).
    static let maximumRTTNanoseconds: Int64 = 86_400 * 1_000_000_000

    var order: [FlowKey] = []
    var requests: [FlowKey: [Request]] = [:]
    /// Per flow and sequence number: the index of the newest request with that number
    /// (sequence numbers wrap on long pings).
    var latest: [FlowKey: [UInt16: Int]] = [:]

    mutating func request(from requester: IPAddress, to target: IPAddress, ident: UInt16, sequence: UInt16, at nanoseconds: Int64) {
        let key = FlowKey(requester: requester, target: target, ident: ident)
        if requests[key] == nil { order.append(key) }
        requests[key, default: []].append(Request(sequence: sequence, sentNanoseconds: nanoseconds))
        latest[key, default: [:]][sequence] = requests[key]!.count - 1
    }

    mutating func reply(from target: IPAddress, to requester: IPAddress, ident: UInt16, sequence: UInt16, at nanoseconds: Int64, ttl: Int) {
        let key = FlowKey(requester: requester, target: target, ident: ident)
        // A reply without its request in the file, or a duplicate, says nothing about loss. One
        // more than a day after its request is not an answer to it either (and its round-trip
        // time would be out of the report's range). Timestamps are 0 … 2262 (cp_capture_next),
        // so the difference cannot overflow; checked all the same.
        guard let index = latest[key]?[sequence], let request = requests[key]?[index],
              request.rttNanoseconds == nil, nanoseconds >= request.sentNanoseconds else { return }
        let (rtt, overflow) = nanoseconds.subtractingReportingOverflow(request.sentNanoseconds)
        guard !overflow, rtt <= Self.maximumRTTNanoseconds else { return }
        requests[key]![index].rttNanoseconds = rtt
        requests[key]![index].replyTTL = ttl
    }

    func results() -> [PingResult] {
        order.map { key in
            let probes = (requests[key] ?? []).enumerated().map { index, request in
                PingProbe(index: index, sequence: request.sequence,
                          status: request.rttNanoseconds == nil ? .timedOut : .received,
                          rttNanoseconds: request.rttNanoseconds,
                          clock: request.rttNanoseconds == nil ? nil : .pcap,
                          replyTTL: request.replyTTL, error: nil)
            }
            return PingResult(target: key.target.description, address: key.target, socketKind: .captureFile, probes: probes)
        }
    }
}

/// A file given to replay, opened once and checked on its descriptor: a regular file (a FIFO,
/// a device such as /dev/zero or a directory is refused at once, before a byte is read: it may
/// never end), read from its start. Closed when the value is released. Sendable: its stored
/// properties are constants, reads use `pread` (no shared file offset) and a capture reads a
/// duplicate of the descriptor.
public final class ReplayFile: Sendable {
    /// A saved run report is at most this big (16 MiB); one of the library's is a few kB.
    public static let maximumReportBytes = 16 << 20
    /// How much of the file is read to tell a report (JSON) from a capture.
    static let sniffBytes = 4096

    public let path: String
    /// Size in bytes, from fstat.
    public let size: Int
    let descriptor: Int32

    /// Opens `path` for reading without blocking on a FIFO, and refuses anything but a regular file.
    /// - Throws: `ProbeError.unreadableCapture` naming the reason.
    public init(path: String) throws(ProbeError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw .unreadableCapture(path: path, reason: ProbeError.describe(errno: errno)) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw .unreadableCapture(path: path, reason: ProbeError.describe(errno: code))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            let kind = switch info.st_mode & S_IFMT {
            case S_IFIFO: "a FIFO"
            case S_IFCHR: "a character device"
            case S_IFBLK: "a block device"
            case S_IFDIR: "a directory"
            case S_IFSOCK: "a socket"
            default: "not a regular file"
            }
            throw .unreadableCapture(path: path, reason: "it is \(kind), not a regular file: replay reads a saved report or capture file")
        }
        self.path = path
        self.size = Int(info.st_size)
        self.descriptor = fd
    }

    deinit { close(descriptor) }

    /// Whether the file holds a run report: its first non-blank byte (within the first 4 kB) is `{`.
    /// Anything else is taken for a capture.
    public func looksLikeReport() throws(ProbeError) -> Bool {
        let prefix = try read(upTo: Self.sniffBytes)
        return prefix.first { ![0x20, 0x0a, 0x0d, 0x09].contains($0) } == UInt8(ascii: "{")
    }

    /// The first 4 kB of the file (fewer when it is shorter), to tell its kind by its content.
    public func head() throws(ProbeError) -> [UInt8] { try read(upTo: Self.sniffBytes) }

    /// The whole file, when it is at most `maximumReportBytes`.
    /// - Throws: `ProbeError.unreadableCapture` for a larger file or a read error.
    public func reportBytes() throws(ProbeError) -> [UInt8] {
        guard size <= Self.maximumReportBytes else {
            throw .unreadableCapture(path: path, reason: "\(size) bytes is more than a run report can be (\(Self.maximumReportBytes) bytes)")
        }
        let bytes = try read(upTo: Self.maximumReportBytes + 1)
        // The file may have grown since fstat: the limit holds on what was read.
        guard bytes.count <= Self.maximumReportBytes else {
            throw .unreadableCapture(path: path, reason: "more than a run report can be (\(Self.maximumReportBytes) bytes)")
        }
        return bytes
    }

    /// Up to `limit` bytes from the start of the file.
    private func read(upTo limit: Int) throws(ProbeError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = buffer.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + filled, limit - filled, off_t(filled))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadableCapture(path: path, reason: ProbeError.describe(errno: errno))
            }
            if count == 0 { break }
            filled += count
        }
        buffer.removeSubrange(filled...)
        return buffer
    }
}
