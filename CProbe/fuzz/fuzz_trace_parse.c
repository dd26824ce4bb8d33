/*
 * fuzz_trace_parse.c — libFuzzer target for the traceroute parsers:
 * cp_trace_parse_icmp, cp_trace_parse_tcp and cp_trace_parse_probe, both
 * families, with and without the IP header.
 *
 * Input: one mode byte, then the packet.
 *   bit 0  IPv6 (else IPv4)
 *   bit 1  the packet starts with its IP header
 *   bit 2  parse as TCP        bit 3  parse as a captured probe
 *   bit 4  pass the IPv6 addresses (so the ICMPv6 / TCP checksum is checked)
 *   bit 5  recompute the ICMP and RFC 4884 extension checksums first, so that
 *          mutations reach the quote and extension parsers instead of dying
 *          at the checksum
 * The packet is copied into an exactly sized heap buffer so that ASan sees
 * any read past its end.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -ICProbe/include -ICProbe
 *        CProbe/fuzz/fuzz_trace_parse.c and every CProbe source, -lpcap -lcap (see scripts/fuzz.sh)
 */
#include "cp_internal.h"
#include "cprobe_trace.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#define MODE_V6 0x01
#define MODE_HEADER 0x02
#define MODE_TCP 0x04
#define MODE_PROBE 0x08
#define MODE_ADDRS 0x10
#define MODE_FIX 0x20

/* The addresses the checksum is taken over when MODE_ADDRS is set
 * (seeds are written with MODE_FIX, so they need not match). */
static const cp_addr fuzz_src = { .family = AF_INET6, .bytes = { 0xfd, [15] = 1 } };
static const cp_addr fuzz_dst = { .family = AF_INET6, .bytes = { 0xfd, [15] = 2 } };

#define REQUIRE(cond)                                                              \
    do {                                                                           \
        if (!(cond))                                                               \
            __builtin_trap();                                                      \
    } while (0)

/* Where the ICMP message lies, mirroring the parser's trimming. */
static int locate_icmp(int family, int header, uint8_t *buf, size_t len, uint8_t **icmp,
                       size_t *icmp_len, cp_addr *src, cp_addr *dst)
{
    if (!header) {
        *icmp = buf;
        *icmp_len = len;
        *src = fuzz_src;
        *dst = fuzz_dst;
        return 0;
    }
    memset(src, 0, sizeof *src);
    memset(dst, 0, sizeof *dst);
    if (family == AF_INET) {
        if (len < 20)
            return -1;
        size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
        if (ihl < 20 || ihl > len)
            return -1;
        size_t end = cp_be16(buf + 2);
        if (end < ihl || end > len)
            end = len;
        *icmp = buf + ihl;
        *icmp_len = end - ihl;
        return 0;
    }
    if (len < 40)
        return -1;
    size_t end = 40 + (size_t)cp_be16(buf + 4);
    if (end == 40 || end > len)
        end = len;
    src->family = dst->family = AF_INET6;
    memcpy(src->bytes, buf + 8, 16);
    memcpy(dst->bytes, buf + 24, 16);
    *icmp = buf + 40;
    *icmp_len = end - 40;
    return 0;
}

static void fix_checksums(int family, int header, uint8_t *buf, size_t len)
{
    uint8_t *icmp;
    size_t n;
    cp_addr src, dst;
    if (locate_icmp(family, header, buf, len, &icmp, &n, &src, &dst) != 0 || n < 8)
        return;
    size_t attr = family == AF_INET ? (size_t)icmp[5] * 4 : (size_t)icmp[4] * 8;
    size_t ext = 8 + (attr != 0 ? attr : 128);
    if (ext + 4 <= n && (icmp[ext] >> 4) == 2) {
        cp_put_be16(icmp + ext + 2, 0);
        cp_put_be16(icmp + ext + 2, cp_inet_checksum(icmp + ext, n - ext, 0));
    }
    cp_put_be16(icmp + 2, 0);
    cp_put_be16(icmp + 2, family == AF_INET ? cp_inet_checksum(icmp, n, 0)
                                            : cp_icmp6_checksum(&src, &dst, icmp, n));
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static void check_packet(const cp_trace_packet *p, size_t limit)
{
    REQUIRE(p->quoted_len <= limit);
    REQUIRE(p->family == AF_INET || p->family == AF_INET6);
    REQUIRE(p->header_len >= (p->family == AF_INET ? 20u : 40u));
    REQUIRE(p->header_len <= p->quoted_len);
    if (p->has_ports)
        REQUIRE(p->header_len + 4 <= p->quoted_len);
    if (p->has_transport)
        REQUIRE(p->header_len + 8 <= p->quoted_len);
    if (p->has_probe_id)
        REQUIRE(p->has_transport && p->header_len + 14 <= p->quoted_len);
    if (p->family == AF_INET)
        REQUIRE(p->header_len <= 60);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size_t len = size - 1;
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, len);
    int family = (mode & MODE_V6) ? AF_INET6 : AF_INET;
    int header = (mode & MODE_HEADER) != 0;
    const cp_addr *s = (mode & MODE_ADDRS) ? &fuzz_src : NULL;
    const cp_addr *d = (mode & MODE_ADDRS) ? &fuzz_dst : NULL;

    if (mode & MODE_PROBE) {
        cp_trace_packet p;
        int rc = cp_trace_parse_probe(buf, len, &p);
        REQUIRE(rc == 0 || rc == -EBADMSG);
        if (rc == 0)
            check_packet(&p, len);
    } else if (mode & MODE_TCP) {
        cp_trace_tcp_reply t;
        int rc = cp_trace_parse_tcp(family, header, buf, len, s, d, &t);
        REQUIRE(rc == 0 || rc == -EBADMSG || rc == -ENOMSG);
        if (rc == 0) {
            REQUIRE(t.payload_len + 20 <= len);
            REQUIRE(t.checksum_state >= -1 && t.checksum_state <= 2);
            REQUIRE(t.has_ip_header == header);
        }
    } else {
        if (mode & MODE_FIX)
            fix_checksums(family, header, buf, len);
        cp_trace_reply r;
        int rc = cp_trace_parse_icmp(family, header, buf, len, s, d, &r);
        REQUIRE(rc == 0 || rc == -EBADMSG || rc == -ENOMSG);
        if (rc == 0) {
            REQUIRE(r.family == family);
            REQUIRE(r.kind >= CP_TRACE_ECHO_REPLY && r.kind <= CP_TRACE_PARAM_PROBLEM);
            REQUIRE(r.icmp_len >= 8 && r.icmp_len <= len);
            REQUIRE(r.has_outer == header);
            REQUIRE(r.mpls_count >= 0 && r.mpls_count <= CP_TRACE_MAX_MPLS);
            REQUIRE(r.ext_state >= CP_TRACE_EXT_NONE && r.ext_state <= CP_TRACE_EXT_IGNORED);
            if (r.mpls_count > 0 || r.mpls_truncated)
                REQUIRE(r.ext_state == CP_TRACE_EXT_COMPLIANT ||
                        r.ext_state == CP_TRACE_EXT_NONCOMPLIANT);
            for (int i = 0; i < r.mpls_count; i++)
                REQUIRE(r.mpls[i].label <= 0xfffff && r.mpls[i].tc <= 7 && r.mpls[i].s <= 1);
            if (r.kind == CP_TRACE_ECHO_REPLY) {
                REQUIRE(r.echo_payload_len + 8 == r.icmp_len);
                REQUIRE(!r.has_quote);
            }
            if (r.has_quote) {
                check_packet(&r.quote, r.icmp_len - 8);
                REQUIRE(r.quote.family == family);
            } else {
                /* No quote: nothing the caller could misattribute. */
                REQUIRE(all_zero(&r.quote, sizeof r.quote));
            }
        }
    }
    free(buf);
    return 0;
}
