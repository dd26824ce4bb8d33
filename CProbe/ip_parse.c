/*
 * ip_parse.c — the one IPv4 / IPv6 header parser (see cp_ip.h): what is
 * always checked is checked here, what differs between callers is a
 * cp_ip_policy they pass in.
 */
#include "cp_ip.h"

#include <errno.h>
#include <sys/socket.h>

#define IPV4_MIN_HEADER_LEN 20
#define IPV6_HEADER_LEN 40
/* IPv6 extension headers with the generic (next header, length) layout
 * (RFC 8200 §4.3-4.6). A fragment header (44) ends the walk like any other
 * protocol: the caller then finds no upper layer it knows. */
#define IPV6_HOP_BY_HOP 0
#define IPV6_ROUTING 43
#define IPV6_DEST_OPTS 60
#define IPV6_MAX_EXT_HEADERS 8

/* Where the packet ends: at its claimed length when that is consistent with
 * the header and the buffer; otherwise strictly an error, leniently the end
 * of the buffer. Returns the end, or 0 for -EBADMSG. */
static size_t packet_end(const cp_ip_header *h, size_t len, int zero_unstated,
                         const cp_ip_policy *policy)
{
    int consistent = h->claimed_len >= h->header_len && h->claimed_len <= len;
    if (policy->strict_length)
        return consistent ? h->claimed_len : 0;
    if (!consistent || (zero_unstated && policy->ipv6_zero_length_unstated))
        return len;
    return h->claimed_len;
}

static int parse_ipv4(const uint8_t *buf, size_t len, const cp_ip_policy *policy, cp_ip_header *h)
{
    if (len < IPV4_MIN_HEADER_LEN)
        return -EBADMSG;
    h->header_len = (size_t)(buf[0] & 0x0fu) * 4;
    if (h->header_len < IPV4_MIN_HEADER_LEN || h->header_len > len)
        return -EBADMSG;
    h->tos = buf[1];
    h->claimed_len = cp_be16(buf + 2);
    h->ip_id = cp_be16(buf + 4);
    h->end = packet_end(h, len, 0, policy);
    if (h->end == 0)
        return -EBADMSG;
    uint16_t fragment = cp_be16(buf + 6);
    h->is_fragment = (fragment & 0x3fffu) != 0;   /* MF or fragment offset */
    h->later_fragment = (fragment & 0x1fffu) != 0; /* fragment offset */
    if (h->is_fragment && policy->fragment_result != 0)
        return policy->fragment_result;
    h->ttl = buf[8];
    h->proto = buf[9];
    cp_addr_load(&h->src, AF_INET, buf + 12, 0);
    cp_addr_load(&h->dst, AF_INET, buf + 16, 0);
    h->l4_off = h->header_len;
    return 0;
}

static int parse_ipv6(const uint8_t *buf, size_t len, const cp_ip_policy *policy, cp_ip_header *h)
{
    if (len < IPV6_HEADER_LEN)
        return -EBADMSG;
    uint32_t first = cp_be32(buf);
    h->tos = (uint8_t)(first >> 20);
    h->flow_label = first & 0xfffffu;
    h->header_len = IPV6_HEADER_LEN;
    uint16_t payload_len = cp_be16(buf + 4);
    h->claimed_len = IPV6_HEADER_LEN + (uint32_t)payload_len;
    h->end = packet_end(h, len, payload_len == 0, policy);
    if (h->end == 0)
        return -EBADMSG;
    h->ttl = buf[7];
    cp_addr_load(&h->src, AF_INET6, buf + 8, 0);
    cp_addr_load(&h->dst, AF_INET6, buf + 24, 0);

    uint8_t next = buf[6];
    size_t off = IPV6_HEADER_LEN;
    for (int i = 0; policy->walk_ipv6_extensions && i < IPV6_MAX_EXT_HEADERS; i++) {
        if (next != IPV6_HOP_BY_HOP && next != IPV6_ROUTING && next != IPV6_DEST_OPTS)
            break;
        if (h->end - off < 2)
            return -EBADMSG;
        size_t ext_len = ((size_t)buf[off + 1] + 1) * 8; /* RFC 8200 §4.3 */
        if (ext_len > h->end - off)
            return -EBADMSG;
        next = buf[off];
        off += ext_len;
    }
    h->proto = next;
    h->l4_off = off;
    return 0;
}

int cp_ip_parse(const uint8_t *buf, size_t len, int family, const cp_ip_policy *policy,
                cp_ip_header *h)
{
    memset(h, 0, sizeof *h);
    if (buf == NULL || len < 1)
        return -EBADMSG;
    int version = buf[0] >> 4;
    int found = version == 4 ? AF_INET : version == 6 ? AF_INET6 : 0;
    if (found == 0 || (family != 0 && family != found))
        return -EBADMSG;
    cp_ip_header parsed;
    memset(&parsed, 0, sizeof parsed);
    parsed.family = found;
    int rc = found == AF_INET ? parse_ipv4(buf, len, policy, &parsed)
                              : parse_ipv6(buf, len, policy, &parsed);
    if (rc == 0)
        *h = parsed; /* on failure *h stays zeroed: no half-read header */
    return rc;
}
