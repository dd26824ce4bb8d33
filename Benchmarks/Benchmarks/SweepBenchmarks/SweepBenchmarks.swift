// CPU and allocations per sweep probe: the C core's calls alone against a whole sweep through
// the Swift API (ProbeEngine.sweep), both to 10,000 loopback addresses (127.0.0.1 ... 127.0.39.16,
// all answered by `lo`). Needs root (raw socket; the capture variant also needs pcap).
//
//   cd Benchmarks && swift package benchmark --target SweepBenchmarks
//
// Each iteration sends 10,000 probes and waits for the 10,000 replies: divide by 10,000 for
// figures per probe. What the two paths do per probe:
//   C core calls only  cp_echo_build, cp_send_to, cp_recv_send_timestamp (the send timestamp the
//                      socket queues), cp_recv + cp_echo_parse of the reply, poll: the system
//                      calls and parsing any sweep needs, with no engine around them
//   ProbeEngine.sweep  the same calls on the engine thread, plus sequence and token bookkeeping,
//                      the ring, pacing, the result per target through an AsyncThrowingStream
//                      to an async consumer; "no capture" to compare like with like, "pcap on
//                      lo" adds the capture the engine times with by default
//   ProbeEngine.sweepBatches  the same, one stream element per engine loop turn

import Benchmark
import CProbe
import ISPChecker

#if canImport(Glibc)
import Glibc
#endif

let probesPerIteration = 10_000

func loopbackTargets() -> [IPAddress] {
    (1...probesPerIteration).map { IPAddress("127.0.\($0 / 256).\($0 % 256)")! }
}

/// A raw ICMP socket and buffers for the C-only loop; opened once in setup.
final class CoreLoop: @unchecked Sendable {
    // Used by one benchmark closure at a time (package-benchmark runs iterations serially).
    let descriptor: Int32
    let targets: [cp_addr]
    var packet = [UInt8](repeating: 0, count: 1_500)
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var sequence: UInt16 = 0

    init() throws {
        var kind: Int32 = 0
        let fd = cp_icmp_socket_open(AF_INET, 1, 0, &kind)
        guard fd >= 0, kind == CP_SOCK_RAW else { throw BenchmarkSetupError.noRawSocket(-fd) }
        _ = cp_socket_grow_buffers(fd, 8 << 20)
        descriptor = fd
        targets = loopbackTargets().map { address in
            var raw = cp_addr()
            raw.family = AF_INET
            withUnsafeMutableBytes(of: &raw.bytes) { dest in
                for (index, byte) in address.bytes.enumerated() { dest[index] = byte }
            }
            return raw
        }
    }

    deinit { close(descriptor) }

    /// One sweep of every target: all sent, then every reply read. Returns replies matched.
    func sweep(identifier: UInt16) -> Int {
        var replies = 0
        var sent = 0
        var timestamp: Int64 = 0
        var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let deadline = cp_monotonic_ns() + 2_000_000_000
        while replies < targets.count && cp_monotonic_ns() < deadline {
            // Send in batches of 256, as the engine does, then read what has come back.
            var batch = 0
            while sent < targets.count && batch < 256 {
                var length = 0
                sequence &+= 1
                _ = cp_echo_build(AF_INET, identifier, sequence, UInt64(sent) | 1, 56, &packet, packet.count, &length)
                var target = targets[sent]
                guard cp_send_to(descriptor, packet, length, &target, &timestamp) >= 0 else { break }
                sent += 1
                batch += 1
            }
            _ = poll(&pollDescriptor, 1, 1)
            while cp_recv_send_timestamp(descriptor, &buffer, buffer.count, &timestamp) > 0 {}
            while true {
                var meta = cp_recv_meta()
                let count = cp_recv(descriptor, &buffer, buffer.count, &meta)
                if count == -EAGAIN { break }
                if count < 0 { continue }
                var info = cp_echo_info()
                if cp_echo_parse(AF_INET, 1, buffer, Int(count), nil, nil, &info) == 0,
                   info.ident == identifier, info.type == UInt8(CP_ICMP4_ECHO_REPLY) { replies += 1 }
            }
        }
        return replies
    }
}

enum BenchmarkSetupError: Error { case noRawSocket(Int32) }

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.cpuTotal, .cpuUser, .cpuSystem, .wallClock, .mallocCountTotal, .memoryLeaked],
        warmupIterations: 2,
        // One iteration = 10,000 probes, so that the CPU time, which Linux accounts in 10 ms
        // scheduler ticks, has 1 µs-per-probe resolution: divide every figure by 10,000.
        maxDuration: .seconds(15),
        maxIterations: 30
    )

    Benchmark("sweep 10000 x 127.0.x.y: C core calls only", closure: { benchmark, loop in
        let replies = loop.sweep(identifier: 0x5eed)
        if replies != probesPerIteration { benchmark.error("only \(replies) of \(probesPerIteration) loopback replies") }
    }, setup: { try CoreLoop() })

    Benchmark("sweep 10000 x 127.0.x.y: ProbeEngine.sweepBatches, no capture", closure: { benchmark, state in
        let (engine, targets) = state
        var received = 0
        for try await batch in try engine.sweepBatches(targets, options: SweepOptions(packetsPerSecond: 10_000_000, timeout: .seconds(2))) {
            for result in batch { received += result.received }
        }
        if received != probesPerIteration { benchmark.error("only \(received) of \(probesPerIteration) loopback replies") }
    }, setup: { () -> (ProbeEngine, [IPAddress]) in
        (try ProbeEngine(configuration: EngineConfiguration(capture: .disabled, capabilities: .keep)), loopbackTargets())
    })

    for (name, capture) in [("no capture", EngineConfiguration.Capture.disabled), ("pcap on lo", .interface("lo"))] {
        Benchmark("sweep 10000 x 127.0.x.y: ProbeEngine.sweep, \(name)", closure: { benchmark, state in
            let (engine, targets) = state
            var received = 0
            for try await result in try engine.sweep(targets, options: SweepOptions(packetsPerSecond: 10_000_000, timeout: .seconds(2))) {
                received += result.received
            }
            if received != probesPerIteration { benchmark.error("only \(received) of \(probesPerIteration) loopback replies") }
        }, setup: { () -> (ProbeEngine, [IPAddress]) in
            (try ProbeEngine(configuration: EngineConfiguration(capture: capture, capabilities: .keep)), loopbackTargets())
        })
    }
}
