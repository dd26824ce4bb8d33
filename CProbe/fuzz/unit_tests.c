/*
 * unit_tests.c — specification tests for the CProbe C core.
 *
 * Pure tests (checksums, building, parsing, frame decoding, BPF filters) run
 * anywhere. Tests on real sockets use loopback only and need root
 * (CAP_NET_RAW, CAP_SYS_ADMIN for namespaces); without it they are skipped.
 * Built and run by scripts/c-checks.sh with ASan and UBSan. The last line is
 * "N passed, N failed"; the exit status is non-zero on any failure.
 */
#define _GNU_SOURCE
#include "test_addr.h"
#include "cprobe.h"
#include "cp_internal.h" /* cp_capture_linktype, cp_capture_drops, cp_caps_have_net_raw */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>
#include "cp_pcap.h" /* DLT_* numbers older libpcap headers lack */

#include "check.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static cp_addr addr(const char *text)
{
    cp_addr a;
    memset(&a, 0, sizeof a);
    if (cp_addr_parse(text, &a) != 0) {
        fprintf(stderr, "bad test address %s\n", text);
        abort();
    }
    return a;
}

static int is_root(void)
{
    return geteuid() == 0 && cp_caps_have_net_raw() == 1;
}

/* Wraps an ICMP message in an IPv4 header with ihl 32-bit words (options
 * filled with NOP), plus `padding` trailing bytes after total length. */
static size_t wrap_ipv4(const uint8_t *icmp, size_t icmp_len, int ihl, size_t padding,
                        const char *src, const char *dst, uint8_t *out)
{
    size_t hl = (size_t)ihl * 4;
    memset(out, 0, hl);
    out[0] = (uint8_t)(0x40 | ihl);
    put16(out + 2, (uint16_t)(hl + icmp_len));
    put16(out + 4, 0x1234);
    put16(out + 6, 0x4000); /* DF */
    out[8] = 57;
    out[9] = 1;
    cp_addr s = addr(src), d = addr(dst);
    memcpy(out + 12, s.bytes, 4);
    memcpy(out + 16, d.bytes, 4);
    for (size_t i = 20; i < hl; i++)
        out[i] = 1; /* NOP option */
    put16(out + 10, cp_inet_checksum(out, hl, 0));
    memcpy(out + hl, icmp, icmp_len);
    memset(out + hl + icmp_len, 0, padding);
    return hl + icmp_len + padding;
}

/* Wraps an ICMPv6 message in an IPv6 header and fills its checksum. */
static size_t wrap_ipv6(uint8_t *icmp, size_t icmp_len, const char *src, const char *dst,
                        uint8_t *out)
{
    cp_addr s = addr(src), d = addr(dst);
    put16(icmp + 2, 0);
    put16(icmp + 2, cp_icmp6_checksum(&s, &d, icmp, icmp_len));
    memset(out, 0, 40);
    out[0] = 0x60;
    put16(out + 4, (uint16_t)icmp_len);
    out[6] = 58;
    out[7] = 33;
    memcpy(out + 8, s.bytes, 16);
    memcpy(out + 24, d.bytes, 16);
    memcpy(out + 40, icmp, icmp_len);
    return 40 + icmp_len;
}

static size_t build(int family, uint16_t ident, uint16_t seq, uint64_t token, size_t payload,
                    uint8_t *buf, size_t cap)
{
    size_t n = 0;
    int rc = cp_echo_build(family, ident, seq, token, payload, buf, cap, &n);
    if (rc != 0) {
        fprintf(stderr, "build failed %d\n", rc);
        abort();
    }
    return n;
}

static void refresh_icmp4_checksum(uint8_t *icmp, size_t len)
{
    put16(icmp + 2, 0);
    put16(icmp + 2, cp_inet_checksum(icmp, len, 0));
}

/* ------------------------------------------------------------------------ */
/* Checksums                                                                */
/* ------------------------------------------------------------------------ */

TEST(checksum_matches_rfc1071_example)
{
    /* RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (after the end
     * around carry), so the checksum is its complement 220d. */
    const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    CHECK_EQ(cp_inet_checksum(data, sizeof data, 0), 0x220d);
    uint8_t with_sum[10];
    memcpy(with_sum, data, 8);
    put16(with_sum + 8, 0x220d);
    CHECK_EQ(cp_inet_checksum(with_sum, sizeof with_sum, 0), 0);
}

TEST(checksum_pads_odd_length_with_zero_byte)
{
    const uint8_t one[] = { 0x01 };
    CHECK_EQ(cp_inet_checksum(one, 1, 0), 0xfeff);
    const uint8_t three[] = { 0x12, 0x34, 0x56 };
    CHECK_EQ(cp_inet_checksum(three, 3, 0), (uint16_t)~(0x1234 + 0x5600));
    CHECK_EQ(cp_inet_checksum(NULL, 0, 0), 0xffff);
}

TEST(checksum_adds_initial_sum)
{
    /* The first half of the RFC 1071 example given as a partial sum. */
    const uint8_t data[] = { 0xf4, 0xf5, 0xf6, 0xf7 };
    uint32_t partial = 0x0001 + 0xf203;
    CHECK_EQ(cp_inet_checksum(data, sizeof data, partial), 0x220d);
}

TEST(icmp6_checksum_matches_captured_kernel_packet)
{
    /* An echo request ::1 -> ::1 captured from Linux ping (checksum c8f1). */
    uint8_t icmp[] = { 0x80, 0x00, 0x00, 0x00, 0x10, 0x4f, 0x00, 0x01, 0x43, 0xac, 0x05, 0x6b,
                       0x00, 0x00, 0x00, 0x00, 0x59, 0x52, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00 };
    cp_addr lo = addr("::1");
    CHECK_EQ(cp_icmp6_checksum(&lo, &lo, icmp, sizeof icmp), 0xc8f1);
    put16(icmp + 2, 0xc8f1);
    CHECK_EQ(cp_icmp6_checksum(&lo, &lo, icmp, sizeof icmp), 0);
}

TEST(icmp6_checksum_equals_sum_over_explicit_pseudo_header)
{
    uint8_t icmp[77];
    for (size_t i = 0; i < sizeof icmp; i++)
        icmp[i] = (uint8_t)(i * 7 + 3);
    cp_addr s = addr("2001:db8::1"), d = addr("fe80::abcd:1");
    uint8_t all[40 + sizeof icmp];
    memcpy(all, s.bytes, 16);
    memcpy(all + 16, d.bytes, 16);
    memset(all + 32, 0, 8);
    all[35] = sizeof icmp;
    all[39] = 58;
    memcpy(all + 40, icmp, sizeof icmp);
    CHECK_EQ(cp_icmp6_checksum(&s, &d, icmp, sizeof icmp), cp_inet_checksum(all, sizeof all, 0));
}

/* ------------------------------------------------------------------------ */
/* Addresses                                                                */
/* ------------------------------------------------------------------------ */

TEST(addr_parses_and_formats_ipv4_and_ipv6)
{
    cp_addr a;
    char text[64];
    CHECK_EQ(cp_addr_parse("192.0.2.33", &a), 0);
    CHECK_EQ(a.family, AF_INET);
    CHECK(a.bytes[0] == 192 && a.bytes[3] == 33);
    CHECK_EQ(cp_addr_format(&a, text, sizeof text), 0);
    CHECK(strcmp(text, "192.0.2.33") == 0);

    CHECK_EQ(cp_addr_parse("2001:db8::1", &a), 0);
    CHECK_EQ(a.family, AF_INET6);
    CHECK_EQ(a.scope_id, 0);
    CHECK_EQ(cp_addr_format(&a, text, sizeof text), 0);
    CHECK(strcmp(text, "2001:db8::1") == 0);
}

TEST(addr_parses_ipv6_zone_by_name_and_index)
{
    cp_addr a;
    char text[64];
    unsigned lo = if_nametoindex("lo");
    CHECK(lo != 0);
    CHECK_EQ(cp_addr_parse("fe80::1%lo", &a), 0);
    CHECK_EQ(a.scope_id, lo);
    CHECK_EQ(cp_addr_format(&a, text, sizeof text), 0);
    CHECK(strcmp(text, "fe80::1%lo") == 0);
    CHECK_EQ(cp_addr_parse("fe80::1%7", &a), 0);
    CHECK_EQ(a.scope_id, 7);
}

TEST(addr_rejects_bad_literals_and_small_buffers)
{
    cp_addr a;
    char text[64];
    CHECK_EQ(cp_addr_parse("1.2.3", &a), -EINVAL);
    CHECK_EQ(cp_addr_parse("example.com", &a), -EINVAL);
    CHECK_EQ(cp_addr_parse("", &a), -EINVAL);
    CHECK_EQ(cp_addr_parse("fe80::1%", &a), -EINVAL);
    CHECK_EQ(cp_addr_parse("fe80::1%no-such-if0", &a), -EINVAL);
    CHECK_EQ(cp_addr_parse("%lo", &a), -EINVAL);
    CHECK_EQ(cp_addr_parse(NULL, &a), -EINVAL);
    CHECK_EQ(cp_addr_parse("::1", NULL), -EINVAL);
    a = addr("255.255.255.255");
    CHECK_EQ(cp_addr_format(&a, text, 15), -ENOSPC);
    CHECK_EQ(cp_addr_format(&a, text, 16), 0);
    a.family = 12345;
    CHECK_EQ(cp_addr_format(&a, text, sizeof text), -EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Echo building and parsing                                                */
/* ------------------------------------------------------------------------ */

TEST(echo_build_writes_header_magic_token_and_fill)
{
    uint8_t buf[128];
    size_t n = build(AF_INET, 0xbeef, 0x0102, 0x1122334455667788ull, 40, buf, sizeof buf);
    CHECK_EQ(n, 48);
    CHECK_EQ(buf[0], 8);
    CHECK_EQ(buf[1], 0);
    CHECK_EQ(be16(buf + 4), 0xbeef);
    CHECK_EQ(be16(buf + 6), 0x0102);
    CHECK(memcmp(buf + 8, "ISPC", 4) == 0);
    CHECK(buf[12] == 0x11 && buf[19] == 0x88);
    CHECK_EQ(buf[8 + 12], 12);
    CHECK_EQ(buf[8 + 39], 39);
    CHECK_EQ(cp_inet_checksum(buf, n, 0), 0);

    n = build(AF_INET6, 1, 2, 3, 12, buf, sizeof buf);
    CHECK_EQ(n, 20);
    CHECK_EQ(buf[0], 128);
    CHECK_EQ(be16(buf + 2), 0); /* the kernel fills the ICMPv6 checksum */
}

TEST(echo_build_rejects_bad_arguments)
{
    uint8_t buf[2000];
    size_t n;
    CHECK_EQ(cp_echo_build(AF_INET, 1, 1, 1, 11, buf, sizeof buf, &n), -EINVAL);
    CHECK_EQ(cp_echo_build(AF_INET, 1, 1, 1, CP_ECHO_MAX_PAYLOAD + 1, buf, sizeof buf, &n), -EINVAL);
    CHECK_EQ(cp_echo_build(AF_INET, 1, 1, 1, CP_ECHO_MAX_PAYLOAD, buf, sizeof buf, &n), 0);
    CHECK_EQ(cp_echo_build(AF_UNIX, 1, 1, 1, 12, buf, sizeof buf, &n), -EINVAL);
    CHECK_EQ(cp_echo_build(AF_INET, 1, 1, 1, 12, buf, 19, &n), -ENOSPC);
    CHECK_EQ(cp_echo_build(AF_INET, 1, 1, 1, 12, buf, 20, &n), 0);
    CHECK_EQ(cp_echo_build(AF_INET, 1, 1, 1, 12, NULL, 20, &n), -EINVAL);
}

TEST(echo_v4_round_trips_without_and_with_header)
{
    uint8_t icmp[256], pkt[512];
    size_t n = build(AF_INET, 4321, 77, 0xdeadbeefcafef00dull, 56, icmp, sizeof icmp);
    cp_echo_info info;
    CHECK_EQ(cp_echo_parse(AF_INET, 0, icmp, n, NULL, NULL, &info), 0);
    CHECK_EQ(info.family, AF_INET);
    CHECK_EQ(info.type, CP_ICMP4_ECHO_REQUEST);
    CHECK_EQ(info.ident, 4321);
    CHECK_EQ(info.seq, 77);
    CHECK(info.token == 0xdeadbeefcafef00dull);
    CHECK_EQ(info.has_ip_header, 0);
    CHECK_EQ(info.ttl, 0);
    CHECK_EQ(info.src.family, 0);
    CHECK_EQ(info.payload_len, 56);

    size_t len = wrap_ipv4(icmp, n, 5, 0, "192.0.2.1", "198.51.100.7", pkt);
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), 0);
    CHECK_EQ(info.has_ip_header, 1);
    CHECK_EQ(info.ttl, 57);
    CHECK_EQ(info.src.family, AF_INET);
    CHECK(info.src.bytes[0] == 192 && info.src.bytes[3] == 1);
    CHECK(info.dst.bytes[0] == 198 && info.dst.bytes[3] == 7);
    CHECK_EQ(info.payload_len, 56);
    CHECK_EQ(info.seq, 77);

    /* A reply: type 0, same body. */
    icmp[0] = 0;
    refresh_icmp4_checksum(icmp, n);
    CHECK_EQ(cp_echo_parse(AF_INET, 0, icmp, n, NULL, NULL, &info), 0);
    CHECK_EQ(info.type, CP_ICMP4_ECHO_REPLY);
}

TEST(echo_v6_round_trips_with_header_and_known_addresses)
{
    uint8_t icmp[256], pkt[512];
    size_t n = build(AF_INET6, 9, 10, 42, 100, icmp, sizeof icmp);
    cp_echo_info info;
    /* No header and no addresses: the checksum cannot be checked. */
    CHECK_EQ(cp_echo_parse(AF_INET6, 0, icmp, n, NULL, NULL, &info), 0);
    CHECK_EQ(info.type, CP_ICMP6_ECHO_REQUEST);
    CHECK_EQ(info.payload_len, 100);
    cp_addr s = addr("2001:db8::1"), d = addr("2001:db8::2");
    /* Addresses known: the zero checksum is now wrong. */
    CHECK_EQ(cp_echo_parse(AF_INET6, 0, icmp, n, &s, &d, &info), -EBADMSG);
    /* Only one address: still unchecked. */
    CHECK_EQ(cp_echo_parse(AF_INET6, 0, icmp, n, &s, NULL, &info), 0);

    size_t len = wrap_ipv6(icmp, n, "2001:db8::1", "2001:db8::2", pkt);
    CHECK_EQ(cp_echo_parse(AF_INET6, 0, icmp, n, &s, &d, &info), 0);
    CHECK_EQ(cp_echo_parse(AF_INET6, 0, icmp, n, &d, &s, &info), 0); /* the sum is symmetric */
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt, len, NULL, NULL, &info), 0);
    CHECK_EQ(info.ttl, 33);
    CHECK_EQ(info.ident, 9);
    CHECK_EQ(info.seq, 10);
    CHECK(info.token == 42);
    CHECK_EQ(info.src.family, AF_INET6);
    CHECK(memcmp(info.src.bytes, s.bytes, 16) == 0);
    CHECK(memcmp(info.dst.bytes, d.bytes, 16) == 0);

    pkt[40 + 8 + 20] ^= 0x40; /* corrupt the payload */
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
}

TEST(echo_parse_rejects_wrong_version_and_bad_arguments)
{
    uint8_t icmp[64], pkt[128];
    size_t n = build(AF_INET, 1, 2, 3, 12, icmp, sizeof icmp);
    size_t len = wrap_ipv4(icmp, n, 5, 0, "10.0.0.1", "10.0.0.2", pkt);
    cp_echo_info info;
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
    CHECK_EQ(cp_echo_parse(AF_UNIX, 1, pkt, len, NULL, NULL, &info), -EINVAL);
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, NULL), -EINVAL);
    CHECK_EQ(cp_echo_parse(AF_INET, 1, NULL, 5, NULL, NULL, &info), -EINVAL);
    CHECK_EQ(cp_echo_parse(AF_INET, 1, NULL, 0, NULL, NULL, &info), -EBADMSG);
    pkt[0] = 0x45 | 0x10; /* version 5 */
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
    pkt[0] = 0x44; /* IHL 4 */
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
}

TEST(echo_parse_never_accepts_a_corrupted_icmp_message)
{
    uint8_t icmp[128], pkt[256], mutated[256];
    size_t n = build(AF_INET, 0x5151, 3, 0x0102030405060708ull, 48, icmp, sizeof icmp);
    icmp[0] = 0;
    refresh_icmp4_checksum(icmp, n);
    size_t len = wrap_ipv4(icmp, n, 5, 0, "127.0.0.1", "127.0.0.1", pkt);
    const uint8_t masks[] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff };
    int crashes_or_bad = 0, accepted = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(mutated, pkt, len);
            mutated[i] ^= masks[m];
            cp_echo_info info;
            int rc = cp_echo_parse(AF_INET, 1, mutated, len, NULL, NULL, &info);
            if (rc == 0) {
                accepted++;
                size_t hl = (size_t)(mutated[0] & 0x0f) * 4;
                size_t total = be16(mutated + 2);
                if (cp_inet_checksum(mutated + hl, total - hl, 0) != 0 ||
                    info.payload_len > len || i >= 20 /* any ICMP change must be caught */)
                    crashes_or_bad++;
            } else if (rc != -EBADMSG && rc != -ENOMSG) {
                crashes_or_bad++;
            }
        }
    }
    CHECK_EQ(crashes_or_bad, 0);
    CHECK(accepted > 0); /* e.g. TTL or address changes are not covered by the ICMP sum */
}

TEST(echo_parse_rejects_every_truncation)
{
    uint8_t icmp[128], pkt[256];
    size_t n = build(AF_INET, 7, 8, 9, 64, icmp, sizeof icmp);
    size_t len = wrap_ipv4(icmp, n, 5, 0, "10.1.1.1", "10.2.2.2", pkt);
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        cp_echo_info info;
        int rc = cp_echo_parse(AF_INET, 1, pkt, cut, NULL, NULL, &info);
        if (rc != -EBADMSG && rc != -ENOMSG)
            bad++;
    }
    for (size_t cut = 0; cut < n; cut++) {
        cp_echo_info info;
        int rc = cp_echo_parse(AF_INET, 0, icmp, cut, NULL, NULL, &info);
        if (rc != -EBADMSG && rc != -ENOMSG)
            bad++;
    }
    uint8_t icmp6[128], pkt6[256];
    size_t n6 = build(AF_INET6, 7, 8, 9, 64, icmp6, sizeof icmp6);
    size_t len6 = wrap_ipv6(icmp6, n6, "fd00::1", "fd00::2", pkt6);
    cp_addr s = addr("fd00::1"), d = addr("fd00::2");
    for (size_t cut = 0; cut < len6; cut++) {
        cp_echo_info info;
        int rc = cp_echo_parse(AF_INET6, 1, pkt6, cut, NULL, NULL, &info);
        if (rc != -EBADMSG && rc != -ENOMSG)
            bad++;
    }
    for (size_t cut = 0; cut < n6; cut++) {
        cp_echo_info info;
        int rc = cp_echo_parse(AF_INET6, 0, icmp6, cut, &s, &d, &info);
        if (rc != -EBADMSG && rc != -ENOMSG)
            bad++;
    }
    CHECK_EQ(bad, 0);
    cp_echo_info info;
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), 0);
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt6, len6, NULL, NULL, &info), 0);
}

TEST(echo_parse_skips_ipv4_options)
{
    uint8_t icmp[128], pkt[256];
    size_t n = build(AF_INET, 0x600d, 1, 5, 20, icmp, sizeof icmp);
    for (int ihl = 6; ihl <= 15; ihl++) {
        size_t len = wrap_ipv4(icmp, n, ihl, 0, "10.0.0.1", "10.0.0.2", pkt);
        cp_echo_info info;
        CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), 0);
        CHECK_EQ(info.ident, 0x600d);
        CHECK_EQ(info.payload_len, 20);
    }
}

TEST(echo_parse_trims_trailing_link_padding)
{
    uint8_t icmp[64], pkt[128];
    size_t n = build(AF_INET, 1, 2, 3, 12, icmp, sizeof icmp);
    /* 20 + 20 = 40 bytes; Ethernet pads to 46 with 6 bytes of junk. */
    size_t len = wrap_ipv4(icmp, n, 5, 6, "10.0.0.1", "10.0.0.2", pkt);
    memset(pkt + len - 6, 0xa5, 6);
    cp_echo_info info;
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), 0);
    CHECK_EQ(info.payload_len, 12);

    uint8_t icmp6[64], pkt6[128];
    size_t n6 = build(AF_INET6, 1, 2, 3, 12, icmp6, sizeof icmp6);
    size_t len6 = wrap_ipv6(icmp6, n6, "fd00::1", "fd00::2", pkt6);
    memset(pkt6 + len6, 0x5a, 8);
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt6, len6 + 8, NULL, NULL, &info), 0);
    CHECK_EQ(info.payload_len, 12);
    /* A total length beyond the bytes we have is malformed. */
    put16(pkt + 2, (uint16_t)(len + 1));
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
    put16(pkt + 2, 19);
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
    put16(pkt6 + 4, (uint16_t)(n6 + 9));
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt6, len6 + 8, NULL, NULL, &info), -EBADMSG);
}

TEST(echo_parse_rejects_fragments)
{
    uint8_t icmp[64], pkt[128];
    size_t n = build(AF_INET, 1, 2, 3, 12, icmp, sizeof icmp);
    size_t len = wrap_ipv4(icmp, n, 5, 0, "10.0.0.1", "10.0.0.2", pkt);
    cp_echo_info info;
    put16(pkt + 6, 0x2000); /* More Fragments */
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
    put16(pkt + 6, 0x0001); /* offset 8 */
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
    put16(pkt + 6, 0x4000); /* Don't Fragment alone is fine */
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), 0);
}

TEST(echo_parse_says_enomsg_for_well_formed_foreign_packets)
{
    uint8_t icmp[64], pkt[128];
    cp_echo_info info;
    size_t n = build(AF_INET, 1, 2, 3, 12, icmp, sizeof icmp);

    icmp[8] = 'X'; /* foreign magic */
    refresh_icmp4_checksum(icmp, n);
    CHECK_EQ(cp_echo_parse(AF_INET, 0, icmp, n, NULL, NULL, &info), -ENOMSG);
    CHECK_EQ(info.ident, 0); /* nothing half-parsed on failure */

    n = build(AF_INET, 1, 2, 3, 12, icmp, sizeof icmp);
    icmp[0] = 3; /* destination unreachable */
    refresh_icmp4_checksum(icmp, n);
    CHECK_EQ(cp_echo_parse(AF_INET, 0, icmp, n, NULL, NULL, &info), -ENOMSG);
    icmp[0] = 128; /* an ICMPv6 type inside IPv4 */
    refresh_icmp4_checksum(icmp, n);
    CHECK_EQ(cp_echo_parse(AF_INET, 0, icmp, n, NULL, NULL, &info), -ENOMSG);
    icmp[0] = 8;
    icmp[1] = 1; /* non-zero code */
    refresh_icmp4_checksum(icmp, n);
    CHECK_EQ(cp_echo_parse(AF_INET, 0, icmp, n, NULL, NULL, &info), -ENOMSG);

    /* A payload shorter than magic + token. */
    n = build(AF_INET, 1, 2, 3, 12, icmp, sizeof icmp);
    refresh_icmp4_checksum(icmp, n - 1);
    CHECK_EQ(cp_echo_parse(AF_INET, 0, icmp, n - 1, NULL, NULL, &info), -ENOMSG);
    /* Bad checksum wins over everything after it. */
    n = build(AF_INET, 1, 2, 3, 12, icmp, sizeof icmp);
    icmp[2] ^= 1;
    CHECK_EQ(cp_echo_parse(AF_INET, 0, icmp, n, NULL, NULL, &info), -EBADMSG);

    /* IPv4 carrying UDP. */
    n = build(AF_INET, 1, 2, 3, 12, icmp, sizeof icmp);
    size_t len = wrap_ipv4(icmp, n, 5, 0, "10.0.0.1", "10.0.0.2", pkt);
    pkt[9] = 17;
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), -ENOMSG);

    /* IPv6 with an extension header first, and an ICMPv4 type in ICMPv6. */
    n = build(AF_INET6, 1, 2, 3, 12, icmp, sizeof icmp);
    len = wrap_ipv6(icmp, n, "fd00::1", "fd00::2", pkt);
    pkt[6] = 0; /* hop-by-hop options */
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt, len, NULL, NULL, &info), -ENOMSG);
    n = build(AF_INET6, 1, 2, 3, 12, icmp, sizeof icmp);
    icmp[0] = 8;
    len = wrap_ipv6(icmp, n, "fd00::1", "fd00::2", pkt);
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt, len, NULL, NULL, &info), -ENOMSG);
    n = build(AF_INET6, 1, 2, 3, 12, icmp, sizeof icmp);
    icmp[0] = CP_ICMP6_ECHO_REPLY;
    len = wrap_ipv6(icmp, n, "fd00::1", "fd00::2", pkt);
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, pkt, len, NULL, NULL, &info), 0);
    CHECK_EQ(info.type, CP_ICMP6_ECHO_REPLY);
}

/* ------------------------------------------------------------------------ */
/* Link layers                                                              */
/* ------------------------------------------------------------------------ */

/* An IPv4 echo request with header, for wrapping in frames. */
static size_t sample_ipv4(uint16_t ident, uint8_t *out)
{
    uint8_t icmp[64];
    size_t n = build(AF_INET, ident, 1, 99, 12, icmp, sizeof icmp);
    return wrap_ipv4(icmp, n, 5, 0, "127.0.0.1", "127.0.0.1", out);
}

static size_t sample_ipv6(uint16_t ident, uint8_t *out)
{
    uint8_t icmp[64];
    size_t n = build(AF_INET6, ident, 1, 99, 12, icmp, sizeof icmp);
    return wrap_ipv6(icmp, n, "::1", "::1", out);
}

static size_t ethernet(const uint8_t *l3, size_t len, const uint16_t *tags, int ntags,
                       uint16_t ethertype, uint8_t *out)
{
    size_t off = 0;
    for (int i = 0; i < 6; i++)
        out[off++] = 0xff;
    for (int i = 0; i < 6; i++)
        out[off++] = (uint8_t)(0x10 + i);
    for (int i = 0; i < ntags; i++) {
        put16(out + off, tags[i]);
        put16(out + off + 2, (uint16_t)(100 + i));
        off += 4;
    }
    put16(out + off, ethertype);
    off += 2;
    memcpy(out + off, l3, len);
    return off + len;
}

static size_t sll(const uint8_t *l3, size_t len, uint16_t packet_type, uint16_t protocol,
                  uint8_t *out)
{
    memset(out, 0, 16);
    put16(out, packet_type);
    put16(out + 2, 772); /* ARPHRD_LOOPBACK */
    put16(out + 4, 6);
    put16(out + 14, protocol);
    memcpy(out + 16, l3, len);
    return 16 + len;
}

static size_t sll2(const uint8_t *l3, size_t len, uint8_t packet_type, uint16_t protocol,
                   uint32_t ifindex, uint8_t *out)
{
    memset(out, 0, 20);
    put16(out, protocol);
    out[4] = (uint8_t)(ifindex >> 24);
    out[5] = (uint8_t)(ifindex >> 16);
    out[6] = (uint8_t)(ifindex >> 8);
    out[7] = (uint8_t)ifindex;
    put16(out + 8, 1);
    out[10] = packet_type;
    out[11] = 6;
    memcpy(out + 20, l3, len);
    return 20 + len;
}

TEST(frame_decode_ethernet_with_and_without_vlan_tags)
{
    uint8_t l3[128], frame[256];
    size_t n = sample_ipv4(5, l3);
    cp_frame f;
    size_t len = ethernet(l3, n, NULL, 0, 0x0800, frame);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, len, &f), 0);
    CHECK_EQ(f.family, AF_INET);
    CHECK_EQ(f.direction, CP_DIR_UNKNOWN);
    CHECK(f.l3 == frame + 14);
    CHECK_EQ(f.l3_len, n);
    cp_echo_info info;
    CHECK_EQ(cp_echo_parse(f.family, 1, f.l3, f.l3_len, NULL, NULL, &info), 0);
    CHECK_EQ(info.ident, 5);

    const uint16_t one[] = { 0x8100 };
    len = ethernet(l3, n, one, 1, 0x0800, frame);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, len, &f), 0);
    CHECK(f.l3 == frame + 18);
    CHECK_EQ(f.family, AF_INET);

    uint8_t l3v6[128];
    size_t n6 = sample_ipv6(6, l3v6);
    const uint16_t two[] = { 0x88a8, 0x8100 };
    len = ethernet(l3v6, n6, two, 2, 0x86dd, frame);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, len, &f), 0);
    CHECK(f.l3 == frame + 22);
    CHECK_EQ(f.family, AF_INET6);
    CHECK_EQ(f.l3_len, n6);
    CHECK_EQ(cp_echo_parse(AF_INET6, 1, f.l3, f.l3_len, NULL, NULL, &info), 0);

    /* Stacked tags beyond QinQ are read too (up to CP_FRAME_MAX_VLAN_TAGS). */
    const uint16_t three[] = { 0x88a8, 0x8100, 0x8100 };
    len = ethernet(l3, n, three, 3, 0x0800, frame);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, len, &f), 0);
    CHECK(f.l3 == frame + 26);

    len = ethernet(l3, n, NULL, 0, 0x0806, frame); /* ARP */
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, len, &f), 0);
    CHECK_EQ(f.family, 0);

    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, 13, &f), -EBADMSG);
    len = ethernet(l3, n, one, 1, 0x0800, frame);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, 17, &f), -EBADMSG);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, 18, &f), 0);
    CHECK_EQ(f.l3_len, 0);
}

TEST(frame_decode_linux_cooked_v1_gives_direction)
{
    uint8_t l3[128], frame[256];
    size_t n = sample_ipv4(5, l3);
    cp_frame f;
    size_t len = sll(l3, n, 4, 0x0800, frame);
    CHECK_EQ(cp_frame_decode(DLT_LINUX_SLL, frame, len, &f), 0);
    CHECK_EQ(f.direction, CP_DIR_OUT);
    CHECK_EQ(f.family, AF_INET);
    CHECK(f.l3 == frame + 16);
    CHECK_EQ(f.ifindex, 0);
    len = sll(l3, n, 0, 0x0800, frame);
    CHECK_EQ(cp_frame_decode(DLT_LINUX_SLL, frame, len, &f), 0);
    CHECK_EQ(f.direction, CP_DIR_IN);
    len = sll(l3, n, 3, 0x86dd, frame);
    CHECK_EQ(cp_frame_decode(DLT_LINUX_SLL, frame, len, &f), 0);
    CHECK_EQ(f.direction, CP_DIR_IN);
    CHECK_EQ(f.family, AF_INET6);
    len = sll(l3, n, 7, 0x0800, frame);
    CHECK_EQ(cp_frame_decode(DLT_LINUX_SLL, frame, len, &f), 0);
    CHECK_EQ(f.direction, CP_DIR_UNKNOWN);
    CHECK_EQ(cp_frame_decode(DLT_LINUX_SLL, frame, 15, &f), -EBADMSG);
}

TEST(frame_decode_linux_cooked_v2_gives_direction_and_ifindex)
{
    uint8_t l3[128], frame[256];
    size_t n = sample_ipv6(5, l3);
    cp_frame f;
    size_t len = sll2(l3, n, 4, 0x86dd, 0x01020304, frame);
    CHECK_EQ(cp_frame_decode(DLT_LINUX_SLL2, frame, len, &f), 0);
    CHECK_EQ(f.direction, CP_DIR_OUT);
    CHECK_EQ(f.family, AF_INET6);
    CHECK_EQ(f.ifindex, 0x01020304);
    CHECK(f.l3 == frame + 20);
    CHECK_EQ(f.l3_len, n);
    len = sll2(l3, n, 0, 0x86dd, 1, frame);
    CHECK_EQ(cp_frame_decode(DLT_LINUX_SLL2, frame, len, &f), 0);
    CHECK_EQ(f.direction, CP_DIR_IN);
    CHECK_EQ(f.ifindex, 1);
    CHECK_EQ(cp_frame_decode(DLT_LINUX_SLL2, frame, 19, &f), -EBADMSG);
}

TEST(frame_decode_raw_ip_and_bsd_null)
{
    uint8_t v4[128], v6[128], frame[256];
    size_t n4 = sample_ipv4(5, v4), n6 = sample_ipv6(5, v6);
    cp_frame f;
    CHECK_EQ(cp_frame_decode(DLT_RAW, v4, n4, &f), 0);
    CHECK_EQ(f.family, AF_INET);
    CHECK(f.l3 == v4);
    CHECK_EQ(cp_frame_decode(DLT_RAW, v6, n6, &f), 0);
    CHECK_EQ(f.family, AF_INET6);
    CHECK_EQ(cp_frame_decode(DLT_IPV4, v4, n4, &f), 0);
    CHECK_EQ(f.family, AF_INET);
    CHECK_EQ(cp_frame_decode(DLT_IPV6, v6, n6, &f), 0);
    CHECK_EQ(f.family, AF_INET6);
    CHECK_EQ(cp_frame_decode(DLT_IPV4, v6, n6, &f), -EBADMSG);
    CHECK_EQ(cp_frame_decode(DLT_IPV6, v4, n4, &f), -EBADMSG);
    CHECK_EQ(cp_frame_decode(DLT_RAW, v4, 0, &f), -EBADMSG);

    uint32_t af = AF_INET;
    memcpy(frame, &af, 4);
    memcpy(frame + 4, v4, n4);
    CHECK_EQ(cp_frame_decode(DLT_NULL, frame, 4 + n4, &f), 0);
    CHECK_EQ(f.family, AF_INET);
    CHECK(f.l3 == frame + 4);
    af = 30; /* Darwin's AF_INET6 */
    memcpy(frame, &af, 4);
    CHECK_EQ(cp_frame_decode(DLT_NULL, frame, 4 + n4, &f), 0);
    CHECK_EQ(f.family, AF_INET6);
    af = __builtin_bswap32(AF_INET); /* written on a host of the other byte order */
    memcpy(frame, &af, 4);
    CHECK_EQ(cp_frame_decode(DLT_NULL, frame, 4 + n4, &f), 0);
    CHECK_EQ(f.family, AF_INET);
    CHECK_EQ(cp_frame_decode(DLT_NULL, frame, 3, &f), -EBADMSG);

    CHECK_EQ(cp_frame_decode(DLT_IEEE802_11, frame, 100, &f), -EPROTONOSUPPORT);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, 100, NULL), -EINVAL);
}

/* Every link type and wrapping below, built around one IP packet. */
struct wrapped {
    const char *what;
    int linktype;
    uint8_t header[64];
    size_t header_len;
};

static size_t wrap_in(const struct wrapped *w, const uint8_t *l3, size_t n, uint8_t *out)
{
    memcpy(out, w->header, w->header_len);
    memcpy(out + w->header_len, l3, n);
    return w->header_len + n;
}

#define MPLS_ENTRY(label, tc, s, ttl) \
    (uint8_t)((label) >> 12), (uint8_t)((label) >> 4), (uint8_t)(((label) & 0xf) << 4 | (tc) << 1 | (s)), (uint8_t)(ttl)
#define ETHERNET_MACS 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1

/* IPv4 wrappers: the IPv6 ones differ only in the protocol number (see ipv6_of). */
static const struct wrapped wrappers_v4[] = {
    { "ethernet 802.1Q", DLT_EN10MB, { ETHERNET_MACS, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00 }, 18 },
    { "ethernet 802.1ad + 802.1Q", DLT_EN10MB,
      { ETHERNET_MACS, 0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00 }, 22 },
    { "ethernet 0x9100 + 802.1Q", DLT_EN10MB,
      { ETHERNET_MACS, 0x91, 0x00, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00 }, 22 },
    { "ethernet MPLS", DLT_EN10MB, { ETHERNET_MACS, 0x88, 0x47, MPLS_ENTRY(16001, 0, 0, 254), MPLS_ENTRY(24, 5, 1, 63) }, 22 },
    { "ethernet 802.1Q MPLS", DLT_EN10MB,
      { ETHERNET_MACS, 0x81, 0x00, 0x00, 0x64, 0x88, 0x47, MPLS_ENTRY(16001, 0, 0, 254), MPLS_ENTRY(24, 5, 1, 63) }, 26 },
    { "ethernet PPPoE session", DLT_EN10MB, { ETHERNET_MACS, 0x88, 0x64, 0x11, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x21 }, 22 },
    { "linux cooked MPLS", DLT_LINUX_SLL, { 0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x88, 0x47,
                                            MPLS_ENTRY(16001, 0, 0, 254), MPLS_ENTRY(24, 5, 1, 63) }, 24 },
    { "null, host byte order", DLT_NULL, { 0 }, 4 },
    { "loop, network byte order", DLT_LOOP, { 0, 0, 0, 2 }, 4 },
    { "ppp, address and control", DLT_PPP, { 0xff, 0x03, 0x00, 0x21 }, 4 },
    { "ppp, no address and control", DLT_PPP, { 0x00, 0x21 }, 2 },
    { "ppp, compressed protocol", DLT_PPP, { 0xff, 0x03, 0x21 }, 3 },
    { "ppp MPLS", DLT_PPP, { 0xff, 0x03, 0x02, 0x81, MPLS_ENTRY(16001, 0, 0, 254), MPLS_ENTRY(24, 5, 1, 63) }, 12 },
    { "ppp in HDLC framing", DLT_PPP_SERIAL, { 0xff, 0x03, 0x00, 0x21 }, 4 },
    { "cisco HDLC in a PPP serial capture", DLT_PPP_SERIAL, { 0x0f, 0x00, 0x08, 0x00 }, 4 },
    { "ppp with direction, sent", DLT_PPP_WITH_DIR, { 0x01, 0xff, 0x03, 0x00, 0x21 }, 5 },
    { "pppoe", DLT_PPP_ETHER, { 0x11, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x21 }, 8 },
    { "cisco HDLC", DLT_C_HDLC, { 0x0f, 0x00, 0x08, 0x00 }, 4 },
    { "cisco HDLC broadcast", DLT_C_HDLC, { 0x8f, 0x00, 0x08, 0x00 }, 4 },
    { "cisco HDLC MPLS", DLT_C_HDLC, { 0x0f, 0x00, 0x88, 0x47, MPLS_ENTRY(16001, 0, 0, 254), MPLS_ENTRY(24, 5, 1, 63) }, 12 },
    { "bare MPLS", DLT_MPLS, { MPLS_ENTRY(16001, 0, 0, 254), MPLS_ENTRY(24, 5, 1, 63) }, 8 },
};

/* The same wrapper around IPv6: the protocol number or family word changed. */
static struct wrapped ipv6_of(const struct wrapped *v4)
{
    struct wrapped w = *v4;
    uint8_t *h = w.header;
    size_t n = w.header_len;
    switch (w.linktype) {
    case DLT_NULL: {
        uint32_t af = 28; /* FreeBSD's AF_INET6 */
        memcpy(h, &af, 4);
        break;
    }
    case DLT_LOOP:
        h[3] = 24; /* OpenBSD's */
        break;
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_C_HDLC:
    case DLT_PPP_SERIAL:
    case DLT_PPP:
    case DLT_PPP_WITH_DIR:
    case DLT_PPP_ETHER:
        if (n >= 2 && h[n - 2] == 0x08 && h[n - 1] == 0x00)
            h[n - 2] = 0x86, h[n - 1] = 0xdd;
        else if (n >= 2 && h[n - 2] == 0x00 && h[n - 1] == 0x21)
            h[n - 1] = 0x57;
        else if (n >= 1 && h[n - 1] == 0x21)
            h[n - 1] = 0x57; /* compressed protocol field */
        break;
    default:
        break; /* MPLS: the version nibble says it */
    }
    return w;
}

static void set_null_family(struct wrapped *w)
{
    if (w->linktype == DLT_NULL) {
        uint32_t af = AF_INET;
        memcpy(w->header, &af, 4);
    }
}

static int has_mpls(const struct wrapped *w)
{
    return strstr(w->what, "MPLS") != NULL;
}

TEST(frame_decode_reads_every_link_type_that_carries_ip_v4_and_v6)
{
    uint8_t v4[128], v6[128], frame[256];
    size_t n4 = sample_ipv4(5, v4), n6 = sample_ipv6(6, v6);
    for (size_t i = 0; i < sizeof wrappers_v4 / sizeof wrappers_v4[0] && !CHECK_FAILED; i++) {
        struct wrapped w4 = wrappers_v4[i];
        set_null_family(&w4);
        struct wrapped w6 = ipv6_of(&w4);
        for (int v = 0; v < 2; v++) {
            const struct wrapped *w = v == 0 ? &w4 : &w6;
            const uint8_t *l3 = v == 0 ? v4 : v6;
            size_t n = v == 0 ? n4 : n6;
            size_t len = wrap_in(w, l3, n, frame);
            cp_frame f;
            int rc = cp_frame_decode(w->linktype, frame, len, &f);
            if (rc != 0 || f.family != (v == 0 ? AF_INET : AF_INET6) || f.l3 != frame + w->header_len ||
                f.l3_len != n)
                printf("    %s (IPv%d): rc %d family %d at %td\n", w->what, v == 0 ? 4 : 6, rc, f.family,
                       f.l3 != NULL ? f.l3 - frame : -1);
            CHECK_EQ(rc, 0);
            CHECK_EQ(f.family, v == 0 ? AF_INET : AF_INET6);
            CHECK(f.l3 == frame + w->header_len);
            CHECK_EQ(f.l3_len, n);
            cp_echo_info info;
            CHECK_EQ(cp_echo_parse(f.family, 1, f.l3, f.l3_len, NULL, NULL, &info), 0);
            CHECK_EQ(info.ident, v == 0 ? 5 : 6);
            if (has_mpls(w)) {
                CHECK_EQ(f.mpls_count, 2);
                CHECK_EQ(f.mpls[0].label, 16001);
                CHECK_EQ(f.mpls[0].s, 0);
                CHECK_EQ(f.mpls[0].ttl, 254);
                CHECK_EQ(f.mpls[1].label, 24);
                CHECK_EQ(f.mpls[1].tc, 5);
                CHECK_EQ(f.mpls[1].s, 1);
                CHECK_EQ(f.mpls[1].ttl, 63);
            } else {
                CHECK_EQ(f.mpls_count, 0);
            }
            CHECK_EQ(f.mpls_truncated, 0);
        }
    }
}

/* Every length short of the whole frame is checked before a read: a copy of
 * exactly that many bytes on the heap, so ASan sees any read past it. A
 * truncated frame is refused, or decoded to a network layer inside it. */
TEST(frame_decode_checks_every_length_before_reading)
{
    uint8_t v4[128], frame[256];
    size_t n4 = sample_ipv4(5, v4);
    for (size_t i = 0; i < sizeof wrappers_v4 / sizeof wrappers_v4[0] && !CHECK_FAILED; i++) {
        struct wrapped w = wrappers_v4[i];
        set_null_family(&w);
        size_t len = wrap_in(&w, v4, n4, frame);
        for (size_t cut = 0; cut <= len; cut++) {
            uint8_t *copy = malloc(cut > 0 ? cut : 1);
            CHECK(copy != NULL);
            if (copy == NULL)
                return;
            memcpy(copy, frame, cut);
            cp_frame f;
            int rc = cp_frame_decode(w.linktype, copy, cut, &f);
            CHECK(rc == 0 || rc == -EBADMSG);
            if (rc == 0) {
                CHECK(f.l3 >= copy && f.l3 + f.l3_len == copy + cut);
                CHECK(cut >= w.header_len || f.family == 0);
            } else {
                CHECK_EQ(f.family, 0);
                CHECK(f.l3 == NULL);
            }
            free(copy);
        }
    }
}

TEST(frame_decode_bsd_loopback_reads_either_byte_order_and_every_inet6_number)
{
    uint8_t v6[128], frame[256];
    size_t n6 = sample_ipv6(5, v6);
    const uint32_t inet6[] = { 10, 24, 28, 30 };
    const int types[] = { DLT_NULL, DLT_LOOP };
    for (size_t t = 0; t < 2; t++) {
        for (size_t i = 0; i < 4; i++) {
            for (int swap = 0; swap < 2; swap++) {
                uint32_t af = swap ? __builtin_bswap32(inet6[i]) : inet6[i];
                memcpy(frame, &af, 4);
                memcpy(frame + 4, v6, n6);
                cp_frame f;
                CHECK_EQ(cp_frame_decode(types[t], frame, 4 + n6, &f), 0);
                CHECK_EQ(f.family, AF_INET6);
                CHECK(f.l3 == frame + 4);
            }
        }
        uint32_t other = 7; /* neither IPv4 nor IPv6: decoded, no IP */
        memcpy(frame, &other, 4);
        cp_frame f;
        CHECK_EQ(cp_frame_decode(types[t], frame, 4 + n6, &f), 0);
        CHECK_EQ(f.family, 0);
    }
}

TEST(frame_decode_mpls_walks_the_stack_to_its_bottom_entry)
{
    uint8_t v4[128], frame[256];
    size_t n4 = sample_ipv4(5, v4);
    /* Ten entries: the first eight kept, the rest counted as truncated. */
    size_t off = 0;
    const uint8_t macs[] = { ETHERNET_MACS, 0x88, 0x47 };
    memcpy(frame, macs, sizeof macs);
    off = sizeof macs;
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t entry = (100 + i) << 12 | (i & 7) << 9 | (i == 9 ? 1u : 0u) << 8 | (64 - i);
        frame[off++] = (uint8_t)(entry >> 24);
        frame[off++] = (uint8_t)(entry >> 16);
        frame[off++] = (uint8_t)(entry >> 8);
        frame[off++] = (uint8_t)entry;
    }
    memcpy(frame + off, v4, n4);
    cp_frame f;
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, off + n4, &f), 0);
    CHECK_EQ(f.family, AF_INET);
    CHECK(f.l3 == frame + off);
    CHECK_EQ(f.mpls_count, CP_FRAME_MAX_MPLS);
    CHECK_EQ(f.mpls_truncated, 1);
    for (int i = 0; i < CP_FRAME_MAX_MPLS; i++) {
        CHECK_EQ(f.mpls[i].label, 100 + i);
        CHECK_EQ(f.mpls[i].tc, i & 7);
        CHECK_EQ(f.mpls[i].s, 0);
        CHECK_EQ(f.mpls[i].ttl, 64 - i);
    }

    /* No bottom-of-stack entry before the end: refused. */
    frame[off - 2] &= (uint8_t)~1u;
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, frame, off, &f), -EBADMSG);
    CHECK_EQ(f.mpls_count, 0);

    /* After the bottom entry, a pseudowire control word (first nibble 0): no IP. */
    const uint8_t pw[] = { ETHERNET_MACS, 0x88, 0x47, MPLS_ENTRY(299776, 0, 1, 255), 0, 0, 0, 0 };
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, pw, sizeof pw, &f), 0);
    CHECK_EQ(f.family, 0);
    CHECK_EQ(f.mpls_count, 1);
    CHECK_EQ(f.mpls[0].label, 299776);
    /* The multicast ethertype too; nothing after the bottom entry: no IP. */
    const uint8_t mc[] = { ETHERNET_MACS, 0x88, 0x48, MPLS_ENTRY(3, 0, 1, 1) };
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, mc, sizeof mc, &f), 0);
    CHECK_EQ(f.family, 0);
    CHECK_EQ(f.l3_len, 0);
}

TEST(frame_decode_refuses_malformed_link_headers)
{
    cp_frame f;
    /* PPP with an address byte but another control byte than 0x03. */
    const uint8_t ppp[] = { 0xff, 0x05, 0x00, 0x21, 0x45 };
    CHECK_EQ(cp_frame_decode(DLT_PPP, ppp, sizeof ppp, &f), -EBADMSG);
    /* LCP (0xc021) carries no IP. */
    const uint8_t lcp[] = { 0xff, 0x03, 0xc0, 0x21, 0x01 };
    CHECK_EQ(cp_frame_decode(DLT_PPP_SERIAL, lcp, sizeof lcp, &f), 0);
    CHECK_EQ(f.family, 0);
    /* PPPoE discovery stage code (PADI 0x09) inside a session ethertype: no IP. */
    const uint8_t padi[] = { ETHERNET_MACS, 0x88, 0x64, 0x11, 0x09, 0, 0, 0, 0, 0x00, 0x21, 0x45 };
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, padi, sizeof padi, &f), 0);
    CHECK_EQ(f.family, 0);
    /* More VLAN tags than CP_FRAME_MAX_VLAN_TAGS. */
    uint8_t tagged[14 + 4 * (CP_FRAME_MAX_VLAN_TAGS + 1) + 20];
    const uint8_t macs[] = { ETHERNET_MACS };
    memcpy(tagged, macs, 12);
    size_t off = 12;
    for (int i = 0; i <= CP_FRAME_MAX_VLAN_TAGS; i++) {
        put16(tagged + off, 0x8100);
        put16(tagged + off + 2, (uint16_t)i);
        off += 4;
    }
    put16(tagged + off, 0x0800);
    off += 2;
    memset(tagged + off, 0x45, sizeof tagged - off);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, tagged, sizeof tagged, &f), -EBADMSG);
    /* Exactly CP_FRAME_MAX_VLAN_TAGS are read. */
    memmove(tagged + 12, tagged + 16, sizeof tagged - 16);
    CHECK_EQ(cp_frame_decode(DLT_EN10MB, tagged, sizeof tagged - 4, &f), 0);
    CHECK_EQ(f.family, AF_INET);
    /* Link types that carry no IP we read. */
    CHECK_EQ(cp_frame_decode(DLT_USB_LINUX, ppp, sizeof ppp, &f), -EPROTONOSUPPORT);
    CHECK_EQ(cp_frame_decode(DLT_IEEE802_11_RADIO, ppp, sizeof ppp, &f), -EPROTONOSUPPORT);
    CHECK_EQ(cp_frame_linktype_readable(DLT_USB_LINUX), 0);
    CHECK_EQ(cp_frame_linktype_readable(DLT_PPP_SERIAL), 1);
    CHECK_EQ(cp_frame_linktype_readable(101), 1); /* LINKTYPE_RAW as files write it */
}

/* A capture file of link type linktype holding `count` copies of frame. */
static int write_capture(const char *path, int linktype, const uint8_t *frame, size_t len, int count)
{
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(linktype, 65535, PCAP_TSTAMP_PRECISION_NANO);
    if (dead == NULL)
        return -1;
    pcap_dumper_t *dumper = pcap_dump_open(dead, path);
    if (dumper == NULL) {
        pcap_close(dead);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        struct pcap_pkthdr header;
        header.ts.tv_sec = 2000 + i;
        header.ts.tv_usec = 5;
        header.caplen = header.len = (bpf_u_int32)len;
        pcap_dump((u_char *)dumper, &header, frame);
    }
    pcap_dump_close(dumper);
    pcap_close(dead);
    return 0;
}

TEST(offline_capture_reads_every_link_type_that_carries_ip)
{
    char path[] = "/tmp/cprobe-linktype-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    uint8_t v4[128], frame[256];
    size_t n4 = sample_ipv4(5, v4);
    for (size_t i = 0; i < sizeof wrappers_v4 / sizeof wrappers_v4[0] && !CHECK_FAILED; i++) {
        struct wrapped w = wrappers_v4[i];
        set_null_family(&w);
        size_t len = wrap_in(&w, v4, n4, frame);
        CHECK_EQ(write_capture(path, w.linktype, frame, len, 2), 0);
        cp_capture *cap = NULL;
        char err[512];
        int rc = cp_capture_open_offline(path, NULL, &cap, err, sizeof err);
        if (rc != 0)
            printf("    %s: %s\n", w.what, err);
        CHECK_EQ(rc, 0);
        if (rc != 0)
            continue;
        cp_frame f;
        for (int k = 0; k < 2; k++) {
            CHECK_EQ(cp_capture_next(cap, &f), 1);
            CHECK_EQ(f.family, AF_INET);
            CHECK_EQ(f.l3_len, n4);
            CHECK_EQ(f.mpls_count, has_mpls(&w) ? 2 : 0);
            CHECK(f.ts_ns == (2000LL + k) * 1000000000LL + 5);
        }
        CHECK_EQ(cp_capture_next(cap, &f), -ENODATA);
        cp_capture_close(cap);
    }
    unlink(path);
}

TEST(offline_capture_names_a_link_type_it_cannot_read)
{
    char path[] = "/tmp/cprobe-linktype-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    const uint8_t junk[64] = { 0 };
    const struct {
        int linktype;
        const char *name;
    } cases[] = {
        { DLT_USB_LINUX, "capture link type DLT_USB_LINUX (189, USB with Linux header) carries no IP" },
        { DLT_IEEE802_11_RADIO, "DLT_IEEE802_11_RADIO (127, 802.11 plus radiotap header)" },
    };
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ(write_capture(path, cases[i].linktype, junk, sizeof junk, 1), 0);
        cp_capture *cap = NULL;
        char err[512];
        CHECK_EQ(cp_capture_open_offline(path, NULL, &cap, err, sizeof err), -EPROTONOSUPPORT);
        CHECK(cap == NULL);
        if (strstr(err, cases[i].name) == NULL)
            printf("    message: %s\n", err);
        CHECK(strstr(err, cases[i].name) != NULL);
        CHECK(strstr(err, "supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW") != NULL);
        CHECK(strstr(err, "PPP_SERIAL, PPP_WITH_DIR, PPP_ETHER") != NULL);
        CHECK(strstr(err, "C_HDLC") != NULL);
        CHECK(strstr(err, "MPLS") != NULL);
        /* A short buffer gets a truncated, terminated message. */
        char small[24];
        CHECK_EQ(cp_capture_open_offline(path, NULL, &cap, small, sizeof small), -EPROTONOSUPPORT);
        CHECK_EQ(strlen(small), sizeof small - 1);
        CHECK(strncmp(small, "capture link type DLT_", 22) == 0);
    }
    unlink(path);
}

/* ------------------------------------------------------------------------ */
/* BPF filter                                                               */
/* ------------------------------------------------------------------------ */

static int filter_matches(pcap_t *p, const char *filter, const uint8_t *frame, size_t len)
{
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return -1;
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    h.caplen = h.len = (bpf_u_int32)len;
    int match = pcap_offline_filter(&prog, &h, frame) != 0;
    pcap_freecode(&prog);
    return match;
}

/* The capture filter admitting the echoes with one identifier. */
static int echo_filter(uint16_t ident, char *buf, size_t cap)
{
    return cp_capture_filter(&ident, 1, NULL, 0, buf, cap);
}

TEST(echo_filter_compiles_and_matches_only_our_identifier)
{
    char filter[512];
    CHECK_EQ(echo_filter(0xabcd, filter, sizeof filter), 0);
    CHECK(strstr(filter, "43981") != NULL);
    char tiny[16];
    CHECK_EQ(echo_filter(1, tiny, sizeof tiny), -ENOSPC);
    CHECK_EQ(tiny[0], '\0'); /* never a truncated expression */

    const int linktypes[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW };
    uint8_t v4[128], v6[128], other4[128], other6[128], frame[256];
    size_t n4 = sample_ipv4(0xabcd, v4), n6 = sample_ipv6(0xabcd, v6);
    size_t o4 = sample_ipv4(0xabce, other4), o6 = sample_ipv6(0x0bcd, other6);
    for (size_t i = 0; i < sizeof linktypes / sizeof linktypes[0]; i++) {
        int lt = linktypes[i];
        pcap_t *p = pcap_open_dead(lt, 65535);
        CHECK(p != NULL);
        if (p == NULL)
            continue;
        struct bpf_program prog;
        int compiled = pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN);
        CHECK_EQ(compiled, 0);
        if (compiled == 0)
            pcap_freecode(&prog);
        else
            fprintf(stderr, "pcap_compile(%d): %s\n", lt, pcap_geterr(p));

        struct { const uint8_t *l3; size_t n; int v6; int expect; } cases[] = {
            { v4, n4, 0, 1 }, { v6, n6, 1, 1 }, { other4, o4, 0, 0 }, { other6, o6, 1, 0 },
        };
        for (size_t c = 0; c < 4; c++) {
            size_t len;
            uint16_t et = cases[c].v6 ? 0x86dd : 0x0800;
            if (lt == DLT_EN10MB)
                len = ethernet(cases[c].l3, cases[c].n, NULL, 0, et, frame);
            else if (lt == DLT_LINUX_SLL)
                len = sll(cases[c].l3, cases[c].n, 4, et, frame);
            else if (lt == DLT_LINUX_SLL2)
                len = sll2(cases[c].l3, cases[c].n, 0, et, 1, frame);
            else {
                memcpy(frame, cases[c].l3, cases[c].n);
                len = cases[c].n;
            }
            int m = filter_matches(p, filter, frame, len);
            if (m != cases[c].expect)
                fprintf(stderr, "  linktype %d case %zu: match %d\n", lt, c, m);
            CHECK_EQ(m, cases[c].expect);
        }
        pcap_close(p);
    }
}

TEST(echo_filter_compiles_without_privileges)
{
    if (geteuid() != 0) {
        /* Already unprivileged: compile right here. */
        char filter[512];
        echo_filter(7, filter, sizeof filter);
        pcap_t *p = pcap_open_dead(DLT_LINUX_SLL2, 65535);
        struct bpf_program prog;
        CHECK_EQ(pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN), 0);
        pcap_freecode(&prog);
        pcap_close(p);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0 || cp_caps_drop_all() != 0 ||
            cp_caps_have_net_raw() != 0)
            _exit(2);
        char filter[512];
        echo_filter(7, filter, sizeof filter);
        int bad = 0;
        const int linktypes[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2 };
        for (int i = 0; i < 3; i++) {
            pcap_t *p = pcap_open_dead(linktypes[i], 65535);
            struct bpf_program prog;
            if (p == NULL || pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
                bad++;
            else
                pcap_freecode(&prog);
            if (p != NULL)
                pcap_close(p);
        }
        _exit(bad == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ------------------------------------------------------------------------ */
/* Real sockets on loopback                                                 */
/* ------------------------------------------------------------------------ */

static uint16_t test_ident(void)
{
    return (uint16_t)(0x4000 | ((unsigned)getpid() & 0x3fff));
}

static uint64_t test_token(void)
{
    return (uint64_t)cp_realtime_ns() ^ 0x5a5a5a5a00000000ull;
}

/* Reads from fd until an echo reply with our token parses, for up to 1 s. */
static int await_reply(int fd, int family, int with_header, uint64_t token, uint8_t *buf,
                       size_t cap, cp_recv_meta *meta, cp_echo_info *info, int *len_out)
{
    int64_t deadline = cp_realtime_ns() + 1000000000;
    while (cp_realtime_ns() < deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        poll(&pfd, 1, 50);
        int n = cp_recv(fd, buf, cap, meta);
        if (n == -EAGAIN)
            continue;
        if (n < 0)
            return n;
        int v6_known = family == AF_INET6 && meta->has_to;
        int rc = cp_echo_parse(family, with_header, buf, (size_t)n, v6_known ? &meta->from : NULL,
                               v6_known ? &meta->to : NULL, info);
        if (rc == 0 && info->token == token) {
            *len_out = n;
            return 0;
        }
    }
    return -ETIMEDOUT;
}

/* The driver's send timestamp comes back on the error queue with a copy of the
 * request, for both families and both socket kinds (the datagram kind only
 * where ping_group_range allows it; as root it always does). */
TEST(send_timestamps_come_back_with_the_request)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    const char *targets[2] = { "127.0.0.1", "::1" };
    int families[2] = { AF_INET, AF_INET6 };
    for (int f = 0; f < 2; f++) {
        int kind = 0;
        int fd = cp_icmp_socket_open(families[f], 1, 0, &kind);
        CHECK(fd >= 0);
        if (fd < 0)
            continue;
        uint8_t pkt[256], copy[2048];
        uint16_t ident = test_ident();
        uint64_t token = test_token();
        size_t n = build(families[f], ident, 23, token, 56, pkt, sizeof pkt);
        cp_addr dst = addr(targets[f]);
        int64_t sent = 0;
        CHECK_EQ(cp_send_to(fd, pkt, n, &dst, &sent), (int)n);
        int64_t stamp = 0;
        int len = -EAGAIN;
        for (int tries = 0; tries < 100 && len == -EAGAIN; tries++) {
            len = cp_recv_send_timestamp(fd, copy, sizeof copy, &stamp);
            if (len == -EAGAIN)
                usleep(1000);
        }
        CHECK(len > 0);
        if (len > 0) {
            cp_echo_info info;
            CHECK_EQ(cp_echo_parse(families[f], 1, copy, (size_t)len, NULL, NULL, &info), 0);
            CHECK_EQ(info.seq, 23);
            CHECK(info.token == token);
            CHECK(stamp >= sent);
            CHECK(stamp - sent < 1000000000LL);
        }
        CHECK_EQ(cp_recv_send_timestamp(fd, copy, sizeof copy, &stamp), -EAGAIN);
        CHECK_EQ(cp_recv_send_timestamp(fd, NULL, 0, &stamp), -EINVAL);
        close(fd);
    }
}

TEST(raw_ipv4_echo_round_trip_on_loopback)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    int kind = 0;
    int fd = cp_icmp_socket_open(AF_INET, 1, 0, &kind);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK_EQ(kind, CP_SOCK_RAW);
    CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    uint16_t ident_unused;
    CHECK_EQ(cp_socket_local_ident(fd, &ident_unused), -EINVAL);

    uint8_t pkt[256], buf[2048];
    uint16_t ident = test_ident();
    uint64_t token = test_token();
    size_t n = build(AF_INET, ident, 17, token, 56, pkt, sizeof pkt);
    cp_addr dst = addr("127.0.0.1");
    int64_t sent = 0;
    CHECK_EQ(cp_send_to(fd, pkt, n, &dst, &sent), (int)n);
    CHECK(sent > 0);

    cp_recv_meta meta;
    cp_echo_info info;
    int len = 0;
    int rc = await_reply(fd, AF_INET, 1, token, buf, sizeof buf, &meta, &info, &len);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        CHECK_EQ(info.type, CP_ICMP4_ECHO_REPLY);
        CHECK_EQ(info.ident, ident);
        CHECK_EQ(info.seq, 17);
        CHECK_EQ(info.has_ip_header, 1);
        CHECK_EQ(info.payload_len, 56);
        CHECK_EQ(len, 20 + 8 + 56); /* raw IPv4 sockets deliver the IP header */
        CHECK(meta.kernel_ts_ns != 0);
        CHECK(meta.kernel_ts_ns >= sent);
        CHECK(meta.user_ts_ns >= meta.kernel_ts_ns);
        CHECK_EQ(meta.ttl, info.ttl);
        CHECK_EQ(meta.from.family, AF_INET);
        CHECK(memcmp(meta.from.bytes, dst.bytes, 4) == 0);
        CHECK_EQ(meta.has_to, 1);
        CHECK(memcmp(meta.to.bytes, dst.bytes, 4) == 0);
    }
    /* Nothing else waiting: the echo request itself is filtered out. */
    uint8_t extra[2048];
    cp_recv_meta m2;
    int more;
    while ((more = cp_recv(fd, extra, sizeof extra, &m2)) > 0) {
        cp_echo_info other;
        if (cp_echo_parse(AF_INET, 1, extra, (size_t)more, NULL, NULL, &other) == 0 &&
            other.token == token)
            CHECK(other.type != CP_ICMP4_ECHO_REQUEST);
    }
    CHECK_EQ(more, -EAGAIN);
    close(fd);
}

TEST(raw_ipv6_echo_round_trip_on_loopback)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    int kind = 0;
    int fd = cp_icmp_socket_open(AF_INET6, 1, 1, &kind);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK_EQ(kind, CP_SOCK_RAW);
    uint8_t pkt[256], buf[2048];
    uint16_t ident = test_ident();
    uint64_t token = test_token();
    size_t n = build(AF_INET6, ident, 18, token, 100, pkt, sizeof pkt);
    cp_addr dst = addr("::1");
    int64_t sent = 0;
    CHECK_EQ(cp_send_to(fd, pkt, n, &dst, &sent), (int)n);

    cp_recv_meta meta;
    cp_echo_info info;
    int len = 0;
    int rc = await_reply(fd, AF_INET6, 0, token, buf, sizeof buf, &meta, &info, &len);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        CHECK_EQ(len, 8 + 100); /* IPv6 raw sockets start at the ICMPv6 header */
        CHECK_EQ(info.type, CP_ICMP6_ECHO_REPLY);
        CHECK_EQ(info.ident, ident);
        CHECK_EQ(info.seq, 18);
        CHECK_EQ(meta.has_to, 1);
        CHECK(memcmp(meta.to.bytes, dst.bytes, 16) == 0);
        CHECK(memcmp(meta.from.bytes, dst.bytes, 16) == 0);
        /* The kernel's checksum verifies against the pseudo-header. */
        CHECK_EQ(cp_echo_parse(AF_INET6, 0, buf, (size_t)len, &meta.from, &meta.to, &info), 0);
        CHECK(meta.kernel_ts_ns >= sent);
        CHECK(meta.user_ts_ns >= meta.kernel_ts_ns);
        CHECK_EQ(meta.ttl, 64);
    }
    close(fd);
}

TEST(recv_reports_truncation_and_empty_queue)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    int kind;
    int fd = cp_icmp_socket_open(AF_INET, 1, 0, &kind);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    uint8_t small[16];
    cp_recv_meta meta;
    CHECK_EQ(cp_recv(fd, small, sizeof small, &meta), -EAGAIN);
    uint8_t pkt[256];
    size_t n = build(AF_INET, test_ident(), 1, test_token(), 200, pkt, sizeof pkt);
    cp_addr dst = addr("127.0.0.1");
    CHECK_EQ(cp_send_to(fd, pkt, n, &dst, NULL), (int)n);
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    CHECK_EQ(poll(&pfd, 1, 1000), 1);
    CHECK_EQ(cp_recv(fd, small, sizeof small, &meta), -EMSGSIZE);
    close(fd);
}

/* cp_send_batch sends every datagram of a batch with one sendmmsg; cp_recv_batch
 * reads their replies, each with its own metadata; cp_recv_send_timestamps reads
 * the send timestamps (timed batches only), both families. */
TEST(batch_send_and_receive_round_trip_on_loopback)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    const char *targets[2] = { "127.0.0.1", "::1" };
    int families[2] = { AF_INET, AF_INET6 };
    enum { COUNT = 40, SLOT = 2048 };
    static uint8_t pkts[COUNT][256];
    static uint8_t bufs[CP_BATCH_MAX * SLOT];
    for (int f = 0; f < 2; f++) {
        for (int timed = 0; timed < 2; timed++) {
            int kind = 0;
            int fd = cp_icmp_socket_open(families[f], 1, 0, &kind);
            CHECK(fd >= 0);
            if (fd < 0)
                continue;
            CHECK_EQ(cp_socket_grow_buffers(fd, 1 << 20), 0);
            uint16_t ident = (uint16_t)(test_ident() ^ (uint16_t)(f * 2 + timed));
            uint64_t token = test_token();
            cp_send_item items[COUNT];
            cp_addr dst = addr(targets[f]);
            for (int i = 0; i < COUNT; i++) {
                items[i].buf = pkts[i];
                items[i].len = build(families[f], ident, (uint16_t)(100 + i), token + (uint64_t)i, 56,
                                     pkts[i], sizeof pkts[i]);
                items[i].dst = dst;
            }
            int64_t before = 0;
            CHECK_EQ(cp_send_batch(fd, items, COUNT, timed, &before), COUNT);
            CHECK(before > 0);
            int seen[COUNT] = { 0 };
            int replies = 0, stamps = 0, batches = 0;
            int with_header = families[f] == AF_INET;
            int64_t deadline = cp_realtime_ns() + 1000000000;
            while ((replies < COUNT || (timed && stamps < COUNT)) && cp_realtime_ns() < deadline) {
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                poll(&pfd, 1, 20);
                int lengths[CP_BATCH_MAX];
                int64_t ts[CP_BATCH_MAX];
                int n = cp_recv_send_timestamps(fd, bufs, SLOT, CP_BATCH_MAX, lengths, ts);
                CHECK(n == -EAGAIN || n > 0);
                for (int i = 0; i < n; i++) {
                    cp_echo_info info;
                    if (lengths[i] > 0 &&
                        cp_echo_parse(families[f], 1, bufs + (size_t)i * SLOT, (size_t)lengths[i], NULL,
                                      NULL, &info) == 0 && info.ident == ident) {
                        CHECK(ts[i] >= before);
                        stamps++;
                    }
                }
                cp_recv_meta metas[CP_BATCH_MAX];
                n = cp_recv_batch(fd, bufs, SLOT, CP_BATCH_MAX, lengths, metas);
                CHECK(n == -EAGAIN || n > 0);
                if (n > 0)
                    batches++;
                for (int i = 0; i < n; i++) {
                    if (lengths[i] <= 0)
                        continue;
                    int v6_known = families[f] == AF_INET6 && metas[i].has_to;
                    cp_echo_info info;
                    if (cp_echo_parse(families[f], with_header, bufs + (size_t)i * SLOT,
                                      (size_t)lengths[i], v6_known ? &metas[i].from : NULL,
                                      v6_known ? &metas[i].to : NULL, &info) != 0 ||
                        info.ident != ident || info.seq < 100 || info.seq >= 100 + COUNT)
                        continue;
                    int k = info.seq - 100;
                    CHECK(info.token == token + (uint64_t)k);
                    CHECK(metas[i].kernel_ts_ns >= before);
                    CHECK(metas[i].user_ts_ns >= metas[i].kernel_ts_ns);
                    CHECK(memcmp(metas[i].from.bytes, dst.bytes, families[f] == AF_INET ? 4 : 16) == 0);
                    CHECK(metas[i].ttl > 0);
                    if (!seen[k]) {
                        seen[k] = 1;
                        replies++;
                    }
                }
            }
            CHECK_EQ(replies, COUNT);
            /* Fewer reads than replies: a read returns many at once. */
            CHECK(batches < COUNT);
            /* Untimed: nothing on the error queue. */
            CHECK_EQ(stamps, timed ? COUNT : 0);
            int lengths[CP_BATCH_MAX];
            int64_t ts[CP_BATCH_MAX];
            CHECK_EQ(cp_recv_send_timestamps(fd, bufs, SLOT, CP_BATCH_MAX, lengths, ts), -EAGAIN);
            close(fd);
        }
    }
    /* Arguments the calls refuse before any system call. */
    cp_send_item one = { .buf = NULL, .len = 4 };
    int lengths[1];
    cp_recv_meta meta;
    int64_t ts;
    CHECK_EQ(cp_send_batch(0, &one, 1, 1, NULL), -EINVAL);
    CHECK_EQ(cp_send_batch(0, &one, 0, 1, NULL), -EINVAL);
    CHECK_EQ(cp_send_batch(0, &one, CP_BATCH_MAX + 1, 1, NULL), -EINVAL);
    CHECK_EQ(cp_recv_batch(0, bufs, SLOT, CP_BATCH_MAX + 1, lengths, &meta), -EINVAL);
    CHECK_EQ(cp_recv_batch(0, bufs, 0, 1, lengths, &meta), -EINVAL);
    CHECK_EQ(cp_recv_send_timestamps(0, NULL, SLOT, 1, lengths, &ts), -EINVAL);
}

/* A datagram larger than its slot is consumed and reported -EMSGSIZE, and the
 * next one still arrives whole. */
TEST(batch_receive_reports_a_truncated_datagram_alone)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    int kind;
    int fd = cp_icmp_socket_open(AF_INET, 1, 0, &kind);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    uint8_t big[512], small[256];
    uint16_t ident = test_ident();
    cp_send_item items[2] = {
        { .buf = big, .len = build(AF_INET, ident, 1, test_token(), 400, big, sizeof big), .dst = addr("127.0.0.1") },
        { .buf = small, .len = build(AF_INET, ident, 2, test_token(), 12, small, sizeof small), .dst = addr("127.0.0.1") },
    };
    CHECK_EQ(cp_send_batch(fd, items, 2, 0, NULL), 2);
    uint8_t bufs[2 * 128];
    int lengths[2];
    cp_recv_meta metas[2];
    int got = 0, truncated = 0, whole = 0;
    int64_t deadline = cp_realtime_ns() + 1000000000;
    while (got < 2 && cp_realtime_ns() < deadline) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        poll(&pfd, 1, 20);
        int n = cp_recv_batch(fd, bufs, 128, 2, lengths, metas);
        for (int i = 0; i < n; i++) {
            got++;
            if (lengths[i] == -EMSGSIZE)
                truncated++;
            else if (lengths[i] == 20 + 8 + 12)
                whole++;
        }
    }
    CHECK_EQ(truncated, 1);
    CHECK_EQ(whole, 1);
    close(fd);
}

TEST(capture_on_loopback_sees_request_and_reply_with_timestamps)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    uint16_t ident = (uint16_t)(test_ident() ^ 0x2000);
    char filter[512], err[PCAP_ERRBUF_SIZE];
    CHECK_EQ(echo_filter(ident, filter, sizeof filter), 0);
    cp_capture *cap = NULL;
    int rc = cp_capture_open("lo", filter, 256, &cap, err, sizeof err);
    CHECK_EQ(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "capture: %s\n", err);
        return;
    }
    CHECK(cp_capture_fd(cap) >= 0);
    CHECK_EQ(cp_capture_linktype(cap), DLT_EN10MB);
    cp_frame frame;
    CHECK_EQ(cp_capture_next(cap, &frame), 0);

    for (int family = AF_INET; family != 0; family = family == AF_INET ? AF_INET6 : 0) {
        int kind;
        int fd = cp_icmp_socket_open(family, 1, 0, &kind);
        CHECK(fd >= 0);
        if (fd < 0)
            continue;
        uint8_t pkt[128];
        uint64_t token = test_token();
        size_t n = build(family, ident, 3, token, 32, pkt, sizeof pkt);
        cp_addr dst = addr(family == AF_INET ? "127.0.0.1" : "::1");
        int64_t sent = 0;
        CHECK_EQ(cp_send_to(fd, pkt, n, &dst, &sent), (int)n);

        int64_t request_ts = 0, reply_ts = 0;
        int64_t deadline = cp_realtime_ns() + 1000000000;
        while ((request_ts == 0 || reply_ts == 0) && cp_realtime_ns() < deadline) {
            struct pollfd pfd = { .fd = cp_capture_fd(cap), .events = POLLIN };
            poll(&pfd, 1, 20);
            int got;
            while ((got = cp_capture_next(cap, &frame)) == 1) {
                cp_echo_info info;
                if (frame.family != family ||
                    cp_echo_parse(family, 1, frame.l3, frame.l3_len, NULL, NULL, &info) != 0 ||
                    info.token != token)
                    continue;
                CHECK(frame.ts_ns > 0);
                if (info.type == CP_ICMP4_ECHO_REQUEST || info.type == CP_ICMP6_ECHO_REQUEST)
                    request_ts = frame.ts_ns;
                else
                    reply_ts = frame.ts_ns;
            }
            CHECK(got >= 0);
        }
        CHECK(request_ts != 0);
        CHECK(reply_ts != 0);
        CHECK(reply_ts >= request_ts);
        CHECK(request_ts >= sent);
        /* Drain the socket and compare the socket's kernel timestamp. */
        uint8_t buf[512];
        cp_recv_meta meta;
        cp_echo_info info;
        int len;
        if (await_reply(fd, family, family == AF_INET, token, buf, sizeof buf, &meta, &info,
                        &len) == 0)
            CHECK(meta.kernel_ts_ns >= request_ts);
        close(fd);
    }
    CHECK(cp_capture_drops(cap) >= 0);
    cp_capture_close(cap);
}

/* Replays a seed capture through a descriptor, as `run --mode replay` does; returns
 * the frames' timestamps (at most cap) and how many there were, or -1. */
static int replay_timestamps(const char *seed, int64_t *ts, int cap)
{
    char path[256];
    snprintf(path, sizeof path, "CProbe/fuzz/corpus-capture/%s", seed);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    if (fd < 0)
        return -1;
    cp_capture *capture = NULL;
    char err[256];
    int rc = cp_capture_open_offline_fd(fd, NULL, &capture, err, sizeof err);
    close(fd); /* the capture reads its own duplicate */
    CHECK_EQ(rc, 0);
    if (rc != 0)
        return -1;
    int count = 0;
    for (int calls = 0; calls < 1000; calls++) {
        cp_frame frame;
        rc = cp_capture_next(capture, &frame);
        if (rc == -ENODATA)
            break;
        CHECK(rc == 0 || rc == 1);
        if (rc == 1 && count < cap)
            ts[count++] = frame.ts_ns;
    }
    CHECK_EQ(rc, -ENODATA);
    cp_capture_close(capture);
    return count;
}

/* pcapng carries 64-bit timestamps in any resolution: one second past what int64
 * nanoseconds hold (2262), or 2^64 - 1 seconds, is skipped, not wrapped (a signed
 * overflow, and a wrapped time made replay's round-trip subtraction trap). */
TEST(capture_replay_skips_timestamps_int64_nanoseconds_cannot_hold)
{
    int64_t ts[16];
    CHECK_EQ(replay_timestamps("pcapng-seconds-max-v4", ts, 16), 0);
    /* edge: the request at 9223372037 s is skipped, the reply at 9223372035 s (the last
     * whole second int64 nanoseconds hold) kept */
    CHECK_EQ(replay_timestamps("pcapng-nsec-edge-of-int64-v4", ts, 16), 1);
    CHECK_EQ(ts[0], CP_CAPTURE_MAX_TS_SECONDS * 1000000000LL);
    /* whole seconds (if_tsresol 10^0) and microsecond pcap convert exactly */
    CHECK_EQ(replay_timestamps("pcapng-seconds-raw-v4", ts, 16), 5);
    CHECK_EQ(ts[0], 1700000000LL * 1000000000LL);
    CHECK_EQ(ts[4], 1700000004LL * 1000000000LL);
    CHECK_EQ(replay_timestamps("pcap-usec-en10mb-v4", ts, 16), 5);
    CHECK_EQ(ts[1] - ts[0], 1500000);
    CHECK_EQ(replay_timestamps("pcap-epoch-zero-v4", ts, 16), 5);
    CHECK_EQ(ts[0], 0);
}

TEST(capture_offline_fd_reads_from_the_start_and_refuses_bad_descriptors)
{
    cp_capture *capture = (cp_capture *)1;
    CHECK_EQ(cp_capture_open_offline_fd(-1, NULL, &capture, NULL, 0), -EINVAL);
    int fd = open("CProbe/fuzz/corpus-capture/pcap-nsec-sll-v6", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    char byte;
    CHECK_EQ(read(fd, &byte, 1), 1); /* moved: the open rewinds */
    CHECK_EQ(cp_capture_open_offline_fd(fd, NULL, &capture, NULL, 0), 0);
    if (capture != NULL) {
        CHECK_EQ(cp_capture_linktype(capture), DLT_LINUX_SLL);
        cp_capture_close(capture);
    }
    close(fd);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK_EQ(cp_capture_open_offline_fd(devnull, NULL, &capture, NULL, 0), -EBADMSG);
    close(devnull);
}

TEST(capture_open_reports_bad_filter_and_device)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    char err[PCAP_ERRBUF_SIZE] = "";
    cp_capture *cap = (cp_capture *)1;
    CHECK_EQ(cp_capture_open("lo", "icmp and and", 128, &cap, err, sizeof err), -EINVAL);
    CHECK(cap == NULL);
    CHECK(err[0] != '\0');
    CHECK_EQ(cp_capture_open("nosuchdev0", NULL, 128, &cap, err, sizeof err), -ENODEV);
    CHECK(err[0] != '\0');
    CHECK_EQ(cp_capture_open(NULL, "icmp or icmp6", 128, &cap, NULL, 0), 0);
    if (cap != NULL) {
        CHECK_EQ(cp_capture_linktype(cap), DLT_LINUX_SLL);
        cp_capture_close(cap);
    }
    cp_capture_close(NULL);
}

TEST(route_lookup_of_loopback_is_lo)
{
    cp_addr src;
    char ifname[IF_NAMESIZE];
    cp_addr dst = addr("127.0.0.1");
    CHECK_EQ(cp_route_lookup(&dst, &src, ifname, sizeof ifname), 0);
    CHECK(strcmp(ifname, "lo") == 0);
    CHECK_EQ(src.family, AF_INET);
    CHECK_EQ(src.bytes[0], 127);
    dst = addr("::1");
    CHECK_EQ(cp_route_lookup(&dst, &src, ifname, sizeof ifname), 0);
    CHECK(strcmp(ifname, "lo") == 0);
    CHECK_EQ(src.family, AF_INET6);
    char tiny[2];
    CHECK_EQ(cp_route_lookup(&dst, &src, tiny, sizeof tiny), -ENOSPC);
    CHECK_EQ(cp_route_lookup(NULL, &src, ifname, sizeof ifname), -EINVAL);
}

TEST(route_mtu_of_loopback_is_its_link_mtu)
{
    uint32_t mtu = 0;
    cp_addr dst = addr("127.0.0.1");
    CHECK_EQ(cp_route_mtu(&dst, &mtu), 0);
    /* The loopback device's MTU (65536 since Linux 3.17); never a made-up default. */
    CHECK(mtu >= 16384);
    uint32_t v6 = 0;
    dst = addr("::1");
    CHECK_EQ(cp_route_mtu(&dst, &v6), 0);
    CHECK(v6 >= 16384); /* IPv6 caps it at 65535 (the payload length field) */
    CHECK_EQ(cp_route_mtu(NULL, &mtu), -EINVAL);
    CHECK_EQ(cp_route_mtu(&dst, NULL), -EINVAL);
    cp_addr bad = dst;
    bad.family = AF_UNIX;
    CHECK_EQ(cp_route_mtu(&bad, &mtu), -EINVAL);
}

/* In a child: a fresh network namespace with only loopback up, where
 * ping_group_range lets everyone open datagram ICMP sockets. */
static int set_loopback_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
    return rc;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Runs body in a forked child and adds its pass/fail counts to ours. */
static void in_child(void (*body)(void))
{
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        CHECK(!"pipe");
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        check_counts.checks = check_counts.checks_failed = check_counts.test_skipped = 0;
        body();
        int counts[3] = { check_counts.checks, check_counts.checks_failed, check_counts.test_skipped };
        ssize_t w = write(pipefd[1], counts, sizeof counts);
        fflush(stdout);
        fflush(stderr);
        _exit(w == (ssize_t)sizeof counts ? 0 : 3);
    }
    close(pipefd[1]);
    int counts[3] = { 0, 0, 0 };
    ssize_t r = read(pipefd[0], counts, sizeof counts);
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(r == (ssize_t)sizeof counts && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The child's checks count as this test's: a failed one fails it. */
    check_counts.checks += counts[0];
    check_counts.checks_failed += counts[1];
    if (counts[1] > 0)
        check_counts.test_failed = 1;
    if (counts[2] > 0)
        check_counts.test_skipped = 1;
}

static void datagram_sockets_body(void)
{
    if (unshare(CLONE_NEWNET) != 0 || set_loopback_up() != 0 ||
        write_file("/proc/sys/net/ipv4/ping_group_range", "0 2147483647") != 0) {
        CHECK(!"could not set up a network namespace");
        return;
    }
    for (int family = AF_INET; family != 0; family = family == AF_INET ? AF_INET6 : 0) {
        int kind = 0;
        int fd = cp_icmp_socket_open(family, 0, 1, &kind);
        CHECK(fd >= 0);
        if (fd < 0)
            continue;
        CHECK_EQ(kind, CP_SOCK_DGRAM);
        uint16_t ident = 0;
        CHECK_EQ(cp_socket_local_ident(fd, &ident), 0);
        CHECK(ident != 0);
        uint16_t again = 0;
        CHECK_EQ(cp_socket_local_ident(fd, &again), 0);
        CHECK_EQ(again, ident);

        uint8_t pkt[128], buf[512];
        uint64_t token = test_token();
        /* The kernel replaces the identifier with the socket's own. */
        size_t n = build(family, 0x1111, 5, token, 24, pkt, sizeof pkt);
        cp_addr dst = addr(family == AF_INET ? "127.0.0.1" : "::1");
        CHECK_EQ(cp_send_to(fd, pkt, n, &dst, NULL), (int)n);
        cp_recv_meta meta;
        cp_echo_info info;
        int len = 0;
        int rc = await_reply(fd, family, 0, token, buf, sizeof buf, &meta, &info, &len);
        CHECK_EQ(rc, 0);
        if (rc == 0) {
            CHECK_EQ(len, 8 + 24); /* datagram sockets: no IP header, also for IPv4 */
            CHECK_EQ(info.ident, ident);
            CHECK_EQ(info.seq, 5);
            CHECK(meta.kernel_ts_ns != 0);
            CHECK(meta.ttl > 0);
            CHECK_EQ(meta.has_to, 1);
        }
        close(fd);
    }
    /* Only loopback exists here: anything else is unreachable. */
    cp_addr far = addr("10.1.2.3");
    char ifname[IF_NAMESIZE];
    CHECK_EQ(cp_route_lookup(&far, NULL, ifname, sizeof ifname), -ENETUNREACH);
    far = addr("2001:db8::9");
    CHECK_EQ(cp_route_lookup(&far, NULL, ifname, sizeof ifname), -ENETUNREACH);
}

TEST(datagram_icmp_sockets_round_trip_in_a_fresh_namespace)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    in_child(datagram_sockets_body);
}

static void drop_caps_body(void)
{
    CHECK_EQ(cp_caps_have_net_raw(), 1);
    /* A namespace of its own, so that the parent's is another one to be refused below. */
    char parent_netns[64];
    snprintf(parent_netns, sizeof parent_netns, "/proc/%d/ns/net", (int)getppid());
    CHECK(unshare(CLONE_NEWNET) == 0);
    CHECK_EQ(cp_caps_drop_all(), 0);
    CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
    CHECK_EQ(cp_caps_have_net_raw(), 0);
    uint64_t mask = 1;
    CHECK_EQ(cp_caps_effective_mask(&mask), 0);
    CHECK(mask == 0);
    /* The bounding set is empty too: nothing comes back through execve. */
    FILE *f = fopen("/proc/thread-self/status", "r");
    char line[256];
    int bounding_empty = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "CapBnd:", 7) == 0)
            bounding_empty = strtoull(line + 7, NULL, 16) == 0;
    if (f != NULL)
        fclose(f);
    CHECK(bounding_empty);
    int kind;
    int rc = cp_icmp_socket_open(AF_INET, 1, 0, &kind);
    /* Raw needs CAP_NET_RAW; datagram needs ping_group_range (off here by default). */
    if (rc >= 0) {
        CHECK_EQ(kind, CP_SOCK_DGRAM);
        close(rc);
    } else {
        CHECK(rc == -EPERM || rc == -EACCES);
    }
    cp_capture *cap = NULL;
    CHECK_EQ(cp_capture_open("lo", NULL, 128, &cap, NULL, 0), -EPERM);
    /* Refused: opening another process's namespace (EACCES) or entering it (EPERM). */
    int entered = cp_netns_enter(parent_netns);
    CHECK(entered == -EPERM || entered == -EACCES);
    /* The namespace it is in already needs no privilege: a probe thread born inside. */
    CHECK_EQ(cp_netns_enter("/proc/self/ns/net"), 0);
}

/* A second thread that keeps only CAP_SETUID/CAP_SETGID, as the engine's does, then waits. */
static pthread_barrier_t privileges_barrier;

static void *setid_thread(void *arg)
{
    int *rc = arg;
    *rc = cp_caps_drop_all_but_setid();
    pthread_barrier_wait(&privileges_barrier); /* dropped */
    pthread_barrier_wait(&privileges_barrier); /* the process has changed user */
    return NULL;
}

static void privileges_drop_body(void)
{
    CHECK_EQ(cp_privileges_drop(1, 0, 65534), -EINVAL); /* never to root */
    pthread_barrier_init(&privileges_barrier, NULL, 2);
    pthread_t thread;
    int thread_rc = -1;
    CHECK_EQ(pthread_create(&thread, NULL, setid_thread, &thread_rc), 0);
    pthread_barrier_wait(&privileges_barrier);
    CHECK_EQ(thread_rc, 0);
    cp_process_privileges before;
    CHECK_EQ(cp_process_privileges_read(&before), 0);
    CHECK_EQ(before.threads, 2u);
    CHECK_EQ(before.threads_able_to_change_ids, 2u);
    CHECK_EQ(before.threads_with_uid_0, 2u);

    CHECK_EQ(cp_privileges_drop(1, 65534, 65534), 0);
    cp_process_privileges after;
    CHECK_EQ(cp_process_privileges_read(&after), 0);
    CHECK_EQ(after.threads, 2u);
    CHECK(after.effective == 0 && after.permitted == 0 && after.bounding == 0 && after.ambient == 0);
    CHECK_EQ(after.threads_without_no_new_privs, 0u);
    CHECK_EQ(after.threads_with_uid_0, 0u);
    CHECK_EQ(after.threads_with_gid_0, 0u);
    CHECK_EQ(getuid(), 65534u);
    CHECK_EQ(getgroups(0, NULL), 0);
    CHECK(setuid(0) != 0);
    pthread_barrier_wait(&privileges_barrier);
    pthread_join(thread, NULL);
    pthread_barrier_destroy(&privileges_barrier);
}

TEST(privileges_drop_leaves_root_on_every_thread)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    in_child(privileges_drop_body);
}

TEST(caps_drop_all_leaves_nothing)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    uint64_t mask = 0;
    CHECK_EQ(cp_caps_effective_mask(&mask), 0);
    CHECK(mask & (1ull << 13)); /* CAP_NET_RAW */
    CHECK_EQ(cp_caps_effective_mask(NULL), -EINVAL);
    in_child(drop_caps_body);
    CHECK_EQ(cp_caps_have_net_raw(), 1); /* the parent keeps its own */
}

static ino_t netns_inode(void)
{
    struct stat st;
    if (stat("/proc/thread-self/ns/net", &st) != 0)
        return 0;
    return st.st_ino;
}

static void netns_body(void)
{
    char original[64];
    snprintf(original, sizeof original, "/proc/%d/ns/net", (int)getppid());
    ino_t before = netns_inode();
    CHECK(unshare(CLONE_NEWNET) == 0);
    CHECK(netns_inode() != before);
    CHECK_EQ(cp_netns_enter(original), 0);
    CHECK(netns_inode() == before);
    CHECK_EQ(cp_netns_enter("/nonexistent/netns"), -ENOENT);
    CHECK_EQ(cp_netns_enter("/proc/self/status"), -EINVAL); /* not a namespace */
    CHECK_EQ(cp_netns_enter(NULL), -EINVAL);
}

TEST(netns_enter_moves_the_thread)
{
    if (!is_root()) {
        skip("needs root");
        return;
    }
    in_child(netns_body);
}

TEST(realtime_clock_is_the_epoch_clock)
{
    int64_t now = cp_realtime_ns();
    int64_t t = (int64_t)time(NULL);
    CHECK(now / 1000000000 >= t - 1 && now / 1000000000 <= t + 1);
}

TEST(echo_parse_any_accepts_foreign_echoes_and_says_whose)
{
    uint8_t icmp[256], pkt[512];
    size_t n = build(AF_INET, 4321, 9, 0x0102030405060708ull, 56, icmp, sizeof icmp);
    cp_echo_info info;
    CHECK_EQ(cp_echo_parse_any(AF_INET, 0, icmp, n, NULL, NULL, &info), 0);
    CHECK_EQ(info.has_magic, 1);
    CHECK(info.token == 0x0102030405060708ull);

    /* iputils ping's payload: a timestamp, then 0x10 0x11 ... — no magic. */
    for (size_t i = 8; i < n; i++)
        icmp[i] = (uint8_t)i;
    refresh_icmp4_checksum(icmp, n);
    size_t len = wrap_ipv4(icmp, n, 5, 0, "10.99.1.1", "10.99.4.2", pkt);
    CHECK_EQ(cp_echo_parse(AF_INET, 1, pkt, len, NULL, NULL, &info), -ENOMSG);
    CHECK_EQ(cp_echo_parse_any(AF_INET, 1, pkt, len, NULL, NULL, &info), 0);
    CHECK_EQ(info.has_magic, 0);
    CHECK(info.token == 0);
    CHECK_EQ(info.ident, 4321);
    CHECK_EQ(info.seq, 9);

    /* Still strict: a bad checksum or a truncation is refused. */
    pkt[len - 1] ^= 0xff;
    CHECK_EQ(cp_echo_parse_any(AF_INET, 1, pkt, len, NULL, NULL, &info), -EBADMSG);
    pkt[len - 1] ^= 0xff;
    for (size_t cut = 0; cut < len; cut++)
        CHECK(cp_echo_parse_any(AF_INET, 1, pkt, cut, NULL, NULL, &info) < 0);
}

TEST(offline_capture_replays_frames_in_order_then_says_enodata)
{
    char path[] = "/tmp/cprobe-offline-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO);
    pcap_dumper_t *dumper = pcap_dump_open(dead, path);
    CHECK(dumper != NULL);
    uint8_t icmp[256], pkt[512];
    size_t n = build(AF_INET, 7, 1, 42, 56, icmp, sizeof icmp);
    size_t len = wrap_ipv4(icmp, n, 5, 0, "10.99.1.1", "10.99.4.2", pkt);
    for (int i = 0; i < 2; i++) {
        struct pcap_pkthdr header;
        header.ts.tv_sec = 1000 + i;
        header.ts.tv_usec = 123456789; /* nanoseconds in a nanosecond file */
        header.caplen = header.len = (bpf_u_int32)len;
        pcap_dump((u_char *)dumper, &header, pkt);
    }
    pcap_dump_close(dumper);
    pcap_close(dead);

    cp_capture *cap = NULL;
    char err[256];
    CHECK_EQ(cp_capture_open_offline(path, NULL, &cap, err, sizeof err), 0);
    cp_frame frame;
    CHECK_EQ(cp_capture_next(cap, &frame), 1);
    CHECK(frame.ts_ns == 1000LL * 1000000000LL + 123456789LL);
    CHECK_EQ(frame.family, AF_INET);
    CHECK_EQ(frame.l3_len, len);
    CHECK_EQ(cp_capture_next(cap, &frame), 1);
    CHECK(frame.ts_ns == 1001LL * 1000000000LL + 123456789LL);
    CHECK_EQ(cp_capture_next(cap, &frame), -ENODATA);
    CHECK_EQ(cp_capture_next(cap, &frame), -ENODATA);
    cp_capture_close(cap);

    /* A filter applies offline too. */
    CHECK_EQ(cp_capture_open_offline(path, "icmp6", &cap, err, sizeof err), 0);
    CHECK_EQ(cp_capture_next(cap, &frame), -ENODATA);
    cp_capture_close(cap);
    CHECK_EQ(cp_capture_open_offline(path, "not a filter (", &cap, err, sizeof err), -EINVAL);
    CHECK(cap == NULL);

    /* Not a capture; no such file. */
    FILE *garbage = fopen(path, "wb");
    CHECK(garbage != NULL);
    if (garbage != NULL) {
        fputs("this is not a capture file, not even a short one\n", garbage);
        fclose(garbage);
    }
    CHECK_EQ(cp_capture_open_offline(path, NULL, &cap, err, sizeof err), -EBADMSG);
    CHECK(strlen(err) > 0);
    unlink(path);
    CHECK_EQ(cp_capture_open_offline(path, NULL, &cap, err, sizeof err), -ENOENT);
    CHECK_EQ(cp_capture_open_offline(NULL, NULL, &cap, err, sizeof err), -EINVAL);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(checksum_matches_rfc1071_example);
    RUN(checksum_pads_odd_length_with_zero_byte);
    RUN(checksum_adds_initial_sum);
    RUN(icmp6_checksum_matches_captured_kernel_packet);
    RUN(icmp6_checksum_equals_sum_over_explicit_pseudo_header);
    RUN(addr_parses_and_formats_ipv4_and_ipv6);
    RUN(addr_parses_ipv6_zone_by_name_and_index);
    RUN(addr_rejects_bad_literals_and_small_buffers);
    RUN(echo_build_writes_header_magic_token_and_fill);
    RUN(echo_build_rejects_bad_arguments);
    RUN(echo_v4_round_trips_without_and_with_header);
    RUN(echo_v6_round_trips_with_header_and_known_addresses);
    RUN(echo_parse_rejects_wrong_version_and_bad_arguments);
    RUN(echo_parse_never_accepts_a_corrupted_icmp_message);
    RUN(echo_parse_rejects_every_truncation);
    RUN(echo_parse_skips_ipv4_options);
    RUN(echo_parse_trims_trailing_link_padding);
    RUN(echo_parse_rejects_fragments);
    RUN(echo_parse_says_enomsg_for_well_formed_foreign_packets);
    RUN(echo_parse_any_accepts_foreign_echoes_and_says_whose);
    RUN(offline_capture_replays_frames_in_order_then_says_enodata);
    RUN(frame_decode_ethernet_with_and_without_vlan_tags);
    RUN(frame_decode_linux_cooked_v1_gives_direction);
    RUN(frame_decode_linux_cooked_v2_gives_direction_and_ifindex);
    RUN(frame_decode_raw_ip_and_bsd_null);
    RUN(frame_decode_reads_every_link_type_that_carries_ip_v4_and_v6);
    RUN(frame_decode_checks_every_length_before_reading);
    RUN(frame_decode_bsd_loopback_reads_either_byte_order_and_every_inet6_number);
    RUN(frame_decode_mpls_walks_the_stack_to_its_bottom_entry);
    RUN(frame_decode_refuses_malformed_link_headers);
    RUN(offline_capture_reads_every_link_type_that_carries_ip);
    RUN(offline_capture_names_a_link_type_it_cannot_read);
    RUN(echo_filter_compiles_and_matches_only_our_identifier);
    RUN(echo_filter_compiles_without_privileges);
    RUN(raw_ipv4_echo_round_trip_on_loopback);
    RUN(raw_ipv6_echo_round_trip_on_loopback);
    RUN(send_timestamps_come_back_with_the_request);
    RUN(recv_reports_truncation_and_empty_queue);
    RUN(batch_send_and_receive_round_trip_on_loopback);
    RUN(batch_receive_reports_a_truncated_datagram_alone);
    RUN(capture_on_loopback_sees_request_and_reply_with_timestamps);
    RUN(capture_open_reports_bad_filter_and_device);
    RUN(capture_replay_skips_timestamps_int64_nanoseconds_cannot_hold);
    RUN(capture_offline_fd_reads_from_the_start_and_refuses_bad_descriptors);
    RUN(route_lookup_of_loopback_is_lo);
    RUN(route_mtu_of_loopback_is_its_link_mtu);
    RUN(datagram_icmp_sockets_round_trip_in_a_fresh_namespace);
    RUN(caps_drop_all_leaves_nothing);
    RUN(netns_enter_moves_the_thread);
    RUN(privileges_drop_leaves_root_on_every_thread);
    RUN(realtime_clock_is_the_epoch_clock);
    return check_summary();
}
