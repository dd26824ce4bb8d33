import CProbe

#if canImport(Glibc)
import Glibc
#endif

/// Runs on the engine's own thread: one loop that reads every reply of every probe of the
/// engine, from the sockets and from the capture, and hands each to the probe it belongs to.
/// It is created on that thread and never leaves it, so it needs no locking of its own.
final class ReceiveLoop {
    private let core: EngineCore
    private let capture: OpaquePointer?
    private var buffer = [UInt8](repeating: 0, count: 65_536)

    init(core: EngineCore, capture: OpaquePointer?) {
        self.core = core
        self.capture = capture
    }

    deinit {
        if let capture { cp_capture_close(capture) }
    }

    func run() {
        var descriptors = [pollfd(fd: core.wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        let sockets = Array(core.sockets.values)
        for socket in sockets {
            descriptors.append(pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0))
        }
        if let capture {
            descriptors.append(pollfd(fd: cp_capture_fd(capture), events: Int16(POLLIN), revents: 0))
        }
        while !core.isShutDown {
            // A short timeout bounds how late a probe's deadline or capture grace is noticed.
            _ = poll(&descriptors, nfds_t(descriptors.count), 5)
            drainWake()
            // The capture first: the kernel's packet tap sees a reply before the socket gets it,
            // so by the time a reply is on the socket its capture timestamp is ready too.
            drainCapture()
            for socket in sockets { drainSocket(socket) }
            drainCapture()
            core.expire(now: .now)
        }
    }

    private func drainWake() {
        _ = cp_wake_drain(core.wakeDescriptor)
    }

    private func drainCapture() {
        guard let capture else { return }
        var frame = cp_frame()
        // Bounded so that a flood of matching frames cannot starve the sockets.
        for _ in 0..<4096 {
            guard cp_capture_next(capture, &frame) == 1, let l3 = frame.l3 else { return }
            var info = cp_echo_info()
            guard cp_echo_parse(frame.family, 1, l3, frame.l3_len, nil, nil, &info) == 0,
                  let family = IPFamily(posix: info.family),
                  let socket = core.sockets[family], info.ident == socket.identifier
            else { continue }
            let isRequest = info.type == UInt8(family == .ipv4 ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST)
            let timestamp = frame.ts_ns
            let direction = frame.direction
            let key = ProbeKey(family: family, sequence: info.seq)
            core.update(key, token: info.token, now: .now) { entry in
                if isRequest {
                    // libpcap keeps only the arriving copy of a loopback packet, so a request may
                    // show as inbound there; on every other interface it shows as outbound once.
                    guard entry.captureSendNanoseconds == nil,
                          IPAddress(info.dst) == entry.destination else { return }
                    entry.captureSendNanoseconds = timestamp
                } else {
                    guard direction != CP_DIR_OUT, entry.captureReceiveNanoseconds == nil,
                          IPAddress(info.src) == entry.destination else { return }
                    entry.captureReceiveNanoseconds = timestamp
                }
            }
        }
    }

    private func drainSocket(_ socket: ICMPSocket) {
        for _ in 0..<4096 {
            var meta = cp_recv_meta()
            let count = cp_recv(socket.descriptor, &buffer, buffer.count, &meta)
            if count == -EAGAIN || count == -EWOULDBLOCK { return }
            if count < 0 {
                if count == -EINTR { continue }
                // -EMSGSIZE (truncated) or an ICMP error queued on the socket: skip this datagram.
                continue
            }
            var info = cp_echo_info()
            let withHeader: Int32 = socket.family == .ipv4 && socket.kind == .raw ? 1 : 0
            let parsed: Int32 = buffer.withUnsafeBufferPointer { bytes in
                if socket.family == .ipv6 && meta.has_to != 0 {
                    return cp_echo_parse(socket.family.posixValue, withHeader, bytes.baseAddress, Int(count), &meta.from, &meta.to, &info)
                }
                return cp_echo_parse(socket.family.posixValue, withHeader, bytes.baseAddress, Int(count), nil, nil, &info)
            }
            let replyType = UInt8(socket.family == .ipv4 ? CP_ICMP4_ECHO_REPLY : CP_ICMP6_ECHO_REPLY)
            guard parsed == 0, info.type == replyType,
                  socket.kind == .datagram || info.ident == socket.identifier,
                  let from = IPAddress(meta.from)
            else { continue }
            let key = ProbeKey(family: socket.family, sequence: info.seq)
            let now = ContinuousClock.now
            let grace = now.advanced(by: core.captureGrace)
            let ttl = meta.ttl >= 0 ? Int(meta.ttl) : (info.ttl > 0 ? Int(info.ttl) : nil)
            core.update(key, token: info.token, now: now) { entry in
                guard !entry.replied, from == entry.destination else { return }
                entry.socketReceiveKernelNanoseconds = meta.kernel_ts_ns > 0 ? meta.kernel_ts_ns : nil
                entry.socketReceiveUserNanoseconds = meta.user_ts_ns
                entry.ttl = ttl
                entry.captureGraceDeadline = grace
            }
        }
    }
}
