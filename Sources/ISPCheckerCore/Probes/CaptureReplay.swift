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

    /// The echo flows of a capture already opened (and checked) as a `ReplayFile`: the pings of
    /// ``contents(from:)`` (an echo flow that is a traceroute, such as `traceroute -I`, is not one).
    public static func pings(from file: ReplayFile) throws(ProbeError) -> [PingResult] {
        try contents(from: file).pings.map(\.result)
    }
}

/// Echo requests and replies paired per flow.
struct EchoFlows {
    struct FlowKey: Hashable {
        var echo: EchoFlowKey
        /// Requests carrying our ping magic: our own pings share their identifier with our
        /// ICMP traces, so they form a flow of their own.
        var ours: Bool
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

    /// One captured frame: an echo request or reply, or nothing of ours.
    mutating func read(_ frame: cp_frame, l3: UnsafePointer<UInt8>) {
        var info = cp_echo_info()
        guard cp_echo_parse_any(frame.family, 1, l3, frame.l3_len, nil, nil, &info) == 0,
              let source = IPAddress(info.src), let destination = IPAddress(info.dst) else { return }
        var strict = cp_echo_info()
        let ours = cp_echo_parse(frame.family, 1, l3, frame.l3_len, nil, nil, &strict) == 0
        let isRequest = info.type == CP_ICMP4_ECHO_REQUEST || info.type == CP_ICMP6_ECHO_REQUEST
        // Our ICMP trace probes (and their echoes) carry the trace magic: hops, not pings.
        if !ours && Self.carriesTraceMagic(frame, l3: l3, isRequest: isRequest) { return }
        if isRequest {
            request(from: source, to: destination, ident: info.ident, ours: ours, sequence: info.seq, at: frame.ts_ns)
        } else {
            reply(from: source, to: destination, ident: info.ident, ours: ours, sequence: info.seq, at: frame.ts_ns, ttl: Int(info.ttl))
        }
    }

    private static func carriesTraceMagic(_ frame: cp_frame, l3: UnsafePointer<UInt8>, isRequest: Bool) -> Bool {
        if isRequest {
            var packet = cp_trace_packet()
            return cp_trace_parse_probe(l3, frame.l3_len, &packet) == 0 && packet.has_probe_id != 0 && packet.probe_id == packet.icmp_seq
        }
        var reply = cp_trace_reply()
        return cp_trace_parse_icmp(frame.family, 1, l3, frame.l3_len, nil, nil, &reply) == 0
            && reply.echo_has_magic != 0 && reply.echo_probe_id == reply.echo_seq
    }

    mutating func request(from requester: IPAddress, to target: IPAddress, ident: UInt16, ours: Bool = false, sequence: UInt16, at nanoseconds: Int64) {
        let key = FlowKey(echo: EchoFlowKey(requester: requester, target: target, ident: ident), ours: ours)
        if requests[key] == nil { order.append(key) }
        requests[key, default: []].append(Request(sequence: sequence, sentNanoseconds: nanoseconds))
        latest[key, default: [:]][sequence] = requests[key]!.count - 1
    }

    mutating func reply(from target: IPAddress, to requester: IPAddress, ident: UInt16, ours: Bool = false, sequence: UInt16, at nanoseconds: Int64, ttl: Int) {
        let key = FlowKey(echo: EchoFlowKey(requester: requester, target: target, ident: ident), ours: ours)
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

    /// Every flow, with the echo flow a traceroute may claim (none for our own pings).
    func results() -> [(key: EchoFlowKey?, ping: CapturedPing)] {
        order.map { key in
            let flowRequests = requests[key] ?? []
            let probes = flowRequests.enumerated().map { index, request in
                PingProbe(index: index, sequence: request.sequence,
                          status: request.rttNanoseconds == nil ? .timedOut : .received,
                          rttNanoseconds: request.rttNanoseconds,
                          clock: request.rttNanoseconds == nil ? nil : .pcap,
                          replyTTL: request.replyTTL, error: nil)
            }
            let result = PingResult(target: key.echo.target.description, address: key.echo.target, socketKind: .captureFile, probes: probes)
            return (key.ours ? nil : key.echo,
                    CapturedPing(source: key.echo.requester, firstNanoseconds: flowRequests.first?.sentNanoseconds ?? 0, result: result,
                                 isOurs: key.ours, sentNanoseconds: flowRequests.map(\.sentNanoseconds)))
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
