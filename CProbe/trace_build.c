/*
 * trace_build.c — Paris traceroute probes: UDP payloads that force the UDP
 * checksum, ICMP echo requests with a constant checksum, TCP SYNs.
 *
 * Forcing a checksum (Paris traceroute, scamper): the Internet checksum is the
 * one's complement of the one's-complement sum of 16-bit words (RFC 1071). If
 * the packet with a zero adjustment word has checksum X = ~S, adding the word
 * W = ~T +' X (one's-complement addition) makes the sum S +' W = ~T, so the
 * checksum becomes T. The adjustment word sits at an even offset of the
 * segment, so it is one 16-bit word of the sum.
 */
#include "cp_internal.h"
#include "cprobe_trace.h"

#include <errno.h>
#include <sys/socket.h>

#define UDP_HEADER_LEN 8
#define ICMP_HEADER_LEN 8
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define TCP_WINDOW 64240
/* MSS for a 1500-byte MTU: 1500 - 20 - 20 (IPv4), 1500 - 40 - 20 (IPv6). */
#define TCP_MSS_V4 1460
#define TCP_MSS_V6 1440

uint16_t cp_trace_udp_checksum_for(uint16_t probe_id)
{
    if (probe_id > CP_TRACE_UDP_MAX_PROBE_ID)
        return 0;
    return (uint16_t)(probe_id + 1);
}

int cp_trace_udp_probe_id_from_checksum(uint16_t checksum, uint16_t *probe_id_out)
{
    if (probe_id_out == NULL || checksum == 0x0000 || checksum == 0xffff)
        return -EINVAL;
    *probe_id_out = (uint16_t)(checksum - 1);
    return 0;
}

/* The sum of the pseudo-header words: RFC 768 / RFC 9293 §3.1 for IPv4
 * (addresses, zero, protocol, 16-bit length), RFC 8200 §8.1 for IPv6
 * (addresses, 32-bit length, three zero bytes, next header). The two layouts
 * sum to the same formula once the length is split into 16-bit halves. */
uint32_t cp_pseudo_header_sum(const cp_addr *src, const cp_addr *dst, uint8_t proto, size_t len)
{
    size_t addr_len = src->family == AF_INET6 ? 16 : 4;
    uint32_t sum = 0;
    for (size_t i = 0; i < addr_len; i += 2) {
        sum += cp_be16(src->bytes + i);
        sum += cp_be16(dst->bytes + i);
    }
    sum += (uint32_t)((len >> 16) & 0xffffu) + (uint32_t)(len & 0xffffu);
    sum += proto;
    return sum;
}

uint16_t cp_trace_l4_checksum(const cp_addr *src, const cp_addr *dst, uint8_t proto,
                              const uint8_t *seg, size_t len)
{
    if (src == NULL || dst == NULL)
        return cp_inet_checksum(seg, len, 0);
    return cp_inet_checksum(seg, len, cp_pseudo_header_sum(src, dst, proto, len));
}

static uint16_t ones_add(uint16_t a, uint16_t b)
{
    uint32_t s = (uint32_t)a + b;
    return (uint16_t)((s & 0xffffu) + (s >> 16));
}

/* Writes the adjustment word that turns checksum `current` (computed with the
 * word zero) into `target`; see the comment at the top. */
static void force_checksum(uint8_t *adjust, uint16_t current, uint16_t target)
{
    cp_put_be16(adjust, ones_add((uint16_t)~target, current));
}

static int family_addrs_ok(int family, const cp_addr *src, const cp_addr *dst)
{
    return (family == AF_INET || family == AF_INET6) && src != NULL && dst != NULL &&
           src->family == family && dst->family == family;
}

/* Magic, probe id and a zero adjustment word, then zero fill. Zero fill also
 * keeps our payload from looking like an RFC 4884 extension header (version
 * 2) where a legacy router quotes 128 bytes. */
static void write_payload(uint8_t *payload, size_t len, uint16_t probe_id)
{
    memset(payload, 0, len);
    cp_put_be32(payload, CP_TRACE_MAGIC);
    cp_put_be16(payload + CP_TRACE_PAYLOAD_ID_OFFSET, probe_id);
}

int cp_trace_build_udp(int family, const cp_addr *src, const cp_addr *dst,
                       uint16_t sport, uint16_t dport, uint16_t probe_id,
                       size_t payload_len, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (!family_addrs_ok(family, src, dst) || buf == NULL || out_len == NULL)
        return -EINVAL;
    if (payload_len < CP_TRACE_MIN_PAYLOAD || payload_len > CP_TRACE_MAX_PAYLOAD ||
        probe_id > CP_TRACE_UDP_MAX_PROBE_ID)
        return -EINVAL;
    if (cap < payload_len)
        return -ENOSPC;

    write_payload(buf, payload_len, probe_id);
    /* The kernel sums the pseudo-header, the UDP header with a zero checksum
     * field (RFC 768) and the payload; we do the same for the header here. */
    size_t udp_len = UDP_HEADER_LEN + payload_len;
    uint32_t sum = cp_pseudo_header_sum(src, dst, PROTO_UDP, udp_len);
    sum += (uint32_t)sport + dport + (uint32_t)udp_len;
    uint16_t current = cp_inet_checksum(buf, payload_len, sum);
    force_checksum(buf + CP_TRACE_PAYLOAD_ADJUST_OFFSET, current,
                   cp_trace_udp_checksum_for(probe_id));
    *out_len = payload_len;
    return 0;
}

int cp_trace_build_udp_datagram(int family, const cp_addr *src, const cp_addr *dst,
                                uint16_t sport, uint16_t dport, uint16_t probe_id,
                                size_t payload_len, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (buf == NULL || out_len == NULL)
        return -EINVAL;
    if (cap < UDP_HEADER_LEN)
        return -ENOSPC;
    size_t payload_out = 0;
    int rc = cp_trace_build_udp(family, src, dst, sport, dport, probe_id, payload_len,
                                buf + UDP_HEADER_LEN, cap - UDP_HEADER_LEN, &payload_out);
    if (rc != 0)
        return rc;
    /* The payload makes the sum over this header with a zero checksum field come out
     * at the probe's checksum: writing that value makes the datagram's sum complete. */
    cp_put_be16(buf, sport);
    cp_put_be16(buf + 2, dport);
    cp_put_be16(buf + 4, (uint16_t)(UDP_HEADER_LEN + payload_out));
    cp_put_be16(buf + 6, cp_trace_udp_checksum_for(probe_id));
    *out_len = UDP_HEADER_LEN + payload_out;
    return 0;
}

int cp_trace_build_icmp_echo(int family, const cp_addr *src, const cp_addr *dst,
                             uint16_t ident, uint16_t probe_id, uint16_t fixed_checksum,
                             size_t payload_len, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (family == AF_INET6) {
        if (!family_addrs_ok(family, src, dst))
            return -EINVAL;
    } else if (family != AF_INET) {
        return -EINVAL;
    }
    if (buf == NULL || out_len == NULL)
        return -EINVAL;
    if (payload_len < CP_TRACE_MIN_PAYLOAD || payload_len > CP_TRACE_MAX_PAYLOAD)
        return -EINVAL;
    /* 0x0000 and 0xFFFF are both one's-complement zero: the kernel would
     * emit 0x0000 for an ICMPv6 sum that we forced towards 0xFFFF. */
    if (fixed_checksum == 0x0000 || fixed_checksum == 0xffff)
        return -EINVAL;
    size_t total = ICMP_HEADER_LEN + payload_len;
    if (cap < total)
        return -ENOSPC;

    buf[0] = family == AF_INET ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST;
    buf[1] = 0;
    cp_put_be16(buf + 2, 0);
    cp_put_be16(buf + 4, ident);
    cp_put_be16(buf + 6, probe_id);
    write_payload(buf + ICMP_HEADER_LEN, payload_len, probe_id);

    /* ICMPv4 sums the message alone (RFC 792); ICMPv6 includes the
     * pseudo-header (RFC 4443 §2.3), as the kernel will when it fills in the
     * field on output. */
    uint16_t current = family == AF_INET ? cp_inet_checksum(buf, total, 0)
                                         : cp_trace_l4_checksum(src, dst, PROTO_ICMPV6, buf, total);
    force_checksum(buf + ICMP_HEADER_LEN + CP_TRACE_PAYLOAD_ADJUST_OFFSET, current,
                   fixed_checksum);
    cp_put_be16(buf + 2, fixed_checksum);
    *out_len = total;
    return 0;
}

int cp_trace_build_tcp_syn(int family, const cp_addr *src, const cp_addr *dst,
                           uint16_t sport, uint16_t dport, uint32_t seq,
                           uint8_t *buf, size_t cap, size_t *out_len)
{
    if (!family_addrs_ok(family, src, dst) || buf == NULL || out_len == NULL)
        return -EINVAL;
    if (cap < CP_TRACE_TCP_SYN_LEN)
        return -ENOSPC;

    /* RFC 9293 §3.1 header; data offset 6 words = 20 + one 4-byte option. */
    cp_put_be16(buf, sport);
    cp_put_be16(buf + 2, dport);
    cp_put_be32(buf + 4, seq);
    cp_put_be32(buf + 8, 0);                    /* acknowledgment number */
    buf[12] = (uint8_t)((CP_TRACE_TCP_SYN_LEN / 4) << 4);
    buf[13] = CP_TRACE_TCP_SYN;
    cp_put_be16(buf + 14, TCP_WINDOW);
    cp_put_be16(buf + 16, 0);                   /* checksum, below */
    cp_put_be16(buf + 18, 0);                   /* urgent pointer */
    /* MSS option (RFC 9293 §3.2, kind 2, length 4): middleboxes drop SYNs
     * without one more often than SYNs with one. */
    buf[20] = 2;
    buf[21] = 4;
    cp_put_be16(buf + 22, family == AF_INET ? TCP_MSS_V4 : TCP_MSS_V6);
    cp_put_be16(buf + 16, cp_trace_l4_checksum(src, dst, PROTO_TCP, buf, CP_TRACE_TCP_SYN_LEN));
    *out_len = CP_TRACE_TCP_SYN_LEN;
    return 0;
}
