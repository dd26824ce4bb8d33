import CProbe

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
        var capture: OpaquePointer?
        var message = [CChar](repeating: 0, count: 512)
        let opened = cp_capture_open_offline(path, nil, &capture, &message, message.count)
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
        // A reply without its request in the file, or a duplicate, says nothing about loss.
        guard let index = latest[key]?[sequence], let request = requests[key]?[index],
              request.rttNanoseconds == nil, nanoseconds >= request.sentNanoseconds else { return }
        requests[key]![index].rttNanoseconds = nanoseconds - request.sentNanoseconds
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
