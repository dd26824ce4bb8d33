/*
 * echo.c — building and strictly parsing ICMP echo packets (RFC 792,
 * RFC 4443 §4.1-4.2) that carry our payload: magic, token, fill.
 *
 * The parser trusts nothing: it takes (buf, len), checks the length before
 * every read, trims link-layer padding to the IP length, refuses fragments and
 * verifies the ICMP checksum whenever the addresses it covers are known.
 */
#include "cp_ip.h"

#include <errno.h>
#include <sys/socket.h>

#define ICMP_HEADER_LEN 8
#define IPPROTO_ICMP_NUMBER 1
#define IPPROTO_ICMPV6_NUMBER 58

int cp_echo_build(int family, uint16_t ident, uint16_t seq, uint64_t token,
                  size_t payload_len, uint8_t *buf, size_t cap, size_t *out_len)
{
    uint8_t type;
    if (family == AF_INET)
        type = CP_ICMP4_ECHO_REQUEST;
    else if (family == AF_INET6)
        type = CP_ICMP6_ECHO_REQUEST;
    else
        return -EINVAL;
    if (payload_len < CP_ECHO_MIN_PAYLOAD || payload_len > CP_ECHO_MAX_PAYLOAD)
        return -EINVAL;
    if (buf == NULL || out_len == NULL)
        return -EINVAL;
    size_t total = ICMP_HEADER_LEN + payload_len;
    if (cap < total)
        return -ENOSPC;

    buf[0] = type;
    buf[1] = 0; /* code */
    cp_put_be16(buf + 2, 0);
    cp_put_be16(buf + 4, ident);
    cp_put_be16(buf + 6, seq);
    uint8_t *payload = buf + ICMP_HEADER_LEN;
    cp_put_be32(payload, CP_ECHO_MAGIC);
    cp_put_be64(payload + CP_ECHO_TOKEN_OFFSET, token);
    /* Deterministic fill so that a corrupted reply differs from what we sent. */
    for (size_t i = CP_ECHO_MIN_PAYLOAD; i < payload_len; i++)
        payload[i] = (uint8_t)(i & 0xffu);

    /* ICMPv6 checksums cover a pseudo-header; the kernel fills them in for
     * raw and datagram ICMPv6 sockets (RFC 3542 §3.1), so it stays 0. */
    if (family == AF_INET)
        cp_put_be16(buf + 2, cp_inet_checksum(buf, total, 0));
    *out_len = total;
    return 0;
}

/*
 * The header policy of echo parsing: strict. An echo reply answers a packet
 * we sent whole, so nothing about its header needs forgiving: the total /
 * payload length must cover the header and fit in the buffer (bytes after it
 * are link padding and are dropped), a fragment is malformed because it
 * cannot be checked on its own, and IPv6 extension headers are not walked
 * (echo traffic carries none, so next header must be 58 directly).
 */
static const cp_ip_policy echo_ip_policy = {
    .strict_length = 1,
    .ipv6_zero_length_unstated = 0,
    .fragment_result = -EBADMSG,
    .walk_ipv6_extensions = 0,
};

/* Validates the IP header and narrows *icmp / *icmp_len to the ICMP message
 * it carries. Well-formed but not ICMP: "not ours" (-ENOMSG) rather than
 * malformed. */
static int parse_ip_header(int family, const uint8_t *buf, size_t len, cp_echo_info *info,
                           const uint8_t **icmp, size_t *icmp_len)
{
    cp_ip_header h;
    int rc = cp_ip_parse(buf, len, family, &echo_ip_policy, &h);
    if (rc != 0)
        return rc;
    if (h.proto != (family == AF_INET ? IPPROTO_ICMP_NUMBER : IPPROTO_ICMPV6_NUMBER))
        return -ENOMSG;
    info->ttl = h.ttl;
    info->src = h.src;
    info->dst = h.dst;
    *icmp = buf + h.l4_off;
    *icmp_len = h.end - h.l4_off;
    return 0;
}

static int parse_echo(int family, int with_ip_header, const uint8_t *buf, size_t len,
                      const cp_addr *v6_src, const cp_addr *v6_dst, int require_magic,
                      cp_echo_info *info)
{
    const uint8_t *icmp = buf;
    size_t icmp_len = len;
    int rc;

    info->family = family;
    info->has_ip_header = with_ip_header ? 1 : 0;
    if (with_ip_header) {
        rc = parse_ip_header(family, buf, len, info, &icmp, &icmp_len);
        if (rc != 0)
            return rc;
    }
    if (icmp_len < ICMP_HEADER_LEN)
        return -EBADMSG;

    if (family == AF_INET) {
        if (cp_inet_checksum(icmp, icmp_len, 0) != 0)
            return -EBADMSG;
    } else if (with_ip_header) {
        if (cp_icmp6_checksum(&info->src, &info->dst, icmp, icmp_len) != 0)
            return -EBADMSG;
    } else if (v6_src != NULL && v6_dst != NULL) {
        if (cp_icmp6_checksum(v6_src, v6_dst, icmp, icmp_len) != 0)
            return -EBADMSG;
    }

    uint8_t type = icmp[0];
    int is_echo = family == AF_INET
        ? (type == CP_ICMP4_ECHO_REQUEST || type == CP_ICMP4_ECHO_REPLY)
        : (type == CP_ICMP6_ECHO_REQUEST || type == CP_ICMP6_ECHO_REPLY);
    if (!is_echo || icmp[1] != 0)
        return -ENOMSG;

    const uint8_t *payload = icmp + ICMP_HEADER_LEN;
    size_t payload_len = icmp_len - ICMP_HEADER_LEN;
    int ours = payload_len >= CP_ECHO_MIN_PAYLOAD && cp_be32(payload) == CP_ECHO_MAGIC;
    if (require_magic && !ours)
        return -ENOMSG;

    info->type = type;
    info->ident = cp_be16(icmp + 4);
    info->seq = cp_be16(icmp + 6);
    info->has_magic = ours;
    info->token = ours ? cp_be64(payload + CP_ECHO_TOKEN_OFFSET) : 0;
    info->payload_len = payload_len;
    return 0;
}

static int parse_checked(int family, int with_ip_header, const uint8_t *buf, size_t len,
                         const cp_addr *v6_src, const cp_addr *v6_dst, int require_magic,
                         cp_echo_info *out)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (family != AF_INET && family != AF_INET6)
        return -EINVAL;
    if (buf == NULL && len != 0)
        return -EINVAL;
    if (buf == NULL)
        return -EBADMSG;

    cp_echo_info info;
    memset(&info, 0, sizeof info);
    int rc = parse_echo(family, with_ip_header, buf, len, v6_src, v6_dst, require_magic, &info);
    if (rc == 0)
        *out = info; /* on failure *out stays zeroed: no half-parsed fields */
    return rc;
}

int cp_echo_parse(int family, int with_ip_header, const uint8_t *buf, size_t len,
                  const cp_addr *v6_src, const cp_addr *v6_dst, cp_echo_info *out)
{
    return parse_checked(family, with_ip_header, buf, len, v6_src, v6_dst, 1, out);
}

int cp_echo_parse_any(int family, int with_ip_header, const uint8_t *buf, size_t len,
                      const cp_addr *v6_src, const cp_addr *v6_dst, cp_echo_info *out)
{
    return parse_checked(family, with_ip_header, buf, len, v6_src, v6_dst, 0, out);
}
