/*
 * fuzz_echo_parse.c — libFuzzer target for the packet parsers.
 *
 * The first input byte selects what to exercise; the rest is the packet:
 *   0  IPv4 echo, no IP header          1  IPv4 echo with header
 *   2  IPv6 echo, no header, no addrs   3  IPv6, no header, addresses from the
 *                                          first 32 bytes (checksum verified)
 *   4  IPv6 echo with header
 *   5..11  cp_frame_decode for EN10MB, SLL, SLL2, RAW, IPV4, IPV6, NULL, then
 *          cp_echo_parse of the network layer it found
 *   12 cp_addr_parse / cp_addr_format of the bytes as a string
 * On success every result must be consistent with the bytes it came from.
 */
#include "test_addr.h"
#include "cprobe.h"

#include <errno.h>
#include <pcap/pcap.h>
#include "cp_pcap.h" /* DLT_* numbers older libpcap headers lack */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define REQUIRE(cond) \
    do {              \
        if (!(cond))  \
            abort();  \
    } while (0)

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Checks a successful parse against the ICMP message it must have come from. */
static void check_icmp(int family, const uint8_t *icmp, size_t icmp_len, const cp_echo_info *info,
                       const cp_addr *src, const cp_addr *dst)
{
    REQUIRE(icmp_len >= 8 + CP_ECHO_MIN_PAYLOAD);
    REQUIRE(info->payload_len == icmp_len - 8);
    REQUIRE(info->type == icmp[0]);
    REQUIRE(icmp[1] == 0);
    REQUIRE(info->ident == be16(icmp + 4));
    REQUIRE(info->seq == be16(icmp + 6));
    REQUIRE(be16(icmp + 8) == (CP_ECHO_MAGIC >> 16) && be16(icmp + 10) == (CP_ECHO_MAGIC & 0xffff));
    REQUIRE(info->token == be64(icmp + 8 + CP_ECHO_TOKEN_OFFSET));
    if (family == AF_INET) {
        REQUIRE(info->type == CP_ICMP4_ECHO_REQUEST || info->type == CP_ICMP4_ECHO_REPLY);
        REQUIRE(cp_inet_checksum(icmp, icmp_len, 0) == 0);
    } else {
        REQUIRE(info->type == CP_ICMP6_ECHO_REQUEST || info->type == CP_ICMP6_ECHO_REPLY);
        if (src != NULL && dst != NULL)
            REQUIRE(cp_icmp6_checksum(src, dst, icmp, icmp_len) == 0);
    }
}

static void check_rc(int rc)
{
    REQUIRE(rc == 0 || rc == -EBADMSG || rc == -ENOMSG);
}

static void parse_with_header(int family, const uint8_t *buf, size_t len)
{
    cp_echo_info info;
    /* The replay parser accepts a superset of the live one, and agrees on what both accept. */
    cp_echo_info any;
    int any_rc = cp_echo_parse_any(family, 1, buf, len, NULL, NULL, &any);
    check_rc(any_rc);
    int rc = cp_echo_parse(family, 1, buf, len, NULL, NULL, &info);
    check_rc(rc);
    if (rc == 0)
        REQUIRE(any_rc == 0 && any.has_magic == 1 && memcmp(&any, &info, sizeof info) == 0);
    if (any_rc == 0 && any.has_magic)
        REQUIRE(rc == 0);
    if (rc != 0)
        return;
    REQUIRE(info.has_ip_header == 1 && info.family == family);
    REQUIRE(info.src.family == family && info.dst.family == family);
    if (family == AF_INET) {
        REQUIRE(len >= 20 && (buf[0] >> 4) == 4);
        size_t hl = (size_t)(buf[0] & 0x0f) * 4;
        size_t total = be16(buf + 2);
        REQUIRE(hl >= 20 && hl <= total && total <= len);
        REQUIRE((be16(buf + 6) & 0x3fff) == 0 && buf[9] == 1);
        REQUIRE(info.ttl == buf[8]);
        REQUIRE(memcmp(info.src.bytes, buf + 12, 4) == 0);
        check_icmp(family, buf + hl, total - hl, &info, NULL, NULL);
    } else {
        REQUIRE(len >= 40 && (buf[0] >> 4) == 6 && buf[6] == 58);
        size_t plen = be16(buf + 4);
        REQUIRE(plen <= len - 40);
        REQUIRE(info.ttl == buf[7]);
        check_icmp(family, buf + 40, plen, &info, &info.src, &info.dst);
    }
    REQUIRE(info.payload_len <= len);
}

static void parse_without_header(int family, const uint8_t *buf, size_t len, const cp_addr *src,
                                 const cp_addr *dst)
{
    cp_echo_info info;
    int rc = cp_echo_parse(family, 0, buf, len, src, dst, &info);
    check_rc(rc);
    if (rc != 0)
        return;
    REQUIRE(info.has_ip_header == 0 && info.ttl == 0 && info.src.family == 0);
    REQUIRE(info.payload_len <= len);
    check_icmp(family, buf, len, &info, src, dst);
}

static void decode_frame(int linktype, const uint8_t *buf, size_t len)
{
    cp_frame f;
    int rc = cp_frame_decode(linktype, buf, len, &f);
    REQUIRE(rc == 0 || rc == -EBADMSG || rc == -EPROTONOSUPPORT);
    if (rc != 0)
        return;
    REQUIRE(f.l3 >= buf && f.l3 <= buf + len);
    REQUIRE((size_t)(f.l3 - buf) + f.l3_len == len);
    REQUIRE(f.family == 0 || f.family == AF_INET || f.family == AF_INET6);
    REQUIRE(f.direction == CP_DIR_UNKNOWN || f.direction == CP_DIR_IN || f.direction == CP_DIR_OUT);
    REQUIRE(f.ifindex >= 0);
    if (f.family != 0)
        parse_with_header(f.family, f.l3, f.l3_len);
}

static void parse_address(const uint8_t *buf, size_t len)
{
    char text[128];
    if (len >= sizeof text)
        len = sizeof text - 1;
    memcpy(text, buf, len);
    text[len] = '\0';
    cp_addr a;
    if (cp_addr_parse(text, &a) != 0)
        return;
    REQUIRE(a.family == AF_INET || a.family == AF_INET6);
    char out[64];
    REQUIRE(cp_addr_format(&a, out, sizeof out) == 0);
    cp_addr again;
    REQUIRE(cp_addr_parse(out, &again) == 0);
    REQUIRE(again.family == a.family && memcmp(again.bytes, a.bytes, 16) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned selector = data[0] % 13;
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    /* Copy into an exactly sized heap buffer so ASan catches any overread. */
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, buf, len);

    static const int linktypes[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                                     DLT_IPV4,   DLT_IPV6,      DLT_NULL };
    switch (selector) {
    case 0:
        parse_without_header(AF_INET, copy, len, NULL, NULL);
        break;
    case 1:
        parse_with_header(AF_INET, copy, len);
        break;
    case 2:
        parse_without_header(AF_INET6, copy, len, NULL, NULL);
        break;
    case 3:
        if (len >= 32) {
            cp_addr s, d;
            memset(&s, 0, sizeof s);
            memset(&d, 0, sizeof d);
            s.family = d.family = AF_INET6;
            memcpy(s.bytes, copy, 16);
            memcpy(d.bytes, copy + 16, 16);
            parse_without_header(AF_INET6, copy + 32, len - 32, &s, &d);
        }
        break;
    case 4:
        parse_with_header(AF_INET6, copy, len);
        break;
    case 12:
        parse_address(copy, len);
        break;
    default:
        decode_frame(linktypes[selector - 5], copy, len);
        break;
    }
    free(copy);
    return 0;
}
