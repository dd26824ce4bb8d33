/*
 * trace_unit_tests.c — known-answer tests for the traceroute part of CProbe
 * (cprobe_trace.h): Paris probe building, ICMP/ICMPv6 error parsing with
 * quotes and RFC 4884/4950 extensions, hostile quotes, TCP answers, capture
 * filters; then, as root, real packets on loopback only (127.0.0.1, ::1) in a
 * private network namespace that this program creates for itself.
 *
 * Checksums are verified with an independent byte-wise reference that builds
 * the pseudo-header explicitly, not with the code under test.
 *
 * Usage: trace_unit_tests [--corpus DIR]   (DIR: write fuzzer seeds there)
 * Last line: "N passed, N failed"; exit status 1 when anything failed.
 */
#define _GNU_SOURCE
#include "cprobe.h"
#include "cprobe_trace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* ------------------------------------------------------------------------ */
/* Fuzzer seeds                                                             */
/* ------------------------------------------------------------------------ */

static const char *corpus_dir;

/* Fuzzer seed: one mode byte (see fuzz_trace_parse.c) and the packet. */
#define SEED_V6 0x01
#define SEED_HEADER 0x02
#define SEED_TCP 0x04
#define SEED_PROBE 0x08
#define SEED_FIX 0x20 /* the fuzzer recomputes checksums */
static void seed(uint8_t mode, const uint8_t *pkt, size_t len)
{
    static unsigned counter;
    if (corpus_dir == NULL)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%04u", corpus_dir, counter++);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return;
    fputc(mode | SEED_FIX, f);
    fwrite(pkt, 1, len, f);
    fclose(f);
}

/* ------------------------------------------------------------------------ */
/* Reference checksums (independent of the code under test)                 */
/* ------------------------------------------------------------------------ */

static uint16_t ref_checksum(const uint8_t *d, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (i % 2 == 0) ? (uint64_t)d[i] << 8 : d[i];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Builds the pseudo-header in memory, appends the segment, sums it all. */
static uint16_t ref_l4_checksum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                                const uint8_t *seg, size_t n)
{
    uint8_t *tmp = malloc(40 + n);
    size_t p = 0;
    if (family == AF_INET) {
        memcpy(tmp, src, 4);
        memcpy(tmp + 4, dst, 4);
        tmp[8] = 0;
        tmp[9] = proto;
        tmp[10] = (uint8_t)(n >> 8);
        tmp[11] = (uint8_t)n;
        p = 12;
    } else {
        memcpy(tmp, src, 16);
        memcpy(tmp + 16, dst, 16);
        tmp[32] = (uint8_t)(n >> 24);
        tmp[33] = (uint8_t)(n >> 16);
        tmp[34] = (uint8_t)(n >> 8);
        tmp[35] = (uint8_t)n;
        tmp[36] = tmp[37] = tmp[38] = 0;
        tmp[39] = proto;
        p = 40;
    }
    memcpy(tmp + p, seg, n);
    uint16_t c = ref_checksum(tmp, p + n);
    free(tmp);
    return c;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* ------------------------------------------------------------------------ */
/* Addresses and hand-built packets                                         */
/* ------------------------------------------------------------------------ */

static cp_addr addr(const char *text)
{
    cp_addr a;
    memset(&a, 0, sizeof a);
    a.family = strchr(text, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(a.family, text, a.bytes) != 1)
        abort();
    return a;
}

static int same_addr(const cp_addr *a, const cp_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, a->family == AF_INET ? 4 : 16) == 0;
}

/* Hand-built packets never leave this process; addresses come from 10/8 and
 * fd00::/8 all the same. */
static cp_addr US4, TARGET4, ROUTER4, OTHER4, US6, TARGET6, ROUTER6, OTHER6;
#define SPORT 40001
#define DPORT 33434
#define IDENT 0x4242
#define FIXED_CSUM 0x5aa5
#define PAYLOAD 32

static void init_addrs(void)
{
    US4 = addr("10.0.0.2");
    TARGET4 = addr("10.9.9.9");
    ROUTER4 = addr("10.1.0.1");
    OTHER4 = addr("10.7.7.7");
    US6 = addr("fd00::2");
    TARGET6 = addr("fd00:9::9");
    ROUTER6 = addr("fd00:1::1");
    OTHER6 = addr("fd00:7::7");
}

/* IPv4 header with opt_len bytes of options (Router Alert, RFC 2113, then
 * NOPs and EOL), checksum filled. total < 0: the true total length. */
static size_t ip4_header(uint8_t *out, size_t opt_len, uint8_t proto, uint8_t ttl, uint16_t id,
                         const cp_addr *src, const cp_addr *dst, size_t payload_len, long total)
{
    size_t hlen = 20 + opt_len;
    memset(out, 0, hlen);
    out[0] = (uint8_t)(0x40 | (hlen / 4));
    put16(out + 2, (uint16_t)(total >= 0 ? (size_t)total : hlen + payload_len));
    put16(out + 4, id);
    put16(out + 6, 0x4000); /* DF */
    out[8] = ttl;
    out[9] = proto;
    memcpy(out + 12, src->bytes, 4);
    memcpy(out + 16, dst->bytes, 4);
    if (opt_len >= 4) {
        out[20] = 0x94;
        out[21] = 4;
        for (size_t i = 24; i < hlen; i++)
            out[i] = 1;
        if (opt_len > 4)
            out[hlen - 1] = 0;
    }
    put16(out + 10, ref_checksum(out, hlen));
    return hlen;
}

static size_t ip6_header(uint8_t *out, uint8_t nh, uint8_t hlim, const cp_addr *src,
                         const cp_addr *dst, size_t payload_len, uint32_t flow)
{
    put32(out, 0x60000000u | (flow & 0xfffff));
    put16(out + 4, (uint16_t)payload_len);
    out[6] = nh;
    out[7] = hlim;
    memcpy(out + 8, src->bytes, 16);
    memcpy(out + 24, dst->bytes, 16);
    return 40;
}

#define M_UDP CP_TRACE_METHOD_UDP
#define M_ICMP CP_TRACE_METHOD_ICMP
#define M_TCP CP_TRACE_METHOD_TCP

/* A buffer cp_capture_filter always fills for one trace. */
#define TRACE_FILTER_SIZE (1 + CP_CAPTURE_FILTER_TRACE_MAX)

/* The capture filter of one trace to dst (cp_capture_filter with that trace alone). */
static int trace_filter(int method, const cp_addr *dst, uint16_t sport, uint16_t dport,
                        uint16_t ident, char *buf, size_t cap)
{
    cp_capture_trace t = { .method = method, .family = dst->family, .dst = *dst,
                           .sport = sport, .dport = dport, .ident = ident };
    return cp_capture_filter(NULL, 0, &t, 1, buf, cap);
}

/* One of our probes as it left the host (US -> TARGET), IP header included,
 * with the TTL the quoting router saw. Returns its length. */
static size_t make_probe(int family, int method, size_t opt_len, uint16_t probe_id, uint8_t ttl,
                         uint8_t *out)
{
    const cp_addr *src = family == AF_INET ? &US4 : &US6;
    const cp_addr *dst = family == AF_INET ? &TARGET4 : &TARGET6;
    uint8_t seg[2048];
    size_t seg_len = 0, n = 0;
    uint8_t proto;
    if (method == M_UDP) {
        size_t pl;
        if (cp_trace_build_udp(family, src, dst, SPORT, DPORT, probe_id, PAYLOAD, seg + 8,
                               sizeof seg - 8, &pl) != 0)
            abort();
        put16(seg, SPORT);
        put16(seg + 2, DPORT);
        put16(seg + 4, (uint16_t)(8 + pl));
        put16(seg + 6, 0);
        put16(seg + 6, ref_l4_checksum(family, src->bytes, dst->bytes, 17, seg, 8 + pl));
        seg_len = 8 + pl;
        proto = 17;
    } else if (method == M_ICMP) {
        if (cp_trace_build_icmp_echo(family, src, dst, IDENT, probe_id, FIXED_CSUM, PAYLOAD, seg,
                                     sizeof seg, &seg_len) != 0)
            abort();
        proto = family == AF_INET ? 1 : 58;
    } else {
        if (cp_trace_build_tcp_syn(family, src, dst, SPORT, 443, 0x10000u + probe_id, seg,
                                   sizeof seg, &seg_len) != 0)
            abort();
        proto = 6;
    }
    if (family == AF_INET)
        n = ip4_header(out, opt_len, proto, ttl, (uint16_t)(0x1000 + probe_id), src, dst, seg_len,
                       -1);
    else
        n = ip6_header(out, proto, ttl, src, dst, seg_len, 0x12345);
    memcpy(out + n, seg, seg_len);
    return n + seg_len;
}

/* An ICMP / ICMPv6 error from ROUTER to US: header with `word` as its second
 * 32-bit word, quote, extension. Checksum filled (ICMPv6 with the
 * pseudo-header). Returns the ICMP length. */
static size_t make_icmp_error(int family, uint8_t type, uint8_t code, uint32_t word,
                              const uint8_t *quote, size_t quote_len, const uint8_t *ext,
                              size_t ext_len, uint8_t *out)
{
    out[0] = type;
    out[1] = code;
    put16(out + 2, 0);
    put32(out + 4, word);
    memcpy(out + 8, quote, quote_len);
    if (ext_len > 0)
        memcpy(out + 8 + quote_len, ext, ext_len);
    size_t n = 8 + quote_len + ext_len;
    if (family == AF_INET)
        put16(out + 2, ref_checksum(out, n));
    else
        put16(out + 2, ref_l4_checksum(AF_INET6, ROUTER6.bytes, US6.bytes, 58, out, n));
    return n;
}

/* Prepends the outer IP header (ROUTER -> US). Returns the total length. */
static size_t wrap_outer(int family, size_t opt_len, const uint8_t *icmp, size_t icmp_len,
                         uint8_t *out)
{
    size_t h;
    if (family == AF_INET)
        h = ip4_header(out, opt_len, 1, 250, 0x7777, &ROUTER4, &US4, icmp_len, -1);
    else
        h = ip6_header(out, 58, 250, &ROUTER6, &US6, icmp_len, 0);
    memcpy(out + h, icmp, icmp_len);
    return h + icmp_len;
}

static uint32_t mpls_entry(uint32_t label, uint8_t tc, uint8_t s, uint8_t ttl)
{
    return label << 12 | (uint32_t)tc << 9 | (uint32_t)s << 8 | ttl;
}

#define EXT_ZERO_CSUM 0
#define EXT_GOOD_CSUM 1
#define EXT_BAD_CSUM 2
/* An RFC 4884 extension structure with one MPLS object (RFC 4950). */
static size_t make_ext(const uint32_t *entries, size_t n, int csum_mode, uint8_t *out)
{
    out[0] = 0x20;
    out[1] = 0;
    put16(out + 2, 0);
    put16(out + 4, (uint16_t)(4 + 4 * n));
    out[6] = 1;
    out[7] = 1;
    for (size_t i = 0; i < n; i++)
        put32(out + 8 + 4 * i, entries[i]);
    size_t len = 8 + 4 * n;
    if (csum_mode == EXT_GOOD_CSUM)
        put16(out + 2, ref_checksum(out, len));
    else if (csum_mode == EXT_BAD_CSUM)
        put16(out + 2, (uint16_t)(ref_checksum(out, len) ^ 0x0101));
    return len;
}

/* Parses an error wrapped (v4) or bare with addresses (v6), as the sockets
 * deliver them. */
static int parse_as_delivered(int family, const uint8_t *icmp, size_t icmp_len, cp_trace_reply *r)
{
    uint8_t pkt[4096];
    if (family == AF_INET) {
        size_t n = wrap_outer(AF_INET, 0, icmp, icmp_len, pkt);
        seed(SEED_HEADER, pkt, n);
        return cp_trace_parse_icmp(AF_INET, 1, pkt, n, NULL, NULL, r);
    }
    seed(SEED_V6, icmp, icmp_len);
    return cp_trace_parse_icmp(AF_INET6, 0, icmp, icmp_len, &ROUTER6, &US6, r);
}

static const cp_addr *us(int family) { return family == AF_INET ? &US4 : &US6; }
static const cp_addr *target(int family) { return family == AF_INET ? &TARGET4 : &TARGET6; }
static const cp_addr *router(int family) { return family == AF_INET ? &ROUTER4 : &ROUTER6; }
static uint8_t te_type(int family) { return family == AF_INET ? 11 : 3; }

/* ------------------------------------------------------------------------ */
/* Building                                                                 */
/* ------------------------------------------------------------------------ */

static void test_udp_checksum_mapping_avoids_zero_and_ffff(void)
{
    for (uint32_t id = 0; id <= CP_TRACE_UDP_MAX_PROBE_ID; id++) {
        uint16_t c = cp_trace_udp_checksum_for((uint16_t)id);
        if (c == 0 || c == 0xffff) {
            CHECK(!"checksum 0 or 0xffff");
            return;
        }
        uint16_t back;
        if (cp_trace_udp_probe_id_from_checksum(c, &back) != 0 || back != id) {
            CHECK(!"round trip");
            return;
        }
    }
    CHECK_EQ(cp_trace_udp_checksum_for(0xfffe), 0);
    CHECK_EQ(cp_trace_udp_checksum_for(0xffff), 0);
    uint16_t id;
    CHECK_EQ(cp_trace_udp_probe_id_from_checksum(0, &id), -EINVAL);
    CHECK_EQ(cp_trace_udp_probe_id_from_checksum(0xffff, &id), -EINVAL);
}

static void paris_udp(int family)
{
    uint16_t seen[32];
    for (int i = 0; i < 32; i++) {
        uint16_t id = (uint16_t)(i * 2049 + 7); /* spread over the range */
        uint8_t pkt[256];
        size_t n = make_probe(family, M_UDP, 0, id, 1, pkt);
        size_t h = family == AF_INET ? 20 : 40;
        const uint8_t *udp = pkt + h;
        /* What the kernel computes: checksum over the datagram with a zero
         * checksum field. make_probe stored exactly that in the field. */
        uint16_t c = be16(udp + 6);
        CHECK_EQ(c, cp_trace_udp_checksum_for(id));
        CHECK_EQ(ref_l4_checksum(family, us(family)->bytes, target(family)->bytes, 17, udp, n - h), 0);
        CHECK_EQ(be16(udp), SPORT);
        CHECK_EQ(be16(udp + 2), DPORT);
        CHECK_EQ(be16(udp + 4), 8 + PAYLOAD);
        CHECK_EQ(be32(udp + 8), CP_TRACE_MAGIC);
        CHECK_EQ(be16(udp + 12), id);
        for (int j = 0; j < i; j++)
            CHECK(seen[j] != c);
        seen[i] = c;
    }
}
static void test_paris_udp_v4_32_probes_distinct_forced_checksums(void) { paris_udp(AF_INET); }
static void test_paris_udp_v6_32_probes_distinct_forced_checksums(void) { paris_udp(AF_INET6); }

static void test_paris_udp_odd_payload_lengths(void)
{
    for (size_t pl = CP_TRACE_MIN_PAYLOAD; pl < 80; pl++) {
        uint8_t seg[128];
        size_t out;
        CHECK_EQ(cp_trace_build_udp(AF_INET6, &US6, &TARGET6, 1, 2, 77, pl, seg + 8, 120, &out), 0);
        CHECK_EQ(out, pl);
        put16(seg, 1);
        put16(seg + 2, 2);
        put16(seg + 4, (uint16_t)(8 + pl));
        put16(seg + 6, 0);
        CHECK_EQ(ref_l4_checksum(AF_INET6, US6.bytes, TARGET6.bytes, 17, seg, 8 + pl),
                 cp_trace_udp_checksum_for(77));
    }
}

static void paris_icmp(int family)
{
    uint16_t seqs[32];
    for (int i = 0; i < 32; i++) {
        uint16_t id = (uint16_t)(i * 3001 + 1);
        uint8_t msg[128];
        size_t n;
        CHECK_EQ(cp_trace_build_icmp_echo(family, us(family), target(family), IDENT, id,
                                          FIXED_CSUM, PAYLOAD, msg, sizeof msg, &n), 0);
        CHECK_EQ(n, 8 + PAYLOAD);
        CHECK_EQ(msg[0], family == AF_INET ? 8 : 128);
        CHECK_EQ(be16(msg + 2), FIXED_CSUM);
        CHECK_EQ(be16(msg + 4), IDENT);
        CHECK_EQ(be16(msg + 6), id);
        CHECK_EQ(be32(msg + 8), CP_TRACE_MAGIC);
        if (family == AF_INET) {
            CHECK_EQ(ref_checksum(msg, n), 0);
        } else {
            /* The kernel zeroes the field and sums with the pseudo-header. */
            uint8_t copy[128];
            memcpy(copy, msg, n);
            put16(copy + 2, 0);
            CHECK_EQ(ref_l4_checksum(AF_INET6, US6.bytes, TARGET6.bytes, 58, copy, n), FIXED_CSUM);
        }
        for (int j = 0; j < i; j++)
            CHECK(seqs[j] != id);
        seqs[i] = id;
    }
}
static void test_paris_icmp_v4_32_probes_constant_checksum(void) { paris_icmp(AF_INET); }
static void test_paris_icmp_v6_32_probes_constant_checksum_with_pseudo_header(void)
{
    paris_icmp(AF_INET6);
}

static void test_tcp_syn_checksum_and_fields(void)
{
    for (int f = 0; f < 2; f++) {
        int family = f ? AF_INET6 : AF_INET;
        uint8_t seg[64];
        size_t n;
        CHECK_EQ(cp_trace_build_tcp_syn(family, us(family), target(family), SPORT, 443,
                                        0xdeadbeef, seg, sizeof seg, &n), 0);
        CHECK_EQ(n, CP_TRACE_TCP_SYN_LEN);
        CHECK_EQ(ref_l4_checksum(family, us(family)->bytes, target(family)->bytes, 6, seg, n), 0);
        CHECK_EQ(be16(seg), SPORT);
        CHECK_EQ(be16(seg + 2), 443);
        CHECK_EQ(be32(seg + 4), 0xdeadbeef);
        CHECK_EQ(seg[12] >> 4, 6);
        CHECK_EQ(seg[13], CP_TRACE_TCP_SYN);
        CHECK_EQ(seg[20], 2);
    }
}

static void test_build_rejects_bad_arguments(void)
{
    uint8_t buf[256];
    size_t n;
    CHECK_EQ(cp_trace_build_udp(AF_INET, &US4, &TARGET4, 1, 2, 3, 7, buf, sizeof buf, &n), -EINVAL);
    CHECK_EQ(cp_trace_build_udp(AF_INET, &US4, &TARGET4, 1, 2, 0xfffe, 8, buf, sizeof buf, &n),
             -EINVAL);
    CHECK_EQ(cp_trace_build_udp(AF_INET, &US4, &TARGET6, 1, 2, 3, 8, buf, sizeof buf, &n), -EINVAL);
    CHECK_EQ(cp_trace_build_udp(AF_INET6, &US4, &TARGET4, 1, 2, 3, 8, buf, sizeof buf, &n),
             -EINVAL);
    CHECK_EQ(cp_trace_build_udp(AF_INET, NULL, &TARGET4, 1, 2, 3, 8, buf, sizeof buf, &n), -EINVAL);
    CHECK_EQ(cp_trace_build_udp(AF_INET, &US4, &TARGET4, 1, 2, 3, 32, buf, 31, &n), -ENOSPC);
    CHECK_EQ(cp_trace_build_udp_datagram(AF_INET, &US4, &TARGET4, 1, 2, 3, 32, buf, 39, &n), -ENOSPC);
    CHECK_EQ(cp_trace_build_udp_datagram(AF_INET, &US4, &TARGET4, 1, 2, 3, 32, buf, 7, &n), -ENOSPC);
    CHECK_EQ(cp_trace_build_udp_datagram(AF_INET, &US4, &TARGET4, 1, 2, 3, 7, buf, sizeof buf, &n), -EINVAL);
    CHECK_EQ(cp_trace_build_icmp_echo(AF_INET, NULL, NULL, 1, 2, 0, 8, buf, sizeof buf, &n),
             -EINVAL);
    CHECK_EQ(cp_trace_build_icmp_echo(AF_INET, NULL, NULL, 1, 2, 0xffff, 8, buf, sizeof buf, &n),
             -EINVAL);
    CHECK_EQ(cp_trace_build_icmp_echo(AF_INET, NULL, NULL, 1, 2, 0x1234, 8, buf, sizeof buf, &n), 0);
    CHECK_EQ(cp_trace_build_icmp_echo(AF_INET6, NULL, NULL, 1, 2, 0x1234, 8, buf, sizeof buf, &n),
             -EINVAL);
    CHECK_EQ(cp_trace_build_icmp_echo(AF_INET, NULL, NULL, 1, 2, 0x1234, 32, buf, 39, &n), -ENOSPC);
    CHECK_EQ(cp_trace_build_tcp_syn(AF_INET, &US4, &TARGET4, 1, 2, 3, buf, 23, &n), -ENOSPC);
    CHECK_EQ(cp_trace_build_tcp_syn(AF_UNIX, &US4, &TARGET4, 1, 2, 3, buf, 64, &n), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Parsing ICMP errors                                                      */
/* ------------------------------------------------------------------------ */

static void check_quote_of_probe(int family, int method, const cp_trace_reply *r, uint16_t id)
{
    CHECK(r->has_quote);
    CHECK_EQ(r->quote.family, family);
    CHECK(same_addr(&r->quote.src, us(family)));
    CHECK(same_addr(&r->quote.dst, target(family)));
    CHECK(r->quote.has_transport);
    if (method == M_UDP) {
        CHECK_EQ(r->quote.proto, 17);
        CHECK(r->quote.has_ports);
        CHECK_EQ(r->quote.sport, SPORT);
        CHECK_EQ(r->quote.dport, DPORT);
        CHECK_EQ(r->quote.udp_checksum, cp_trace_udp_checksum_for(id));
        CHECK_EQ(r->quote.udp_length, 8 + PAYLOAD);
        uint16_t back = 0;
        CHECK_EQ(cp_trace_udp_probe_id_from_checksum(r->quote.udp_checksum, &back), 0);
        CHECK_EQ(back, id);
    } else if (method == M_TCP) {
        CHECK_EQ(r->quote.proto, 6);
        CHECK_EQ(r->quote.sport, SPORT);
        CHECK_EQ(r->quote.dport, 443);
        CHECK_EQ(r->quote.tcp_seq, 0x10000u + id);
    } else {
        CHECK_EQ(r->quote.proto, family == AF_INET ? 1 : 58);
        CHECK_EQ(r->quote.icmp_type, family == AF_INET ? 8 : 128);
        CHECK_EQ(r->quote.icmp_code, 0);
        CHECK_EQ(r->quote.icmp_checksum, FIXED_CSUM);
        CHECK_EQ(r->quote.icmp_ident, IDENT);
        CHECK_EQ(r->quote.icmp_seq, id);
    }
}

/* Time exceeded quoting the whole probe (as Linux routers do). */
static void time_exceeded_full_quote(int family, int method, size_t outer_opts, size_t quote_opts)
{
    uint8_t probe[512], icmp[1024], pkt[2048];
    uint16_t id = 321;
    size_t plen = make_probe(family, method, quote_opts, id, 1, probe);
    size_t ilen = make_icmp_error(family, te_type(family), 0, 0, probe, plen, NULL, 0, icmp);
    cp_trace_reply r;
    int rc;
    if (family == AF_INET) {
        size_t n = wrap_outer(AF_INET, outer_opts, icmp, ilen, pkt);
        seed(SEED_HEADER, pkt, n);
        rc = cp_trace_parse_icmp(AF_INET, 1, pkt, n, NULL, NULL, &r);
    } else {
        size_t n = wrap_outer(AF_INET6, 0, icmp, ilen, pkt);
        seed(SEED_V6 | SEED_HEADER, pkt, n);
        rc = cp_trace_parse_icmp(AF_INET6, 1, pkt, n, NULL, NULL, &r);
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(r.kind, CP_TRACE_TIME_EXCEEDED);
    CHECK_EQ(r.icmp_type, te_type(family));
    CHECK_EQ(r.icmp_code, 0);
    CHECK(r.has_outer);
    CHECK(r.checksum_verified);
    CHECK(same_addr(&r.outer_src, router(family)));
    CHECK(same_addr(&r.outer_dst, us(family)));
    CHECK_EQ(r.outer_ttl, 250);
    CHECK_EQ(r.icmp_len, ilen);
    check_quote_of_probe(family, method, &r, id);
    CHECK_EQ(r.quote.ttl, 1);
    CHECK_EQ(r.quote.quoted_len, plen);
    CHECK_EQ(r.quote.total_len, plen);
    CHECK_EQ(r.quote.header_len, family == AF_INET ? 20 + quote_opts : 40);
    if (family == AF_INET) {
        CHECK_EQ(r.quote.ip_id, 0x1000 + id);
    } else {
        CHECK_EQ(r.quote.flow_label, 0x12345);
    }
    CHECK_EQ(r.quote.has_probe_id, method != M_TCP);
    if (method != M_TCP)
        CHECK_EQ(r.quote.probe_id, id);
    CHECK_EQ(r.ext_state, CP_TRACE_EXT_NONE);
    CHECK_EQ(r.mpls_count, 0);
}

static void test_v4_time_exceeded_quoting_udp(void) { time_exceeded_full_quote(AF_INET, M_UDP, 0, 0); }
static void test_v4_time_exceeded_quoting_tcp(void) { time_exceeded_full_quote(AF_INET, M_TCP, 0, 0); }
static void test_v4_time_exceeded_quoting_icmp(void) { time_exceeded_full_quote(AF_INET, M_ICMP, 0, 0); }
static void test_v4_time_exceeded_with_ip_options_outer_and_quoted(void)
{
    for (int m = M_UDP; m <= M_TCP; m++) {
        time_exceeded_full_quote(AF_INET, m, 8, 0);
        time_exceeded_full_quote(AF_INET, m, 0, 4);
        time_exceeded_full_quote(AF_INET, m, 40, 40);
    }
}
static void test_v6_time_exceeded_quoting_udp_tcp_icmp(void)
{
    for (int m = M_UDP; m <= M_TCP; m++)
        time_exceeded_full_quote(AF_INET6, m, 0, 0);
}

/* RFC 792 minimum: IP header + 8 bytes. */
static void test_v4_time_exceeded_minimal_8_byte_quote(void)
{
    for (int m = M_UDP; m <= M_TCP; m++) {
        uint8_t probe[512], icmp[1024];
        size_t plen = make_probe(AF_INET, m, 0, 99, 1, probe);
        (void)plen;
        size_t ilen = make_icmp_error(AF_INET, 11, 0, 0, probe, 28, NULL, 0, icmp);
        cp_trace_reply r;
        CHECK_EQ(parse_as_delivered(AF_INET, icmp, ilen, &r), 0);
        check_quote_of_probe(AF_INET, m, &r, 99);
        CHECK_EQ(r.quote.quoted_len, 28);
        CHECK_EQ(r.quote.total_len, plen); /* claimed, larger than quoted */
        CHECK(!r.quote.has_probe_id);
    }
}

static void test_v6_time_exceeded_without_header(void)
{
    uint8_t probe[512], icmp[1024];
    size_t plen = make_probe(AF_INET6, M_UDP, 0, 5, 1, probe);
    size_t ilen = make_icmp_error(AF_INET6, 3, 0, 0, probe, plen, NULL, 0, icmp);
    cp_trace_reply r;
    CHECK_EQ(cp_trace_parse_icmp(AF_INET6, 0, icmp, ilen, &ROUTER6, &US6, &r), 0);
    CHECK(r.checksum_verified);
    CHECK(!r.has_outer);
    check_quote_of_probe(AF_INET6, M_UDP, &r, 5);
    /* Without addresses the kernel is trusted to have checked it. */
    CHECK_EQ(cp_trace_parse_icmp(AF_INET6, 0, icmp, ilen, NULL, NULL, &r), 0);
    CHECK(!r.checksum_verified);
    /* With the wrong addresses the checksum fails. */
    CHECK_EQ(cp_trace_parse_icmp(AF_INET6, 0, icmp, ilen, &OTHER6, &US6, &r), -EBADMSG);
}

static void test_v4_every_unreachable_code(void)
{
    for (int code = 0; code <= 15; code++) {
        uint8_t probe[512], icmp[1024];
        size_t plen = make_probe(AF_INET, M_UDP, 0, 1000, 7, probe);
        uint32_t word = code == 4 ? 1400 : 0; /* RFC 1191 next-hop MTU */
        size_t ilen = make_icmp_error(AF_INET, 3, (uint8_t)code, word, probe, plen, NULL, 0, icmp);
        cp_trace_reply r;
        CHECK_EQ(parse_as_delivered(AF_INET, icmp, ilen, &r), 0);
        CHECK_EQ(r.kind, CP_TRACE_UNREACHABLE);
        CHECK_EQ(r.icmp_code, code);
        CHECK_EQ(r.mtu, code == 4 ? 1400 : 0);
        check_quote_of_probe(AF_INET, M_UDP, &r, 1000);
        CHECK_EQ(r.quote.ttl, 7);
    }
}

static void test_v6_every_unreachable_code(void)
{
    for (int code = 0; code <= 7; code++) {
        uint8_t probe[512], icmp[1024];
        size_t plen = make_probe(AF_INET6, M_TCP, 0, 17, 3, probe);
        size_t ilen = make_icmp_error(AF_INET6, 1, (uint8_t)code, 0, probe, plen, NULL, 0, icmp);
        cp_trace_reply r;
        CHECK_EQ(parse_as_delivered(AF_INET6, icmp, ilen, &r), 0);
        CHECK_EQ(r.kind, CP_TRACE_UNREACHABLE);
        CHECK_EQ(r.icmp_code, code);
        check_quote_of_probe(AF_INET6, M_TCP, &r, 17);
    }
}

static void test_v6_packet_too_big_reports_mtu(void)
{
    uint8_t probe[512], icmp[1024];
    size_t plen = make_probe(AF_INET6, M_ICMP, 0, 8, 9, probe);
    size_t ilen = make_icmp_error(AF_INET6, 2, 0, 1280, probe, plen, NULL, 0, icmp);
    cp_trace_reply r;
    CHECK_EQ(parse_as_delivered(AF_INET6, icmp, ilen, &r), 0);
    CHECK_EQ(r.kind, CP_TRACE_PACKET_TOO_BIG);
    CHECK_EQ(r.mtu, 1280);
    CHECK_EQ(r.rfc4884_length, 0);
    check_quote_of_probe(AF_INET6, M_ICMP, &r, 8);
}

static void test_parameter_problem_reports_pointer(void)
{
    uint8_t probe[512], icmp[1024];
    size_t plen = make_probe(AF_INET, M_UDP, 0, 2, 1, probe);
    size_t ilen = make_icmp_error(AF_INET, 12, 0, 0x16000000u, probe, plen, NULL, 0, icmp);
    cp_trace_reply r;
    CHECK_EQ(parse_as_delivered(AF_INET, icmp, ilen, &r), 0);
    CHECK_EQ(r.kind, CP_TRACE_PARAM_PROBLEM);
    CHECK_EQ(r.pointer, 0x16);
    check_quote_of_probe(AF_INET, M_UDP, &r, 2);

    plen = make_probe(AF_INET6, M_UDP, 0, 2, 1, probe);
    ilen = make_icmp_error(AF_INET6, 4, 1, 40, probe, plen, NULL, 0, icmp);
    CHECK_EQ(parse_as_delivered(AF_INET6, icmp, ilen, &r), 0);
    CHECK_EQ(r.kind, CP_TRACE_PARAM_PROBLEM);
    CHECK_EQ(r.pointer, 40);
    check_quote_of_probe(AF_INET6, M_UDP, &r, 2);
}

static void test_bad_icmp_checksum_is_rejected(void)
{
    uint8_t probe[512], icmp[1024];
    size_t plen = make_probe(AF_INET, M_UDP, 0, 2, 1, probe);
    size_t ilen = make_icmp_error(AF_INET, 11, 0, 0, probe, plen, NULL, 0, icmp);
    icmp[40] ^= 0x10;
    cp_trace_reply r;
    CHECK_EQ(parse_as_delivered(AF_INET, icmp, ilen, &r), -EBADMSG);
    plen = make_probe(AF_INET6, M_UDP, 0, 2, 1, probe);
    ilen = make_icmp_error(AF_INET6, 3, 0, 0, probe, plen, NULL, 0, icmp);
    icmp[40] ^= 0x10;
    CHECK_EQ(parse_as_delivered(AF_INET6, icmp, ilen, &r), -EBADMSG);
}

static void test_echo_reply_reports_ident_seq_and_magic(void)
{
    for (int f = 0; f < 2; f++) {
        int family = f ? AF_INET6 : AF_INET;
        uint8_t msg[128];
        size_t n;
        cp_trace_build_icmp_echo(family, us(family), target(family), IDENT, 4711, FIXED_CSUM,
                                 PAYLOAD, msg, sizeof msg, &n);
        /* The destination turns it into a reply: type changes, checksum redone. */
        msg[0] = family == AF_INET ? 0 : 129;
        put16(msg + 2, 0);
        if (family == AF_INET)
            put16(msg + 2, ref_checksum(msg, n));
        else
            put16(msg + 2, ref_l4_checksum(AF_INET6, TARGET6.bytes, US6.bytes, 58, msg, n));
        cp_trace_reply r;
        int rc;
        if (family == AF_INET) {
            uint8_t pkt[256];
            size_t h = ip4_header(pkt, 0, 1, 60, 1, &TARGET4, &US4, n, -1);
            memcpy(pkt + h, msg, n);
            seed(SEED_HEADER, pkt, h + n);
            rc = cp_trace_parse_icmp(AF_INET, 1, pkt, h + n, NULL, NULL, &r);
            CHECK(same_addr(&r.outer_src, &TARGET4));
            CHECK_EQ(r.outer_ttl, 60);
        } else {
            seed(SEED_V6, msg, n);
            rc = cp_trace_parse_icmp(AF_INET6, 0, msg, n, &TARGET6, &US6, &r);
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(r.kind, CP_TRACE_ECHO_REPLY);
        CHECK_EQ(r.echo_ident, IDENT);
        CHECK_EQ(r.echo_seq, 4711);
        CHECK(r.echo_has_magic);
        CHECK_EQ(r.echo_probe_id, 4711);
        CHECK_EQ(r.echo_payload_len, PAYLOAD);
        CHECK(!r.has_quote);
        /* A foreign echo reply (no magic) is reported as such. */
        msg[8] = 'X';
        put16(msg + 2, 0);
        put16(msg + 2, family == AF_INET ? ref_checksum(msg, n)
                                         : ref_l4_checksum(AF_INET6, TARGET6.bytes, US6.bytes, 58,
                                                           msg, n));
        if (family == AF_INET6) {
            CHECK_EQ(cp_trace_parse_icmp(AF_INET6, 0, msg, n, &TARGET6, &US6, &r), 0);
            CHECK(!r.echo_has_magic);
        }
    }
}

static void test_unhandled_types_are_enomsg(void)
{
    uint8_t msg[64];
    size_t n;
    cp_trace_reply r;
    cp_trace_build_icmp_echo(AF_INET, NULL, NULL, 1, 2, 0x1111, 8, msg, sizeof msg, &n);
    CHECK_EQ(cp_trace_parse_icmp(AF_INET, 0, msg, n, NULL, NULL, &r), -ENOMSG); /* echo request */
    uint8_t redirect[36] = { 5, 0 };
    put16(redirect + 2, ref_checksum(redirect, sizeof redirect));
    CHECK_EQ(cp_trace_parse_icmp(AF_INET, 0, redirect, sizeof redirect, NULL, NULL, &r), -ENOMSG);
    uint8_t ns[24] = { 135, 0 };
    CHECK_EQ(cp_trace_parse_icmp(AF_INET6, 0, ns, sizeof ns, NULL, NULL, &r), -ENOMSG);
    /* The outer header says UDP: not ours to parse here. */
    uint8_t pkt[64];
    size_t h = ip4_header(pkt, 0, 17, 64, 1, &ROUTER4, &US4, 8, -1);
    memset(pkt + h, 0, 8);
    CHECK_EQ(cp_trace_parse_icmp(AF_INET, 1, pkt, h + 8, NULL, NULL, &r), -ENOMSG);
    /* An outer fragment. */
    uint8_t probe[512], icmp[1024];
    size_t plen = make_probe(AF_INET, M_UDP, 0, 2, 1, probe);
    size_t ilen = make_icmp_error(AF_INET, 11, 0, 0, probe, plen, NULL, 0, icmp);
    uint8_t big[2048];
    size_t bn = wrap_outer(AF_INET, 0, icmp, ilen, big);
    put16(big + 6, 0x2000); /* MF */
    CHECK_EQ(cp_trace_parse_icmp(AF_INET, 1, big, bn, NULL, NULL, &r), -ENOMSG);
    /* Short and bad-argument inputs. */
    CHECK_EQ(cp_trace_parse_icmp(AF_INET, 0, msg, 7, NULL, NULL, &r), -EBADMSG);
    CHECK_EQ(cp_trace_parse_icmp(AF_INET, 1, msg, 0, NULL, NULL, &r), -EBADMSG);
    CHECK_EQ(cp_trace_parse_icmp(AF_UNIX, 0, msg, n, NULL, NULL, &r), -EINVAL);
    CHECK_EQ(cp_trace_parse_icmp(AF_INET, 0, msg, n, NULL, NULL, NULL), -EINVAL);
}

static void test_outer_ipv4_trimmed_to_total_length(void)
{
    uint8_t probe[512], icmp[1024], pkt[2048];
    size_t plen = make_probe(AF_INET, M_UDP, 0, 3, 1, probe);
    size_t ilen = make_icmp_error(AF_INET, 11, 0, 0, probe, plen, NULL, 0, icmp);
    size_t n = wrap_outer(AF_INET, 0, icmp, ilen, pkt);
    memset(pkt + n, 0xee, 10); /* link padding */
    cp_trace_reply r;
    CHECK_EQ(cp_trace_parse_icmp(AF_INET, 1, pkt, n + 10, NULL, NULL, &r), 0);
    CHECK_EQ(r.icmp_len, ilen);
    CHECK_EQ(r.quote.quoted_len, plen);
}

static void test_v6_outer_extension_headers_skipped(void)
{
    uint8_t probe[512], icmp[1024], pkt[2048];
    size_t plen = make_probe(AF_INET6, M_UDP, 0, 3, 1, probe);
    size_t ilen = make_icmp_error(AF_INET6, 3, 0, 0, probe, plen, NULL, 0, icmp);
    ip6_header(pkt, 0 /* hop-by-hop */, 250, &ROUTER6, &US6, 8 + ilen, 0);
    uint8_t hbh[8] = { 58, 0, 1, 4, 0, 0, 0, 0 }; /* PadN */
    memcpy(pkt + 40, hbh, 8);
    memcpy(pkt + 48, icmp, ilen);
    cp_trace_reply r;
    seed(SEED_V6 | SEED_HEADER, pkt, 48 + ilen);
    CHECK_EQ(cp_trace_parse_icmp(AF_INET6, 1, pkt, 48 + ilen, NULL, NULL, &r), 0);
    check_quote_of_probe(AF_INET6, M_UDP, &r, 3);
    pkt[40] = 44; /* then a fragment header: not for us */
    memset(pkt + 48, 0, 8);
    CHECK_EQ(cp_trace_parse_icmp(AF_INET6, 1, pkt, 48 + ilen, NULL, NULL, &r), -ENOMSG);
    pkt[41] = 200; /* hop-by-hop longer than the packet */
    CHECK_EQ(cp_trace_parse_icmp(AF_INET6, 1, pkt, 48 + ilen, NULL, NULL, &r), -EBADMSG);
}

/* ------------------------------------------------------------------------ */
/* RFC 4884 / RFC 4950                                                      */
/* ------------------------------------------------------------------------ */

/* Error with a 128-byte (v4) / 128-byte (v6) padded original datagram, the
 * length attribute set, and an MPLS extension. */
static size_t error_with_ext(int family, const uint32_t *labels, size_t n_labels, int csum_mode,
                             int compliant, uint8_t *icmp)
{
    uint8_t probe[512], quote[256], ext[128];
    size_t plen = make_probe(family, M_UDP, 0, 555, 1, probe);
    memset(quote, 0, sizeof quote);
    memcpy(quote, probe, plen < 128 ? plen : 128);
    size_t elen = make_ext(labels, n_labels, csum_mode, ext);
    uint32_t word = 0;
    if (compliant)
        word = family == AF_INET ? (uint32_t)(128 / 4) << 16 : (uint32_t)(128 / 8) << 24;
    return make_icmp_error(family, te_type(family), 0, word, quote, 128, ext, elen, icmp);
}

static void test_rfc4884_mpls_one_label(void)
{
    for (int f = 0; f < 2; f++) {
        int family = f ? AF_INET6 : AF_INET;
        uint32_t labels[1] = { mpls_entry(24001, 0, 1, 1) };
        uint8_t icmp[1024];
        size_t n = error_with_ext(family, labels, 1, EXT_GOOD_CSUM, 1, icmp);
        cp_trace_reply r;
        CHECK_EQ(parse_as_delivered(family, icmp, n, &r), 0);
        CHECK_EQ(r.ext_state, CP_TRACE_EXT_COMPLIANT);
        CHECK_EQ(r.rfc4884_length, 128);
        CHECK_EQ(r.quote.quoted_len, 128);
        CHECK_EQ(r.mpls_count, 1);
        CHECK_EQ(r.mpls[0].label, 24001);
        CHECK_EQ(r.mpls[0].s, 1);
        CHECK_EQ(r.mpls[0].ttl, 1);
        CHECK_EQ(r.mpls_truncated, 0);
        check_quote_of_probe(family, M_UDP, &r, 555);
    }
}

static void test_rfc4884_mpls_two_labels_bottom_of_stack(void)
{
    uint32_t labels[2] = { mpls_entry(0xfffff, 5, 0, 254), mpls_entry(16, 2, 1, 1) };
    uint8_t icmp[1024];
    size_t n = error_with_ext(AF_INET, labels, 2, EXT_ZERO_CSUM, 1, icmp);
    cp_trace_reply r;
    CHECK_EQ(parse_as_delivered(AF_INET, icmp, n, &r), 0);
    CHECK_EQ(r.ext_state, CP_TRACE_EXT_COMPLIANT); /* checksum 0: none sent (RFC 4884 §7) */
    CHECK_EQ(r.mpls_count, 2);
    CHECK_EQ(r.mpls[0].label, 0xfffff);
    CHECK_EQ(r.mpls[0].tc, 5);
    CHECK_EQ(r.mpls[0].s, 0);
    CHECK_EQ(r.mpls[0].ttl, 254);
    CHECK_EQ(r.mpls[1].label, 16);
    CHECK_EQ(r.mpls[1].tc, 2);
    CHECK_EQ(r.mpls[1].s, 1);
    CHECK_EQ(r.mpls[1].ttl, 1);
}

static void test_rfc4884_noncompliant_128_byte_form(void)
{
    for (int f = 0; f < 2; f++) {
        int family = f ? AF_INET6 : AF_INET;
        uint32_t labels[2] = { mpls_entry(300, 0, 0, 1), mpls_entry(301, 0, 1, 1) };
        uint8_t icmp[1024];
        size_t n = error_with_ext(family, labels, 2, EXT_GOOD_CSUM, 0, icmp);
        cp_trace_reply r;
        CHECK_EQ(parse_as_delivered(family, icmp, n, &r), 0);
        CHECK_EQ(r.rfc4884_length, 0);
        CHECK_EQ(r.ext_state, CP_TRACE_EXT_NONCOMPLIANT);
        CHECK_EQ(r.quote.quoted_len, 128);
        CHECK_EQ(r.mpls_count, 2);
        CHECK_EQ(r.mpls[1].label, 301);
        check_quote_of_probe(family, M_UDP, &r, 555);
        /* Without a checksum, bytes at 128 are not trusted to be a structure. */
        n = error_with_ext(family, labels, 2, EXT_ZERO_CSUM, 0, icmp);
        CHECK_EQ(parse_as_delivered(family, icmp, n, &r), 0);
        CHECK_EQ(r.ext_state, CP_TRACE_EXT_NONE);
        CHECK_EQ(r.mpls_count, 0);
        CHECK_EQ(r.quote.quoted_len, n - 8);
    }
}

static void test_rfc4884_bad_extension_checksum_ignored_message_kept(void)
{
    uint32_t labels[1] = { mpls_entry(1, 0, 1, 1) };
    uint8_t icmp[1024];
    for (int compliant = 0; compliant < 2; compliant++) {
        size_t n = error_with_ext(AF_INET, labels, 1, EXT_BAD_CSUM, compliant, icmp);
        cp_trace_reply r;
        CHECK_EQ(parse_as_delivered(AF_INET, icmp, n, &r), 0);
        CHECK_EQ(r.ext_state, compliant ? CP_TRACE_EXT_IGNORED : CP_TRACE_EXT_NONE);
        CHECK_EQ(r.mpls_count, 0);
        check_quote_of_probe(AF_INET, M_UDP, &r, 555);
    }
}

static void test_rfc4884_inconsistent_object_lengths_ignored(void)
{
    uint32_t labels[2] = { mpls_entry(7, 0, 0, 1), mpls_entry(8, 0, 1, 1) };
    uint8_t icmp[1024];
    size_t n = error_with_ext(AF_INET, labels, 2, EXT_ZERO_CSUM, 1, icmp);
    cp_trace_reply r;
    const size_t obj = 8 + 128 + 4; /* object header inside the ICMP message */
    uint8_t copy[1024];
    uint16_t bad_lengths[] = { 0, 3, 6, 13, 200 };
    for (size_t i = 0; i < sizeof bad_lengths / sizeof bad_lengths[0]; i++) {
        memcpy(copy, icmp, n);
        put16(copy + obj, bad_lengths[i]);
        put16(copy + 2, 0);
        put16(copy + 2, ref_checksum(copy, n));
        CHECK_EQ(parse_as_delivered(AF_INET, copy, n, &r), 0);
        CHECK_EQ(r.ext_state, CP_TRACE_EXT_IGNORED);
        CHECK_EQ(r.mpls_count, 0);
        CHECK(r.has_quote);
    }
    /* An MPLS object of 6 bytes (a 2-byte "label") followed by a valid
     * unknown object: the label stack is not a whole number of entries. */
    {
        uint8_t probe[512], quote[128], icmp2[1024];
        size_t plen = make_probe(AF_INET, M_UDP, 0, 9, 1, probe);
        memset(quote, 0, sizeof quote);
        memcpy(quote, probe, plen);
        uint8_t e[] = { 0x20, 0, 0, 0, 0, 6, 1, 1, 0x00, 0x10, 0, 8, 2, 0x0c, 0, 0, 0, 5 };
        size_t n2 = make_icmp_error(AF_INET, 11, 0, 32u << 16, quote, 128, e, sizeof e, icmp2);
        CHECK_EQ(parse_as_delivered(AF_INET, icmp2, n2, &r), 0);
        CHECK_EQ(r.ext_state, CP_TRACE_EXT_IGNORED);
        CHECK_EQ(r.mpls_count, 0);
    }
    /* Wrong extension version. */
    memcpy(copy, icmp, n);
    copy[8 + 128] = 0x10;
    put16(copy + 2, 0);
    put16(copy + 2, ref_checksum(copy, n));
    CHECK_EQ(parse_as_delivered(AF_INET, copy, n, &r), 0);
    CHECK_EQ(r.ext_state, CP_TRACE_EXT_IGNORED);
}

static void test_rfc4884_more_than_8_labels_truncated(void)
{
    uint32_t labels[11];
    for (int i = 0; i < 11; i++)
        labels[i] = mpls_entry((uint32_t)(100 + i), 0, i == 10, 1);
    uint8_t icmp[1024];
    size_t n = error_with_ext(AF_INET6, labels, 11, EXT_GOOD_CSUM, 1, icmp);
    cp_trace_reply r;
    CHECK_EQ(parse_as_delivered(AF_INET6, icmp, n, &r), 0);
    CHECK_EQ(r.mpls_count, CP_TRACE_MAX_MPLS);
    CHECK_EQ(r.mpls_truncated, 1);
    CHECK_EQ(r.mpls[7].label, 107);
}

static void test_rfc4884_unknown_object_skipped(void)
{
    uint8_t probe[512], quote[128], ext[64], icmp[1024];
    size_t plen = make_probe(AF_INET, M_UDP, 0, 9, 1, probe);
    memset(quote, 0, sizeof quote);
    memcpy(quote, probe, plen);
    /* RFC 5837 interface information object (class 2), then MPLS. */
    uint8_t e[] = { 0x20, 0, 0, 0, 0, 8, 2, 0x0c, 0, 0, 0, 5,
                    0, 8, 1, 1, 0x01, 0x23, 0x41, 0x07 };
    memcpy(ext, e, sizeof e);
    put16(ext + 2, ref_checksum(ext, sizeof e));
    size_t n = make_icmp_error(AF_INET, 11, 0, 32u << 16, quote, 128, ext, sizeof e, icmp);
    cp_trace_reply r;
    CHECK_EQ(parse_as_delivered(AF_INET, icmp, n, &r), 0);
    CHECK_EQ(r.ext_state, CP_TRACE_EXT_COMPLIANT);
    CHECK_EQ(r.mpls_count, 1);
    CHECK_EQ(r.mpls[0].label, 0x01234);
    CHECK_EQ(r.mpls[0].s, 1);
    CHECK_EQ(r.mpls[0].ttl, 7);
}

static void test_rfc4884_length_attribute_past_end_ignored(void)
{
    uint8_t probe[512], icmp[1024];
    size_t plen = make_probe(AF_INET, M_UDP, 0, 9, 1, probe);
    size_t n = make_icmp_error(AF_INET, 11, 0, 200u << 16, probe, plen, NULL, 0, icmp);
    cp_trace_reply r;
    CHECK_EQ(parse_as_delivered(AF_INET, icmp, n, &r), 0);
    CHECK_EQ(r.ext_state, CP_TRACE_EXT_NONE);
    CHECK_EQ(r.quote.quoted_len, plen);
    check_quote_of_probe(AF_INET, M_UDP, &r, 9);
    /* A small junk attribute with nothing valid after it keeps the whole quote. */
    n = make_icmp_error(AF_INET, 11, 0, 2u << 16, probe, plen, NULL, 0, icmp);
    CHECK_EQ(parse_as_delivered(AF_INET, icmp, n, &r), 0);
    CHECK_EQ(r.quote.quoted_len, plen);
    check_quote_of_probe(AF_INET, M_UDP, &r, 9);
}

/* ------------------------------------------------------------------------ */
/* Truncated and lying quotes                                               */
/* ------------------------------------------------------------------------ */

static void truncated_quotes(int family, int method, size_t quote_opts)
{
    uint8_t probe[512], icmp[1024];
    size_t plen = make_probe(family, method, quote_opts, 42, 1, probe);
    size_t h = family == AF_INET ? 20 + quote_opts : 40;
    for (size_t L = 0; L <= plen; L++) {
        size_t n = make_icmp_error(family, te_type(family), 0, 0, probe, L, NULL, 0, icmp);
        cp_trace_reply r;
        int rc = parse_as_delivered(family, icmp, n, &r);
        CHECK_EQ(rc, 0);
        CHECK_EQ(r.has_quote, L >= h);
        CHECK_EQ(r.quote.has_ports, method != M_ICMP && L >= h + 4);
        CHECK_EQ(r.quote.has_transport, L >= h + 8);
        CHECK(r.quote.quoted_len <= n);
        if (r.has_quote)
            CHECK_EQ(r.quote.quoted_len, L);
        if (r.quote.has_transport)
            check_quote_of_probe(family, method, &r, 42);
        CHECK_EQ(r.quote.has_probe_id, method != M_TCP && L >= h + 14);
        if (CHECK_FAILED) {
            printf("    (family %d method %d quote length %zu)\n", family, method, L);
            return;
        }
    }
}
static void test_truncated_quotes_at_every_length(void)
{
    for (int m = M_UDP; m <= M_TCP; m++) {
        truncated_quotes(AF_INET, m, 0);
        truncated_quotes(AF_INET, m, 12);
        truncated_quotes(AF_INET6, m, 0);
    }
}

/* Builds an error around a doctored quote and parses it. */
static void parse_doctored(int family, const uint8_t *quote, size_t qlen, cp_trace_reply *r)
{
    uint8_t icmp[1024];
    size_t n = make_icmp_error(family, te_type(family), 0, 0, quote, qlen, NULL, 0, icmp);
    CHECK_EQ(parse_as_delivered(family, icmp, n, r), 0);
}

static const uint8_t *p6_for_lying(void)
{
    static uint8_t p6[512];
    make_probe(AF_INET6, M_UDP, 0, 11, 1, p6);
    return p6;
}

static void test_lying_quotes_never_yield_garbage_transport(void)
{
    uint8_t probe[512], q[512];
    cp_trace_reply r;
    size_t plen = make_probe(AF_INET, M_UDP, 0, 11, 1, probe);

    /* Total length claims more than quoted: fields present are still right. */
    memcpy(q, probe, 28);
    put16(q + 2, 1500);
    parse_doctored(AF_INET, q, 28, &r);
    CHECK(r.has_quote);
    CHECK_EQ(r.quote.total_len, 1500);
    CHECK_EQ(r.quote.quoted_len, 28);
    check_quote_of_probe(AF_INET, M_UDP, &r, 11);

    /* Byte-swapped total length (old BSD stacks): ignored, quote still used. */
    memcpy(q, probe, plen);
    put16(q + 2, (uint16_t)(plen << 8 | plen >> 8));
    parse_doctored(AF_INET, q, plen, &r);
    check_quote_of_probe(AF_INET, M_UDP, &r, 11);

    /* A claimed total length below the header length, and only 2 transport
     * bytes present: nothing past them may be read. */
    memcpy(q, probe, 22);
    put16(q + 2, 1);
    parse_doctored(AF_INET, q, 22, &r);
    CHECK(r.has_quote);
    CHECK(!r.quote.has_ports);
    CHECK(!r.quote.has_transport);
    memcpy(q, p6_for_lying(), 42);
    put16(q + 4, 0); /* IPv6 payload length 0 (jumbogram marker) */
    parse_doctored(AF_INET6, q, 42, &r);
    CHECK(r.has_quote);
    CHECK(!r.quote.has_ports);

    /* IHL pointing past the quoted bytes. */
    memcpy(q, probe, 28);
    q[0] = 0x4f;
    parse_doctored(AF_INET, q, 28, &r);
    CHECK(!r.has_quote);
    CHECK(!r.quote.has_transport);
    CHECK(!r.quote.has_ports);

    /* IHL below 5. */
    memcpy(q, probe, 28);
    q[0] = 0x44;
    parse_doctored(AF_INET, q, 28, &r);
    CHECK(!r.has_quote);

    /* Wrong version: 5, and IPv6 inside ICMPv4. */
    memcpy(q, probe, 28);
    q[0] = 0x55;
    parse_doctored(AF_INET, q, 28, &r);
    CHECK(!r.has_quote);
    uint8_t p6[512];
    size_t p6len = make_probe(AF_INET6, M_UDP, 0, 11, 1, p6);
    parse_doctored(AF_INET, p6, p6len, &r);
    CHECK(!r.has_quote);
    parse_doctored(AF_INET6, probe, plen, &r);
    CHECK(!r.has_quote);

    /* Protocol 17 but only 4 transport bytes. */
    memcpy(q, probe, 24);
    parse_doctored(AF_INET, q, 24, &r);
    CHECK(r.has_quote);
    CHECK(r.quote.has_ports);
    CHECK(!r.quote.has_transport);
    CHECK_EQ(r.quote.udp_checksum, 0);

    /* A claimed total length of just the header, zero padding after (as RFC
     * 4884 pads): the padding is not a transport header. */
    memset(q, 0, 128);
    memcpy(q, probe, 20);
    put16(q + 2, 20);
    parse_doctored(AF_INET, q, 128, &r);
    CHECK(r.has_quote);
    CHECK(!r.quote.has_ports);
    CHECK(!r.quote.has_transport);

    /* A later fragment carries no transport header. */
    memcpy(q, probe, plen);
    put16(q + 6, 0x0010);
    parse_doctored(AF_INET, q, plen, &r);
    CHECK(r.has_quote);
    CHECK(r.quote.is_fragment);
    CHECK(!r.quote.has_transport);

    /* IPv6: an extension header first means no transport fields. */
    memcpy(q, p6, p6len);
    q[6] = 60;
    parse_doctored(AF_INET6, q, p6len, &r);
    CHECK(r.has_quote);
    CHECK_EQ(r.quote.proto, 60);
    CHECK(!r.quote.has_transport);

    /* An ICMPv6 message quoted inside ICMPv4 is not ours. */
    memcpy(q, probe, plen);
    q[9] = 58;
    parse_doctored(AF_INET, q, plen, &r);
    CHECK(r.has_quote);
    CHECK(!r.quote.has_transport);
}

/* ------------------------------------------------------------------------ */
/* Captured probes and TCP answers                                          */
/* ------------------------------------------------------------------------ */

static void test_parse_probe_reads_our_outgoing_packets(void)
{
    uint8_t pkt[512];
    cp_trace_packet p;
    size_t n = make_probe(AF_INET, M_UDP, 0, 1234, 5, pkt);
    memset(pkt + n, 0, 6); /* Ethernet minimum-frame padding */
    seed(SEED_PROBE, pkt, n + 6);
    CHECK_EQ(cp_trace_parse_probe(pkt, n + 6, &p), 0);
    CHECK_EQ(p.family, AF_INET);
    CHECK_EQ(p.ttl, 5);
    CHECK(p.has_probe_id);
    CHECK_EQ(p.probe_id, 1234);
    CHECK_EQ(p.udp_checksum, cp_trace_udp_checksum_for(1234));
    /* The whole datagram is present: its checksum is checked against its own addresses. */
    CHECK_EQ(p.transport_checksum_state, CP_TRACE_CHECKSUM_CORRECT);
    /* Cut short: not checkable. */
    CHECK_EQ(cp_trace_parse_probe(pkt, 20 + 8 + 4, &p), 0);
    CHECK_EQ(p.transport_checksum_state, CP_TRACE_CHECKSUM_UNCHECKED);
    /* Another source address without the checksum a NAT would fix: wrong (the IP header
     * checksum is not verified for quotes). */
    pkt[12] ^= 0x40;
    CHECK_EQ(cp_trace_parse_probe(pkt, n, &p), 0);
    CHECK_EQ(p.transport_checksum_state, CP_TRACE_CHECKSUM_WRONG);
    pkt[12] ^= 0x40;
    n = make_probe(AF_INET6, M_ICMP, 0, 77, 2, pkt);
    CHECK_EQ(cp_trace_parse_probe(pkt, n, &p), 0);
    CHECK_EQ(p.family, AF_INET6);
    CHECK_EQ(p.icmp_seq, 77);
    CHECK(p.has_probe_id);
    CHECK_EQ(p.probe_id, 77);
    CHECK_EQ(p.ttl, 2);
    pkt[0] = 0x75;
    CHECK_EQ(cp_trace_parse_probe(pkt, n, &p), -EBADMSG);
    CHECK_EQ(cp_trace_parse_probe(pkt, 0, &p), -EBADMSG);
    CHECK_EQ(cp_trace_parse_probe(NULL, 4, &p), -EINVAL);
}

/* A TCP segment from TARGET:443 to US:SPORT with the given flags. */
static size_t make_tcp_answer(int family, uint8_t flags, uint32_t seq, uint32_t ack, int with_header,
                              uint8_t *out)
{
    uint8_t seg[40] = { 0 };
    put16(seg, 443);
    put16(seg + 2, SPORT);
    put32(seg + 4, seq);
    put32(seg + 8, ack);
    seg[12] = 0x50;
    seg[13] = flags;
    put16(seg + 14, 1000);
    put16(seg + 16, ref_l4_checksum(family, target(family)->bytes, us(family)->bytes, 6, seg, 20));
    size_t h = 0;
    if (with_header)
        h = family == AF_INET ? ip4_header(out, 0, 6, 55, 9, &TARGET4, &US4, 20, -1)
                              : ip6_header(out, 6, 55, &TARGET6, &US6, 20, 0);
    memcpy(out + h, seg, 20);
    return h + 20;
}

static void test_tcp_answers_syn_ack_and_rst(void)
{
    uint8_t pkt[128];
    cp_trace_tcp_reply t;
    size_t n = make_tcp_answer(AF_INET, CP_TRACE_TCP_SYN | CP_TRACE_TCP_ACK, 999, 0x10001, 1, pkt);
    seed(SEED_TCP | SEED_HEADER, pkt, n);
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.sport, 443);
    CHECK_EQ(t.dport, SPORT);
    CHECK_EQ(t.seq, 999);
    CHECK_EQ(t.ack, 0x10001);
    CHECK_EQ(t.flags, CP_TRACE_TCP_SYN | CP_TRACE_TCP_ACK);
    CHECK_EQ(t.checksum_state, 1);
    CHECK_EQ(t.ttl, 55);
    CHECK(same_addr(&t.src, &TARGET4));

    n = make_tcp_answer(AF_INET6, CP_TRACE_TCP_RST | CP_TRACE_TCP_ACK, 0, 0x20001, 0, pkt);
    seed(SEED_TCP | SEED_V6, pkt, n);
    CHECK_EQ(cp_trace_parse_tcp(AF_INET6, 0, pkt, n, &TARGET6, &US6, &t), 0);
    CHECK_EQ(t.flags, CP_TRACE_TCP_RST | CP_TRACE_TCP_ACK);
    CHECK_EQ(t.ack, 0x20001);
    CHECK_EQ(t.checksum_state, 1);
    CHECK_EQ(cp_trace_parse_tcp(AF_INET6, 0, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.checksum_state, -1);
    pkt[16] ^= 1; /* corrupt checksum: parsed, and marked wrong (never an answer) */
    CHECK_EQ(cp_trace_parse_tcp(AF_INET6, 0, pkt, n, &TARGET6, &US6, &t), 0);
    CHECK_EQ(t.checksum_state, CP_TRACE_CHECKSUM_WRONG);

    n = make_tcp_answer(AF_INET6, CP_TRACE_TCP_RST, 0, 0, 1, pkt);
    CHECK_EQ(cp_trace_parse_tcp(AF_INET6, 1, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.checksum_state, 1);
}

/* A SYN-ACK or RST damaged on the way (one bit of its window or flags flipped)
 * carries a checksum that is neither correct nor the partial sum of checksum
 * offload: it is marked wrong, and the tracer never counts it as an answer. The
 * partial form (the folded pseudo-header sum alone, as loopback and veth hand
 * over segments) is told apart. */
static void test_tcp_damaged_answer_is_marked_wrong(void)
{
    uint8_t pkt[128];
    cp_trace_tcp_reply t;
    size_t n = make_tcp_answer(AF_INET, CP_TRACE_TCP_SYN | CP_TRACE_TCP_ACK, 999, 0x10001, 1, pkt);
    size_t tcp = n - 20;
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.checksum_state, CP_TRACE_CHECKSUM_CORRECT);

    pkt[tcp + 14] ^= 0x01; /* window: one bit */
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.checksum_state, CP_TRACE_CHECKSUM_WRONG);
    pkt[tcp + 14] ^= 0x01;
    pkt[tcp + 13] ^= CP_TRACE_TCP_RST; /* flags: a SYN-ACK turned into RST */
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.checksum_state, CP_TRACE_CHECKSUM_WRONG);
    pkt[tcp + 13] ^= CP_TRACE_TCP_RST;

    /* Partial: sum of the pseudo-header (addresses, protocol 6, length 20), folded. */
    uint32_t sum = 0;
    for (int i = 0; i < 4; i += 2)
        sum += (uint32_t)(TARGET4.bytes[i] << 8 | TARGET4.bytes[i + 1]) + (uint32_t)(US4.bytes[i] << 8 | US4.bytes[i + 1]);
    sum += 6 + 20;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(pkt + tcp + 16, (uint16_t)sum);
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.checksum_state, CP_TRACE_CHECKSUM_PARTIAL);
    /* The partial form covers no data, so a damaged segment from the wire would have to
     * turn its full checksum into exactly this value: as unlikely (1 in 65536) as
     * turning it into a correct one. */
    pkt[tcp + 14] ^= 0x01;
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.checksum_state, CP_TRACE_CHECKSUM_PARTIAL);
    put16(pkt + tcp + 16, (uint16_t)(sum ^ 0x0100)); /* neither */
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), 0);
    CHECK_EQ(t.checksum_state, CP_TRACE_CHECKSUM_WRONG);
}

static void test_tcp_malformed_segments_rejected(void)
{
    uint8_t pkt[128];
    cp_trace_tcp_reply t;
    size_t n = make_tcp_answer(AF_INET, CP_TRACE_TCP_RST, 0, 0, 1, pkt);
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n - 1, NULL, NULL, &t), -EBADMSG);
    pkt[20 + 12] = 0xf0; /* data offset 60 > 20 bytes */
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), -EBADMSG);
    pkt[20 + 12] = 0x40; /* data offset 16 < 20 */
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), -EBADMSG);
    n = make_tcp_answer(AF_INET, CP_TRACE_TCP_RST, 0, 0, 1, pkt);
    pkt[9] = 17;
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 1, pkt, n, NULL, NULL, &t), -ENOMSG);
    CHECK_EQ(cp_trace_parse_tcp(AF_INET, 0, pkt, 19, NULL, NULL, &t), -EBADMSG);
}

/* ------------------------------------------------------------------------ */
/* Capture filter                                                           */
/* ------------------------------------------------------------------------ */

static int filter_compiles(int linktype, const char *expr)
{
    pcap_t *p = pcap_open_dead(linktype, 65535);
    struct bpf_program prog;
    int ok = pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!ok)
        printf("    pcap_compile: %s\n    filter: %s\n", pcap_geterr(p), expr);
    else
        pcap_freecode(&prog);
    pcap_close(p);
    return ok;
}

/* Whether the filter, compiled for raw IP frames, admits pkt. */
static int filter_admits(const char *expr, const uint8_t *pkt, size_t len)
{
    pcap_t *p = pcap_open_dead(DLT_RAW, 65535);
    struct bpf_program prog;
    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        pcap_close(p);
        return -1;
    }
    struct pcap_pkthdr h = { .caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len };
    int r = pcap_offline_filter(&prog, &h, pkt) != 0;
    pcap_freecode(&prog);
    pcap_close(p);
    return r;
}

static void test_filter_compiles_for_sll2_and_ethernet(void)
{
    char f[TRACE_FILTER_SIZE];
    const cp_addr *dsts[2] = { &TARGET4, &TARGET6 };
    for (int d = 0; d < 2; d++)
        for (int m = M_UDP; m <= M_TCP; m++)
            for (int dport = 0; dport < 2; dport++) {
                CHECK_EQ(trace_filter(m, dsts[d], 65535, dport ? 443 : 0, 65535, f, sizeof f), 0);
                CHECK(filter_compiles(DLT_LINUX_SLL2, f));
                CHECK(filter_compiles(DLT_EN10MB, f));
            }
    CHECK_EQ(trace_filter(M_UDP, &TARGET6, 1, 2, 3, f, 40), -ENOSPC);
    CHECK_EQ(trace_filter(9, &TARGET6, 1, 2, 3, f, sizeof f), -EINVAL);
}

static void test_filter_admits_probes_and_their_errors_only(void)
{
    for (int fam = 0; fam < 2; fam++) {
        int family = fam ? AF_INET6 : AF_INET;
        for (int m = M_UDP; m <= M_TCP; m++) {
            char f[TRACE_FILTER_SIZE];
            CHECK_EQ(trace_filter(m, target(family), SPORT, m == M_TCP ? 443 : 0, IDENT, f,
                                     sizeof f), 0);
            uint8_t probe[512], icmp[1024], pkt[2048];
            size_t plen = make_probe(family, m, 0, 5, 1, probe);
            CHECK_EQ(filter_admits(f, probe, plen), 1);
            size_t ilen = make_icmp_error(family, te_type(family), 0, 0, probe, plen, NULL, 0, icmp);
            size_t n = wrap_outer(family, 0, icmp, ilen, pkt);
            CHECK_EQ(filter_admits(f, pkt, n), 1);
            /* The same error about a packet to another destination. */
            uint8_t other[512];
            memcpy(other, probe, plen);
            if (family == AF_INET)
                memcpy(other + 16, OTHER4.bytes, 4);
            else
                memcpy(other + 24, OTHER6.bytes, 16);
            ilen = make_icmp_error(family, te_type(family), 0, 0, other, plen, NULL, 0, icmp);
            n = wrap_outer(family, 0, icmp, ilen, pkt);
            CHECK_EQ(filter_admits(f, pkt, n), 0);
        }
        /* Echo replies: our ident only. */
        char f[TRACE_FILTER_SIZE];
        trace_filter(M_ICMP, target(family), 0, 0, IDENT, f, sizeof f);
        uint8_t msg[64], pkt[128];
        size_t n;
        cp_trace_build_icmp_echo(family, us(family), target(family), IDENT, 1, FIXED_CSUM, 8, msg,
                                 sizeof msg, &n);
        msg[0] = family == AF_INET ? 0 : 129;
        size_t h = family == AF_INET ? ip4_header(pkt, 0, 1, 60, 1, &TARGET4, &US4, n, -1)
                                     : ip6_header(pkt, 58, 60, &TARGET6, &US6, n, 0);
        memcpy(pkt + h, msg, n);
        CHECK_EQ(filter_admits(f, pkt, h + n), 1);
        put16(pkt + h + 4, IDENT + 1);
        CHECK_EQ(filter_admits(f, pkt, h + n), 0);
    }
}

/* An IP packet from src to dst carrying the upper-layer bytes l4 (checksums
 * are irrelevant to a filter). Returns its length. */
static size_t filter_packet(int family, uint8_t proto, const cp_addr *src, const cp_addr *dst,
                            const uint8_t *l4, size_t l4_len, uint8_t *out)
{
    size_t h = family == AF_INET ? ip4_header(out, 0, proto, 64, 1, src, dst, l4_len, -1)
                                 : ip6_header(out, proto, 64, src, dst, l4_len, 0);
    memcpy(out + h, l4, l4_len);
    return h + l4_len;
}

/* What the engine's capture admitted when Swift wrote the filter itself: echo
 * identifiers a and b, and per family the trace sockets' UDP and TCP ports
 * with every ICMP error of the family. Kept as the reference the one builder
 * must agree with. */
static void engine_reference_filter(uint16_t a, uint16_t b, uint16_t udp4, uint16_t tcp4,
                                    uint16_t udp6, uint16_t tcp6, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "((icmp and (icmp[0] = 8 or icmp[0] = 0) and icmp[4:2] = %u) or (icmp6 and (ip6[40] = 128 or ip6[40] = 129) and ip6[44:2] = %u))"
             " or ((icmp and (icmp[0] = 8 or icmp[0] = 0) and icmp[4:2] = %u) or (icmp6 and (ip6[40] = 128 or ip6[40] = 129) and ip6[44:2] = %u))"
             " or (icmp and (icmp[0] = 3 or icmp[0] = 11 or icmp[0] = 12))"
             " or (ip and udp and port %u) or (ip and tcp and port %u)"
             " or (icmp6 and ip6[40] >= 1 and ip6[40] <= 4)"
             " or (ip6 and udp and port %u) or (ip6 and tcp and port %u)",
             a, a, b, b, udp4, tcp4, udp6, tcp6);
}

static void test_filter_engine_form_admits_what_the_swift_builder_admitted(void)
{
    const uint16_t idents[2] = { IDENT, 0x0101 };
    const uint16_t udp4 = 40001, tcp4 = 40002, udp6 = 40003, tcp6 = 40004;
    cp_capture_trace traces[4];
    memset(traces, 0, sizeof traces);
    const int families[2] = { AF_INET, AF_INET6 };
    for (int i = 0; i < 2; i++) {
        traces[2 * i] = (cp_capture_trace){ .method = M_UDP, .family = families[i],
                                            .sport = i ? udp6 : udp4 };
        traces[2 * i + 1] = (cp_capture_trace){ .method = M_TCP, .family = families[i],
                                                .sport = i ? tcp6 : tcp4 };
    }
    char f[1 + 2 * CP_CAPTURE_FILTER_ECHO_MAX + 4 * CP_CAPTURE_FILTER_TRACE_MAX], ref[2048];
    CHECK_EQ(cp_capture_filter(idents, 2, traces, 4, f, sizeof f), 0);
    engine_reference_filter(idents[0], idents[1], udp4, tcp4, udp6, tcp6, ref, sizeof ref);
    CHECK(filter_compiles(DLT_LINUX_SLL2, f));
    CHECK(filter_compiles(DLT_EN10MB, f));

    for (int i = 0; i < 2; i++) {
        int family = families[i];
        uint16_t udp = i ? udp6 : udp4, tcp = i ? tcp6 : tcp4;
        uint8_t icmp_proto = family == AF_INET ? 1 : 58;
        uint8_t echo_request = family == AF_INET ? 8 : 128, echo_reply = family == AF_INET ? 0 : 129;
        /* ICMP types: v4 unreachable, time exceeded, parameter problem, redirect;
         * v6 unreachable, too big, time exceeded, parameter problem, neighbor solicitation. */
        const uint8_t errors4[] = { 3, 11, 12 }, errors6[] = { 1, 2, 3, 4 };
        struct { uint8_t proto; uint8_t l4[16]; int from_target; int admit; const char *what; } cases[32];
        size_t n = 0;
#define CASE(p, b0, b1, b2, b3, b4, b5, from, adm, w)                                       \
    cases[n++] = (__typeof__(cases[0])){ p, { b0, b1, b2, b3, b4, b5, 0, 0 }, from, adm, w }
        CASE(17, udp >> 8, udp & 0xff, 0x82, 0x9a, 0, 16, 0, 1, "UDP probe from our port");
        CASE(17, 0x82, 0x9a, udp >> 8, udp & 0xff, 0, 16, 1, 1, "UDP answer to our port");
        CASE(17, 0x9c, 0x50, 0x82, 0x9a, 0, 16, 0, 0, "UDP from another port");
        CASE(6, tcp >> 8, tcp & 0xff, 1, 0xbb, 0, 0, 0, 1, "TCP SYN from our port");
        CASE(6, 1, 0xbb, tcp >> 8, tcp & 0xff, 0, 0, 1, 1, "TCP answer to our port");
        CASE(6, udp >> 8, udp & 0xff, 1, 0xbb, 0, 0, 0, 0, "TCP from the UDP port");
        CASE(icmp_proto, echo_request, 0, 0, 0, IDENT >> 8, IDENT & 0xff, 0, 1, "echo request, ident a");
        CASE(icmp_proto, echo_reply, 0, 0, 0, 0x01, 0x01, 1, 1, "echo reply, ident b");
        CASE(icmp_proto, echo_reply, 0, 0, 0, 0x01, 0x02, 1, 0, "echo reply, another ident");
        if (family == AF_INET) {
            for (size_t e = 0; e < sizeof errors4; e++)
                CASE(1, errors4[e], 0, 0, 0, 0, 0, 1, 1, "ICMP error");
            CASE(1, 5, 0, 0, 0, 0, 0, 1, 0, "ICMP redirect");
        } else {
            for (size_t e = 0; e < sizeof errors6; e++)
                CASE(58, errors6[e], 0, 0, 0, 0, 0, 1, 1, "ICMPv6 error");
            CASE(58, 135, 0, 0, 0, 0, 0, 1, 0, "ICMPv6 neighbor solicitation");
        }
#undef CASE
        for (size_t c = 0; c < n; c++) {
            uint8_t pkt[128];
            const cp_addr *src = cases[c].from_target ? target(family) : us(family);
            const cp_addr *dst = cases[c].from_target ? us(family) : target(family);
            size_t len = filter_packet(family, cases[c].proto, src, dst, cases[c].l4, 16, pkt);
            int admitted = filter_admits(f, pkt, len), reference = filter_admits(ref, pkt, len);
            if (admitted != cases[c].admit || admitted != reference)
                printf("    family %d: %s: admitted %d, reference %d\n", family, cases[c].what,
                       admitted, reference);
            CHECK_EQ(admitted, cases[c].admit);
            CHECK_EQ(admitted, reference);
        }
    }
}

static void test_filter_fits_the_documented_size_for_the_longest_values(void)
{
    cp_addr far4 = addr("255.255.255.254"), far6 = addr("ffff:fffe:ffff:fffe:ffff:fffe:ffff:fffe");
    char f[1 + 3 * CP_CAPTURE_FILTER_ECHO_MAX + 6 * CP_CAPTURE_FILTER_TRACE_MAX];
    uint16_t longest = 65535;
    CHECK_EQ(cp_capture_filter(&longest, 1, NULL, 0, f, 1 + CP_CAPTURE_FILTER_ECHO_MAX), 0);
    CHECK(strlen(f) + strlen(" or ") <= CP_CAPTURE_FILTER_ECHO_MAX);
    cp_capture_trace all[6];
    size_t n = 0;
    for (int m = M_UDP; m <= M_TCP; m++)
        for (int d = 0; d < 2; d++) {
            const cp_addr *dst = d ? &far6 : &far4;
            cp_capture_trace t = { .method = m, .family = dst->family, .dst = *dst,
                                   .sport = 65535, .dport = 65535, .ident = 65535 };
            all[n++] = t;
            CHECK_EQ(cp_capture_filter(NULL, 0, &t, 1, f, TRACE_FILTER_SIZE), 0);
            CHECK(strlen(f) + strlen(" or ") <= CP_CAPTURE_FILTER_TRACE_MAX);
            CHECK(filter_compiles(DLT_LINUX_SLL2, f));
            /* One byte short: nothing, never a truncated expression. */
            size_t need = strlen(f) + 1;
            CHECK_EQ(cp_capture_filter(NULL, 0, &t, 1, f, need - 1), -ENOSPC);
            CHECK_EQ(f[0], '\0');
        }
    uint16_t idents[3] = { 65535, 65534, 65533 };
    CHECK_EQ(cp_capture_filter(idents, 3, all, 6, f, sizeof f), 0);
    CHECK(filter_compiles(DLT_EN10MB, f));
}

/* Occurrences of needle in haystack. */
static int count_of(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_filter_admits_each_destinations_errors_once_and_refuses_bad_input(void)
{
    char f[1 + 3 * CP_CAPTURE_FILTER_TRACE_MAX];
    cp_capture_trace t[3] = {
        { .method = M_UDP, .family = AF_INET, .dst = TARGET4, .sport = SPORT },
        { .method = M_TCP, .family = AF_INET, .dst = TARGET4, .sport = SPORT, .dport = 443 },
        { .method = M_ICMP, .family = AF_INET, .dst = OTHER4, .ident = IDENT },
    };
    CHECK_EQ(cp_capture_filter(NULL, 0, t, 3, f, sizeof f), 0);
    CHECK_EQ(count_of(f, "icmp[24:4]"), 2); /* TARGET4 once, OTHER4 once */
    CHECK(filter_compiles(DLT_RAW, f));
    cp_capture_trace shared[2] = {
        { .method = M_UDP, .family = AF_INET6, .sport = SPORT },
        { .method = M_TCP, .family = AF_INET6, .sport = SPORT + 1 },
    };
    CHECK_EQ(cp_capture_filter(NULL, 0, shared, 2, f, sizeof f), 0);
    CHECK_EQ(count_of(f, "ip6[40] == 4"), 1);
    CHECK_EQ(count_of(f, " host "), 0);

    /* An empty expression admits every packet: nothing to admit is an error. */
    CHECK_EQ(cp_capture_filter(NULL, 0, NULL, 0, f, sizeof f), -EINVAL);
    uint16_t ident = 1;
    CHECK_EQ(cp_capture_filter(&ident, 1, NULL, 0, NULL, 64), -EINVAL);
    CHECK_EQ(cp_capture_filter(NULL, 1, NULL, 0, f, sizeof f), -EINVAL);
    cp_capture_trace bad = { .method = M_UDP, .family = AF_INET, .dst = TARGET6, .sport = 1 };
    CHECK_EQ(cp_capture_filter(NULL, 0, &bad, 1, f, sizeof f), -EINVAL); /* dst of another family */
    bad.dst.family = 0;
    bad.family = 0;
    CHECK_EQ(cp_capture_filter(NULL, 0, &bad, 1, f, sizeof f), -EINVAL); /* no family */
}

/* ------------------------------------------------------------------------ */
/* Real packets on loopback (root only)                                     */
/* ------------------------------------------------------------------------ */

static cp_addr LO4, LO6;

/* A private network namespace holds only lo: nothing can leave the host, and
 * no other traffic reaches our raw sockets. */
static int enter_private_loopback(void)
{
    if (getenv("CPROBE_TRACE_SHARED_NETNS") == NULL && unshare(CLONE_NEWNET) != 0) {
        printf("note: unshare(CLONE_NEWNET): %s; using the current namespace's loopback\n",
               strerror(errno));
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
        rc = -errno;
    } else if (!(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
            rc = -errno;
    }
    close(fd);
    LO4 = addr("127.0.0.1");
    LO6 = addr("::1");
    return rc;
}

static int wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, timeout_ms) > 0;
}

static pcap_t *open_lo_capture(const char *filter)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_create("lo", err);
    if (p == NULL) {
        printf("    pcap_create: %s\n", err);
        return NULL;
    }
    pcap_set_snaplen(p, 65535);
    pcap_set_immediate_mode(p, 1);
    pcap_set_timeout(p, 10);
    struct bpf_program prog;
    if (pcap_activate(p) < 0 || pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(p, &prog) != 0) {
        printf("    pcap: %s\n", pcap_geterr(p));
        pcap_close(p);
        return NULL;
    }
    pcap_freecode(&prog);
    pcap_setnonblock(p, 1, err);
    return p;
}

/* Next captured frame's network layer, or 0 after timeout_ms. */
static int next_l3(pcap_t *p, int timeout_ms, const uint8_t **l3, size_t *len)
{
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        struct pcap_pkthdr *h;
        const u_char *d;
        int rc = pcap_next_ex(p, &h, &d);
        if (rc == 1) {
            size_t skip = pcap_datalink(p) == DLT_EN10MB ? 14 : pcap_datalink(p) == DLT_LINUX_SLL2 ? 20 : 0;
            if (h->caplen < skip)
                continue;
            *l3 = d + skip;
            *len = h->caplen - skip;
            return 1;
        }
        if (rc < 0)
            return 0;
        wait_readable(pcap_get_selectable_fd(p), 10);
    }
    return 0;
}

static cp_addr lo(int family) { return family == AF_INET ? LO4 : LO6; }

/* Raw ICMP socket of the test itself (the engine uses cp_icmp_socket_open). */
static int raw_icmp(int family)
{
    return socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);
}

/* Waits for an ICMP error on fd whose quote is UDP from sport; parses it.
 * On timeout *r is all zeros (not a previous probe's reply) and the miss is
 * reported, so that the checks on *r that follow read as what they are. */
static int await_udp_error(int family, int fd, uint16_t sport, cp_trace_reply *r)
{
    uint8_t buf[4096];
    int seen = 0;
    for (int tries = 0; tries < 50; tries++) {
        if (!wait_readable(fd, 20))
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            continue;
        seen++;
        int rc = cp_trace_parse_icmp(family, family == AF_INET, buf, (size_t)n, &LO6, &LO6, r);
        if (rc == 0 && r->has_quote && r->quote.has_ports && r->quote.proto == 17 &&
            r->quote.sport == sport)
            return 0;
    }
    memset(r, 0, sizeof *r);
    printf("    no ICMP error quoting UDP from port %u (%d other ICMP messages)\n", sport, seen);
    return -ETIMEDOUT;
}

/* The next captured UDP probe from sport (each capture wait up to a second): 1, or 0. */
static int next_udp_probe(pcap_t *cap, uint16_t sport, cp_trace_packet *p, const uint8_t **l3,
                          size_t *len)
{
    while (next_l3(cap, 1000, l3, len)) {
        if (cp_trace_parse_probe(*l3, *len, p) == 0 && p->proto == 17 && p->sport == sport)
            return 1;
    }
    return 0;
}

/*
 * A UDP probe socket on lo whose source port is not DPORT. DPORT (33434) lies
 * in Linux's ephemeral range (32768-60999): when the kernel gives the probe
 * socket port 33434 itself (about once in 28000 sockets), every probe from
 * 127.0.0.1:33434 to 127.0.0.1:33434 is delivered to that very socket, no
 * port unreachable comes back, and every check on the reply fails. The
 * replacement is opened while the first socket still holds DPORT, so it
 * cannot get DPORT as well. first_port: the first socket's port (0 =
 * ephemeral; DPORT in the test of this function).
 */
static int open_udp_probe_socket(int family, const cp_addr *l, uint16_t first_port)
{
    int fd = cp_trace_udp_socket_open(family, l, first_port);
    uint16_t port = 0;
    if (fd < 0 || cp_trace_local_port(fd, &port) != 0 || port != DPORT)
        return fd;
    int other = cp_trace_udp_socket_open(family, l, 0);
    close(fd);
    return other;
}

static void test_live_udp_probe_socket_never_on_dport(void)
{
    for (int k = 0; k < 2; k++) {
        int family = k == 0 ? AF_INET : AF_INET6;
        cp_addr l = lo(family);
        int fd = open_udp_probe_socket(family, &l, DPORT);
        CHECK(fd >= 0);
        if (fd < 0)
            continue;
        uint16_t port = 0;
        CHECK_EQ(cp_trace_local_port(fd, &port), 0);
        CHECK(port != 0 && port != DPORT);
        close(fd);
    }
}

/*
 * UDP probes sent with cp_trace_send: the TTL control message takes effect,
 * the payload is ours, and the checksum any device computes over the bytes
 * on the wire is the forced one. On lo (and veth with offload) the kernel
 * leaves the field holding only the pseudo-header sum for the "hardware" to
 * complete, so the field itself is compared only when it was completed.
 */
static void live_udp_via_trace_send(int family)
{
    cp_addr l = lo(family);
    int fd = open_udp_probe_socket(family, &l, 0);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    uint16_t sport = 0;
    CHECK_EQ(cp_trace_local_port(fd, &sport), 0);
    int icmp = raw_icmp(family);
    CHECK(icmp >= 0);
    char f[TRACE_FILTER_SIZE];
    CHECK_EQ(trace_filter(M_UDP, &l, sport, 0, 0, f, sizeof f), 0);
    pcap_t *cap = open_lo_capture(f);
    CHECK(cap != NULL);
    if (cap == NULL || icmp < 0) {
        close(fd);
        return;
    }
    int completed = 0;
    for (int i = 0; i < 4; i++) {
        uint16_t id = (uint16_t)(500 + i);
        uint8_t payload[64];
        size_t n;
        CHECK_EQ(cp_trace_build_udp(family, &l, &l, sport, DPORT, id, 40, payload, sizeof payload,
                                    &n), 0);
        int64_t ts = 0;
        CHECK_EQ(cp_trace_send(fd, payload, n, &l, DPORT, 10 + i, &ts), (int)n);
        CHECK(ts > 0);
        const uint8_t *l3;
        size_t len;
        cp_trace_packet p;
        int found = next_udp_probe(cap, sport, &p, &l3, &len);
        if (found) {
            CHECK_EQ(p.ttl, 10 + i);
            CHECK(p.has_probe_id);
            CHECK_EQ(p.probe_id, id);
            CHECK_EQ(p.dport, DPORT);
            const uint8_t *udp = l3 + p.header_len;
            size_t ulen = len - p.header_len;
            uint8_t copy[128];
            memcpy(copy, udp, ulen);
            put16(copy + 6, 0);
            CHECK_EQ(ref_l4_checksum(family, l.bytes, l.bytes, 17, copy, ulen),
                     cp_trace_udp_checksum_for(id));
            if (p.udp_checksum == cp_trace_udp_checksum_for(id))
                completed++;
        }
        CHECK(found);
        /* The port unreachable quotes the probe; the payload id matches
         * whatever the checksum field held. */
        cp_trace_reply r;
        CHECK_EQ(await_udp_error(family, icmp, sport, &r), 0);
        CHECK_EQ(r.kind, CP_TRACE_UNREACHABLE);
        CHECK_EQ(r.icmp_code, family == AF_INET ? 3 : 4);
        CHECK(r.checksum_verified);
        CHECK_EQ(r.quote.dport, DPORT);
        CHECK(r.quote.has_probe_id);
        CHECK_EQ(r.quote.probe_id, id);
        CHECK_EQ(r.quote.ttl, 10 + i);
    }
    printf("    note: %s UDP checksum field on lo: %s\n", family == AF_INET ? "IPv4" : "IPv6",
           completed == 4 ? "completed by the kernel"
                          : "left as the pseudo-header sum (checksum offload)");
    pcap_close(cap);
    close(icmp);
    close(fd);
}
/*
 * UDP probes built whole and sent on a raw socket: the checksum field is
 * complete on the wire and in the port unreachable's quote, even on lo, whose
 * checksum offload leaves a kernel UDP socket's field as the pseudo-header sum
 * (as every veth of a container does). The UDP socket only holds the port.
 */
static void live_raw_udp_checksum_complete(int family)
{
    cp_addr l = lo(family);
    int hold = open_udp_probe_socket(family, &l, 0);
    int fd = cp_trace_raw_udp_socket_open(family);
    int icmp = raw_icmp(family);
    uint16_t sport = 0;
    CHECK(hold >= 0 && fd >= 0 && icmp >= 0);
    CHECK_EQ(cp_trace_local_port(hold, &sport), 0);
    char f[TRACE_FILTER_SIZE];
    CHECK_EQ(trace_filter(M_UDP, &l, sport, 0, 0, f, sizeof f), 0);
    pcap_t *cap = hold >= 0 && fd >= 0 && icmp >= 0 ? open_lo_capture(f) : NULL;
    CHECK(cap != NULL);
    if (cap == NULL) {
        if (hold >= 0) close(hold);
        if (fd >= 0) close(fd);
        if (icmp >= 0) close(icmp);
        return;
    }
    for (int i = 0; i < 4; i++) {
        uint16_t id = (uint16_t)(700 + i);
        uint8_t dgram[80];
        size_t n;
        CHECK_EQ(cp_trace_build_udp_datagram(family, &l, &l, sport, DPORT, id, 40, dgram,
                                             sizeof dgram, &n), 0);
        CHECK_EQ(n, 48);
        CHECK_EQ(ref_l4_checksum(family, l.bytes, l.bytes, 17, dgram, n), 0);
        int64_t ts = 0;
        CHECK_EQ(cp_trace_send(fd, dgram, n, &l, 0, 10 + i, &ts), (int)n);
        const uint8_t *l3;
        size_t len;
        cp_trace_packet p;
        int found = next_udp_probe(cap, sport, &p, &l3, &len);
        if (found) {
            CHECK_EQ(p.ttl, 10 + i);
            CHECK_EQ(p.udp_checksum, cp_trace_udp_checksum_for(id));
        }
        CHECK(found);
        cp_trace_reply r;
        CHECK_EQ(await_udp_error(family, icmp, sport, &r), 0);
        CHECK_EQ(r.icmp_code, family == AF_INET ? 3 : 4);
        CHECK_EQ(r.quote.udp_checksum, cp_trace_udp_checksum_for(id));
        CHECK(r.quote.has_probe_id);
        CHECK_EQ(r.quote.probe_id, id);
    }
    pcap_close(cap);
    close(icmp);
    close(fd);
    close(hold);
}
static void test_live_raw_udp_v4_checksum_complete_on_wire_and_quoted(void) { live_raw_udp_checksum_complete(AF_INET); }
static void test_live_raw_udp_v6_checksum_complete_on_wire_and_quoted(void) { live_raw_udp_checksum_complete(AF_INET6); }
static void test_live_udp_v4_ttl_cmsg_payload_and_port_unreachable(void)
{
    live_udp_via_trace_send(AF_INET);
}
static void test_live_udp_v6_hoplimit_cmsg_payload_and_port_unreachable(void)
{
    live_udp_via_trace_send(AF_INET6);
}

/*
 * The kernel's own software checksum: MSG_MORE corks the datagram, which
 * turns checksum offload off (__ip_append_data), so the kernel computes the
 * UDP checksum itself, as a NIC would. The field on the wire and the quoted
 * field in the port unreachable must both be the forced value.
 */
static void live_udp_kernel_checksum(int family)
{
    cp_addr l = lo(family);
    int fd = open_udp_probe_socket(family, &l, 0);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    uint16_t sport = 0;
    cp_trace_local_port(fd, &sport);
    int icmp = raw_icmp(family);
    char f[TRACE_FILTER_SIZE];
    trace_filter(M_UDP, &l, sport, 0, 0, f, sizeof f);
    pcap_t *cap = open_lo_capture(f);
    CHECK(cap != NULL && icmp >= 0);
    if (cap == NULL || icmp < 0) {
        close(fd);
        return;
    }
    for (int i = 0; i < 32; i++) {
        uint16_t id = (uint16_t)(i * 2000 + 3);
        uint8_t payload[64];
        size_t n;
        cp_trace_build_udp(family, &l, &l, sport, DPORT, id, 24 + (size_t)i, payload,
                           sizeof payload, &n);
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        socklen_t sl;
        if (family == AF_INET) {
            struct sockaddr_in *s = (struct sockaddr_in *)&ss;
            s->sin_family = AF_INET;
            s->sin_port = htons(DPORT);
            memcpy(&s->sin_addr, l.bytes, 4);
            sl = sizeof *s;
        } else {
            struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
            s->sin6_family = AF_INET6;
            s->sin6_port = htons(DPORT);
            memcpy(&s->sin6_addr, l.bytes, 16);
            sl = sizeof *s;
        }
        CHECK_EQ(sendto(fd, payload, n, MSG_MORE, (struct sockaddr *)&ss, sl), (ssize_t)n);
        CHECK_EQ(send(fd, "", 0, 0), 0);
        const uint8_t *l3;
        size_t len;
        cp_trace_packet p;
        int found = next_udp_probe(cap, sport, &p, &l3, &len);
        if (found) {
            CHECK_EQ(p.udp_checksum, cp_trace_udp_checksum_for(id));
        }
        CHECK(found);
        cp_trace_reply r;
        CHECK_EQ(await_udp_error(family, icmp, sport, &r), 0);
        CHECK(r.quote.has_transport);
        CHECK_EQ(r.quote.sport, sport);
        CHECK_EQ(r.quote.dport, DPORT);
        CHECK_EQ(r.quote.udp_checksum, cp_trace_udp_checksum_for(id));
        uint16_t back = 0;
        cp_trace_udp_probe_id_from_checksum(r.quote.udp_checksum, &back);
        CHECK_EQ(back, id);
        if (CHECK_FAILED)
            break;
    }
    pcap_close(cap);
    close(icmp);
    close(fd);
}
static void test_live_udp_v4_kernel_checksum_equals_forced_and_quoted(void)
{
    live_udp_kernel_checksum(AF_INET);
}
static void test_live_udp_v6_kernel_checksum_equals_forced_and_quoted(void)
{
    live_udp_kernel_checksum(AF_INET6);
}

/* Paris ICMP: every request on the wire carries the fixed checksum (for IPv6
 * the kernel computed it over our pseudo-header compensation), replies parse. */
static void live_icmp_echo(int family)
{
    cp_addr l = lo(family);
    int fd = raw_icmp(family);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    char f[TRACE_FILTER_SIZE];
    trace_filter(M_ICMP, &l, 0, 0, IDENT, f, sizeof f);
    pcap_t *cap = open_lo_capture(f);
    CHECK(cap != NULL);
    if (cap == NULL) {
        close(fd);
        return;
    }
    for (int i = 0; i < 8; i++) {
        uint16_t id = (uint16_t)(9000 + i * 7);
        uint8_t msg[128];
        size_t n;
        CHECK_EQ(cp_trace_build_icmp_echo(family, &l, &l, IDENT, id, FIXED_CSUM, 40, msg,
                                          sizeof msg, &n), 0);
        CHECK_EQ(cp_trace_send(fd, msg, n, &l, 0, 3 + i, NULL), (int)n);
        const uint8_t *l3;
        size_t len;
        cp_trace_packet p;
        int seen_request = 0;
        while (!seen_request && next_l3(cap, 1000, &l3, &len)) {
            if (cp_trace_parse_probe(l3, len, &p) != 0 || !p.has_transport ||
                p.icmp_type != (family == AF_INET ? 8 : 128))
                continue;
            seen_request = 1;
            CHECK_EQ(p.icmp_checksum, FIXED_CSUM);
            CHECK_EQ(p.icmp_seq, id);
            CHECK_EQ(p.ttl, 3 + i);
        }
        CHECK(seen_request);
        int seen_reply = 0;
        uint8_t buf[2048];
        for (int tries = 0; tries < 50 && !seen_reply; tries++) {
            if (!wait_readable(fd, 20))
                continue;
            ssize_t got = recv(fd, buf, sizeof buf, 0);
            cp_trace_reply r;
            if (got <= 0 || cp_trace_parse_icmp(family, family == AF_INET, buf, (size_t)got, &l, &l,
                                                &r) != 0)
                continue; /* our own request looping back is -ENOMSG */
            if (r.kind != CP_TRACE_ECHO_REPLY || r.echo_seq != id)
                continue;
            seen_reply = 1;
            CHECK(r.checksum_verified);
            CHECK_EQ(r.echo_ident, IDENT);
            CHECK(r.echo_has_magic);
            CHECK_EQ(r.echo_probe_id, id);
        }
        CHECK(seen_reply);
    }
    pcap_close(cap);
    close(fd);
}
static void test_live_icmp_v4_paris_checksum_on_wire_and_reply(void) { live_icmp_echo(AF_INET); }
static void test_live_icmp_v6_paris_checksum_on_wire_and_reply(void) { live_icmp_echo(AF_INET6); }

/* Waits on a raw TCP socket for a segment; parses it. */
static int await_tcp(int family, int fd, cp_trace_tcp_reply *t)
{
    uint8_t buf[2048];
    for (int tries = 0; tries < 50; tries++) {
        if (!wait_readable(fd, 20))
            continue;
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n <= 0)
            continue;
        if (cp_trace_parse_tcp(family, family == AF_INET, buf, (size_t)n, &LO6, &LO6, t) == 0)
            return 0;
    }
    return -ETIMEDOUT;
}

static void live_tcp(int family, int listening)
{
    cp_addr l = lo(family);
    uint16_t sport = 0, dport = 0;
    int reserve = cp_trace_tcp_port_reserve(family, &l, &sport);
    CHECK(reserve >= 0);
    int listener = -1;
    if (listening) {
        listener = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        socklen_t sl;
        if (family == AF_INET) {
            ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
            memcpy(&((struct sockaddr_in *)&ss)->sin_addr, l.bytes, 4);
            sl = sizeof(struct sockaddr_in);
        } else {
            ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
            memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, l.bytes, 16);
            sl = sizeof(struct sockaddr_in6);
        }
        CHECK_EQ(bind(listener, (struct sockaddr *)&ss, sl), 0);
        CHECK_EQ(listen(listener, 8), 0);
        cp_trace_local_port(listener, &dport);
    } else {
        /* A bound, non-listening socket: the port is certainly closed. */
        listener = cp_trace_tcp_port_reserve(family, &l, &dport);
    }
    int raw = cp_trace_raw_tcp_socket_open(family, &l, sport, dport);
    CHECK(raw >= 0);
    if (raw < 0 || reserve < 0) {
        close(listener);
        return;
    }
    uint32_t seq = listening ? 0x11110000u + family : 0xabcd0000u + family;
    uint8_t syn[64];
    size_t n;
    CHECK_EQ(cp_trace_build_tcp_syn(family, &l, &l, sport, dport, seq, syn, sizeof syn, &n), 0);
    CHECK_EQ(cp_trace_send(raw, syn, n, &l, 0, 64, NULL), (int)n);
    cp_trace_tcp_reply t;
    CHECK_EQ(await_tcp(family, raw, &t), 0);
    /* The socket filter kept our own SYN (looping back on lo) out. */
    CHECK_EQ(t.sport, dport);
    CHECK_EQ(t.dport, sport);
    CHECK_EQ(t.ack, seq + 1);
    if (listening)
        CHECK_EQ(t.flags & (CP_TRACE_TCP_SYN | CP_TRACE_TCP_ACK | CP_TRACE_TCP_RST),
                 CP_TRACE_TCP_SYN | CP_TRACE_TCP_ACK);
    else
        CHECK_EQ(t.flags & (CP_TRACE_TCP_SYN | CP_TRACE_TCP_ACK | CP_TRACE_TCP_RST),
                 CP_TRACE_TCP_RST | CP_TRACE_TCP_ACK);
    printf("    note: %s %s checksum_state %d\n", family == AF_INET ? "IPv4" : "IPv6",
           listening ? "SYN-ACK" : "RST", t.checksum_state);
    /* What the kernel sends on lo (complete, or partial under offload) is never "wrong". */
    CHECK(t.checksum_state == CP_TRACE_CHECKSUM_CORRECT || t.checksum_state == CP_TRACE_CHECKSUM_PARTIAL);
    close(raw);
    close(reserve);
    close(listener);
}
static void test_live_tcp_v4_rst_from_closed_port(void) { live_tcp(AF_INET, 0); }
static void test_live_tcp_v4_syn_ack_from_listener(void) { live_tcp(AF_INET, 1); }
static void test_live_tcp_v6_rst_from_closed_port(void) { live_tcp(AF_INET6, 0); }
static void test_live_tcp_v6_syn_ack_from_listener(void) { live_tcp(AF_INET6, 1); }

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--corpus") == 0) {
        corpus_dir = argv[2];
        mkdir(corpus_dir, 0755);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    init_addrs();

    RUN(test_udp_checksum_mapping_avoids_zero_and_ffff);
    RUN(test_paris_udp_v4_32_probes_distinct_forced_checksums);
    RUN(test_paris_udp_v6_32_probes_distinct_forced_checksums);
    RUN(test_paris_udp_odd_payload_lengths);
    RUN(test_paris_icmp_v4_32_probes_constant_checksum);
    RUN(test_paris_icmp_v6_32_probes_constant_checksum_with_pseudo_header);
    RUN(test_tcp_syn_checksum_and_fields);
    RUN(test_build_rejects_bad_arguments);

    RUN(test_v4_time_exceeded_quoting_udp);
    RUN(test_v4_time_exceeded_quoting_tcp);
    RUN(test_v4_time_exceeded_quoting_icmp);
    RUN(test_v4_time_exceeded_with_ip_options_outer_and_quoted);
    RUN(test_v6_time_exceeded_quoting_udp_tcp_icmp);
    RUN(test_v4_time_exceeded_minimal_8_byte_quote);
    RUN(test_v6_time_exceeded_without_header);
    RUN(test_v4_every_unreachable_code);
    RUN(test_v6_every_unreachable_code);
    RUN(test_v6_packet_too_big_reports_mtu);
    RUN(test_parameter_problem_reports_pointer);
    RUN(test_bad_icmp_checksum_is_rejected);
    RUN(test_echo_reply_reports_ident_seq_and_magic);
    RUN(test_unhandled_types_are_enomsg);
    RUN(test_outer_ipv4_trimmed_to_total_length);
    RUN(test_v6_outer_extension_headers_skipped);

    RUN(test_rfc4884_mpls_one_label);
    RUN(test_rfc4884_mpls_two_labels_bottom_of_stack);
    RUN(test_rfc4884_noncompliant_128_byte_form);
    RUN(test_rfc4884_bad_extension_checksum_ignored_message_kept);
    RUN(test_rfc4884_inconsistent_object_lengths_ignored);
    RUN(test_rfc4884_more_than_8_labels_truncated);
    RUN(test_rfc4884_unknown_object_skipped);
    RUN(test_rfc4884_length_attribute_past_end_ignored);

    RUN(test_truncated_quotes_at_every_length);
    RUN(test_lying_quotes_never_yield_garbage_transport);

    RUN(test_parse_probe_reads_our_outgoing_packets);
    RUN(test_tcp_answers_syn_ack_and_rst);
    RUN(test_tcp_damaged_answer_is_marked_wrong);
    RUN(test_tcp_malformed_segments_rejected);

    RUN(test_filter_compiles_for_sll2_and_ethernet);
    RUN(test_filter_admits_probes_and_their_errors_only);
    RUN(test_filter_engine_form_admits_what_the_swift_builder_admitted);
    RUN(test_filter_fits_the_documented_size_for_the_longest_values);
    RUN(test_filter_admits_each_destinations_errors_once_and_refuses_bad_input);

    if (geteuid() != 0) {
        printf("skip: live loopback tests need root (CAP_NET_RAW, CAP_SYS_ADMIN)\n");
    } else if (enter_private_loopback() != 0) {
        printf("FAIL could not bring up loopback\n");
        check_counts.tests_failed++;
    } else {
        RUN(test_live_udp_probe_socket_never_on_dport);
        RUN(test_live_udp_v4_ttl_cmsg_payload_and_port_unreachable);
        RUN(test_live_udp_v6_hoplimit_cmsg_payload_and_port_unreachable);
        RUN(test_live_udp_v4_kernel_checksum_equals_forced_and_quoted);
        RUN(test_live_udp_v6_kernel_checksum_equals_forced_and_quoted);
        RUN(test_live_raw_udp_v4_checksum_complete_on_wire_and_quoted);
        RUN(test_live_raw_udp_v6_checksum_complete_on_wire_and_quoted);
        RUN(test_live_icmp_v4_paris_checksum_on_wire_and_reply);
        RUN(test_live_icmp_v6_paris_checksum_on_wire_and_reply);
        RUN(test_live_tcp_v4_rst_from_closed_port);
        RUN(test_live_tcp_v4_syn_ack_from_listener);
        RUN(test_live_tcp_v6_rst_from_closed_port);
        RUN(test_live_tcp_v6_syn_ack_from_listener);
    }

    return check_summary();
}
