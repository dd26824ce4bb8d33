// Benchmarks of the probe path: the C parser every captured frame and every reply goes
// through, address parsing, and a whole 10-probe ping on loopback.
//
//   cd Benchmarks && swift package benchmark            (as root, for the ping benchmark)
//
// The ping benchmark sends to 127.0.0.1 only. Without root (no raw socket and no capture, and
// ping_group_range closed) its setup fails and the benchmark reports the error; the others run.

import Benchmark
import CProbe
import ISPChecker

#if canImport(Glibc)
import Glibc
#endif

/// A valid IPv4 echo reply as a raw socket or the capture hands it over: a 20-byte IPv4 header,
/// then ICMP with our payload (magic, token, iputils-sized fill of 56 bytes in all).
func ipv4EchoReply() -> [UInt8] {
    var icmp = [UInt8](repeating: 0, count: 8 + 56)
    var icmpLength = 0
    let built = cp_echo_build(AF_INET, 0x1234, 7, 0x0123_4567_89AB_CDEF, 56, &icmp, icmp.count, &icmpLength)
    precondition(built == 0, "cp_echo_build failed: \(built)")
    // Turn the request into the reply the destination sends back (RFC 792: type 0, same body).
    icmp[0] = UInt8(CP_ICMP4_ECHO_REPLY)
    icmp[2] = 0
    icmp[3] = 0
    let icmpChecksum = cp_inet_checksum(icmp, icmpLength, 0)
    icmp[2] = UInt8(icmpChecksum >> 8)
    icmp[3] = UInt8(icmpChecksum & 0xff)

    let total = 20 + icmpLength
    var header: [UInt8] = [
        0x45, 0x00, UInt8(total >> 8), UInt8(total & 0xff), // version 4, IHL 5, total length
        0x00, 0x00, 0x40, 0x00,                              // id, DF, no fragment offset
        61, 1, 0x00, 0x00,                                   // TTL, protocol ICMP, checksum
        10, 99, 4, 2,                                        // source: the lab destination
        10, 99, 1, 1,                                        // destination: the lab client
    ]
    let headerChecksum = cp_inet_checksum(header, header.count, 0)
    header[10] = UInt8(headerChecksum >> 8)
    header[11] = UInt8(headerChecksum & 0xff)
    return header + icmp
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 3,
        maxDuration: .seconds(3),
        maxIterations: 10_000
    )

    // 1,000 parses per iteration, so the figures read as per-parse nanoseconds/counts
    // with the .kilo scaling.
    Benchmark(
        "cp_echo_parse IPv4 echo reply with header",
        configuration: .init(scalingFactor: .kilo),
        closure: { benchmark, packet in
            var info = cp_echo_info()
            packet.withUnsafeBufferPointer { bytes in
                for _ in benchmark.scaledIterations {
                    blackHole(cp_echo_parse(AF_INET, 1, bytes.baseAddress, bytes.count, nil, nil, &info))
                }
            }
            blackHole(info.seq)
        },
        setup: { () -> [UInt8] in
            let packet = ipv4EchoReply()
            var info = cp_echo_info()
            let result = cp_echo_parse(AF_INET, 1, packet, packet.count, nil, nil, &info)
            precondition(result == 0 && info.type == UInt8(CP_ICMP4_ECHO_REPLY) && info.seq == 7 && info.ident == 0x1234,
                         "the benchmark's packet does not parse as a valid echo reply (\(result))")
            return packet
        }
    )

    Benchmark("IPAddress(\"10.99.4.2\")", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(IPAddress("10.99.4.2"))
        }
    }

    // One engine for all iterations: opening sockets and the capture is setup, not the ping.
    Benchmark(
        "ProbeEngine.ping 127.0.0.1, 10 probes, interval 0",
        configuration: .init(maxDuration: .seconds(5), maxIterations: 500),
        closure: { benchmark, engine in
            let result = try await engine.ping("127.0.0.1", count: 10, interval: .zero, timeout: .seconds(1))
            if result.received != 10 {
                benchmark.error("only \(result.received) of 10 loopback replies")
            }
            blackHole(result)
        },
        setup: { () -> ProbeEngine in
            try ProbeEngine()
        }
    )
}
