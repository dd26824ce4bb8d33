/*
 * fuzz_capture_replay.c — libFuzzer target for the replay path of a capture file:
 * libpcap's offline reader (pcap and pcapng, any byte order and timestamp
 * resolution), our frame decoder, the echo parser replay uses, and the timing
 * replay does with the frames' timestamps.
 *
 * The input is the whole file. It goes through cp_capture_open_offline_fd (the
 * descriptor `run --mode replay` opens) from a memfd, then every frame through
 * cp_capture_next, cp_echo_parse_any / cp_echo_parse (pings) and
 * cp_trace_parse_probe / cp_trace_parse_icmp / cp_trace_parse_tcp (traceroute
 * probes and their answers), as CaptureReplay.swift and CaptureTraces.swift
 * do. Checked:
 *   - every timestamp cp_capture_next gives is in 0 … CP_CAPTURE_MAX_TS_SECONDS
 *     (+ < 1 s), so the difference of two of them never overflows an int64
 *     (CaptureReplay subtracts a request's time from its reply's);
 *   - a decoded frame's network layer lies inside the frame libpcap handed over
 *     (ASan: every link type's headers are read within it), and its MPLS label
 *     count within cp_frame.mpls;
 *   - the reader ends (-ENODATA) within a bounded number of calls.
 * ASan/UBSan catch everything else (a signed overflow in the timestamp
 * conversion was one, before the bounds check).
 */
#define _GNU_SOURCE
#include "cprobe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REQUIRE(cond) \
    do {              \
        if (!(cond))  \
            abort();  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("fuzz-capture", MFD_CLOEXEC);
        REQUIRE(fd >= 0);
    }
    REQUIRE(ftruncate(fd, 0) == 0);
    size_t written = 0;
    while (written < size) {
        ssize_t n = pwrite(fd, data + written, size - written, (off_t)written);
        REQUIRE(n > 0);
        written += (size_t)n;
    }

    cp_capture *cap = NULL;
    char message[256];
    if (cp_capture_open_offline_fd(fd, NULL, &cap, message, sizeof message) != 0) {
        REQUIRE(cap == NULL);
        return 0;
    }
    REQUIRE(cap != NULL);
    const int64_t max_ns = CP_CAPTURE_MAX_TS_SECONDS * 1000000000LL + 999999999LL;
    int64_t first = -1;
    /* Each call consumes at least one record of >= 16 bytes (or skips up to 64),
     * so a file of `size` bytes ends well within size + 2 calls. */
    int ended = 0;
    for (size_t calls = 0; calls < size + 2; calls++) {
        cp_frame frame;
        int rc = cp_capture_next(cap, &frame);
        if (rc == -ENODATA || rc == -EIO) {
            ended = 1;
            break;
        }
        REQUIRE(rc == 0 || rc == 1);
        if (rc == 0)
            continue;
        REQUIRE(frame.ts_ns >= 0 && frame.ts_ns <= max_ns);
        if (first < 0)
            first = frame.ts_ns;
        /* What replay computes for a reply: its time minus its request's. */
        int64_t rtt;
        REQUIRE(!__builtin_sub_overflow(frame.ts_ns, first, &rtt));
        REQUIRE(frame.l3 != NULL || frame.l3_len == 0);
        REQUIRE(frame.mpls_count >= 0 && frame.mpls_count <= CP_FRAME_MAX_MPLS);
        REQUIRE(frame.mpls_truncated == 0 || frame.mpls_count == CP_FRAME_MAX_MPLS);
        if (frame.family == 0)
            continue;
        cp_echo_info info;
        if (cp_echo_parse_any(frame.family, 1, frame.l3, frame.l3_len, NULL, NULL, &info) == 0)
            REQUIRE(info.payload_len <= frame.l3_len);
        (void)cp_echo_parse(frame.family, 1, frame.l3, frame.l3_len, NULL, NULL, &info);
        /* Traces: the probe view of every frame, then its answer view. */
        cp_trace_packet probe;
        if (cp_trace_parse_probe(frame.l3, frame.l3_len, &probe) == 0)
            REQUIRE(probe.header_len <= frame.l3_len && probe.quoted_len <= frame.l3_len);
        cp_trace_reply reply;
        if (cp_trace_parse_icmp(frame.family, 1, frame.l3, frame.l3_len, NULL, NULL, &reply) == 0) {
            REQUIRE(reply.icmp_len <= frame.l3_len);
            REQUIRE(reply.mpls_count >= 0 && reply.mpls_count <= CP_TRACE_MAX_MPLS);
        }
        cp_trace_tcp_reply segment;
        if (cp_trace_parse_tcp(frame.family, 1, frame.l3, frame.l3_len, NULL, NULL, &segment) == 0)
            REQUIRE(segment.payload_len <= frame.l3_len);
    }
    REQUIRE(ended);
    cp_capture_close(cap);
    return 0;
}
