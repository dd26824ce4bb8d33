// CPU and allocations per sweep probe: the C core's calls alone against a whole sweep through
// the Swift API (ProbeEngine.sweep), both to 10,000 loopback addresses (127.0.0.1 ... 127.0.39.16,
// all answered by `lo`). Needs root (raw socket; the capture variant also needs pcap).
//
//   cd Benchmarks && swift package benchmark --target SweepBenchmarks
//
// Each iteration sends 10,000 probes and waits for the 10,000 replies: divide by 10,000 for
// figures per probe. What the two paths do per probe:
//   C core calls only  cp_echo_build, cp_send_batch (sendmmsg, 64 per call),
//                      cp_recv_send_timestamps (the send timestamps the socket queues),
//                      cp_recv_batch + cp_echo_parse of the replies (recvmmsg), poll: the system
//                      calls and parsing any sweep needs, batched as the engine batches them,
//                      with no engine around them
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
    var packet = [UInt8](repeating: 0, count: 64 * 128)
    var buffer = [UInt8](repeating: 0, count: 64 * 2_048)
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
    /// The same system calls as the engine: 256 probes per turn, sent 64 per `sendmmsg`,
    /// replies and send timestamps read 64 per `recvmmsg`.
    func sweep(identifier: UInt16) -> Int {
        let batch = Int(CP_BATCH_MAX), slot = 2_048
        var replies = 0
        var sent = 0
        var timestamp: Int64 = 0
        var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        var items = [cp_send_item](repeating: cp_send_item(), count: batch)
        var lengths = [Int32](repeating: 0, count: batch)
        var metas = [cp_recv_meta](repeating: cp_recv_meta(), count: batch)
        var stamps = [Int64](repeating: 0, count: batch)
        let deadline = cp_monotonic_ns() + 2_000_000_000
        while replies < targets.count && cp_monotonic_ns() < deadline {
            var turn = 0
            while sent < targets.count && turn < 256 {
                let count = min(batch, targets.count - sent)
                packet.withUnsafeMutableBufferPointer { packets in
                    for index in 0..<count {
                        var length = 0
                        sequence &+= 1
                        let start = packets.baseAddress! + index * 128
                        _ = cp_echo_build(AF_INET, identifier, sequence, UInt64(sent + index) | 1, 56, start, 128, &length)
                        items[index] = cp_send_item(buf: start, len: length, dst: targets[sent + index])
                    }
                    let taken = cp_send_batch(descriptor, items, count, 1, &timestamp)
                    if taken > 0 { sent += Int(taken); turn += Int(taken) }
                }
                if turn == 0 { break }
            }
            _ = poll(&pollDescriptor, 1, 1)
            buffer.withUnsafeMutableBufferPointer { bytes in
                while cp_recv_send_timestamps(descriptor, bytes.baseAddress, slot, batch, &lengths, &stamps) == batch {}
                while true {
                    let count = Int(cp_recv_batch(descriptor, bytes.baseAddress, slot, batch, &lengths, &metas))
                    if count < 0 { break }
                    for index in 0..<count where lengths[index] > 0 {
                        var info = cp_echo_info()
                        if cp_echo_parse(AF_INET, 1, bytes.baseAddress! + index * slot, Int(lengths[index]), nil, nil, &info) == 0,
                           info.ident == identifier, info.type == UInt8(CP_ICMP4_ECHO_REPLY) { replies += 1 }
                    }
                    if count < batch { break }
                }
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
