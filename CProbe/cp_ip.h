/*
 * cp_ip.h — the one IPv4 / IPv6 header parser of CProbe (ip_parse.c); not
 * part of the API.
 *
 * Every caller reads IP headers from the network through it, and says with a
 * cp_ip_policy what a header must satisfy, because callers rightly differ:
 * a live echo reply can be held to every rule (echo.c), the outer header of
 * an ICMP error or TCP answer is taken as leniently as routers and capture
 * paths make necessary, and a quoted packet more leniently still
 * (trace_parse.c). Each caller documents its policy where it defines it.
 *
 * Always checked, whatever the policy: the buffer holds the fixed header
 * (IPv4 20 bytes, IPv6 40), the version nibble, and for IPv4 an IHL of at
 * least 5 words that fits in the buffer (RFC 791 §3.1, RFC 8200 §3).
 */
#ifndef CP_IP_H
#define CP_IP_H

#include "cp_internal.h"

/* What a header must satisfy beyond the checks above. */
typedef struct cp_ip_policy {
    /* The claimed length (IPv4 total length; IPv6 40 + payload length) must
     * cover the header and fit in the buffer, else -EBADMSG. When 0, a claimed
     * length outside that range is ignored and the packet runs to the end of
     * the buffer. */
    int strict_length;
    /* With strict_length 0: an IPv6 payload length of 0 says nothing (a
     * jumbogram's, RFC 2675 §3; some capture paths) and the packet runs to the
     * end of the buffer. When 0, it claims an empty payload like any other
     * value. */
    int ipv6_zero_length_unstated;
    /* What an IPv4 fragment (More Fragments set or a non-zero offset, RFC 791)
     * returns: -EBADMSG, -ENOMSG, or 0 to parse it (is_fragment and
     * later_fragment then say which it is). */
    int fragment_result;
    /* Skip IPv6 hop-by-hop, routing and destination options headers (RFC 8200
     * §4.3-4.6, at most 8) to reach the upper-layer protocol; a malformed one
     * is -EBADMSG. When 0, proto is the fixed header's next header. */
    int walk_ipv6_extensions;
} cp_ip_policy;

/* What the parser read. Addresses are loaded with cp_addr_load. */
typedef struct cp_ip_header {
    int family;            /* AF_INET / AF_INET6 */
    cp_addr src, dst;
    uint8_t ttl;           /* TTL / hop limit */
    uint8_t tos;           /* IPv4 TOS / IPv6 traffic class */
    uint16_t ip_id;        /* IPv4 identification; 0 for IPv6 */
    uint32_t flow_label;   /* IPv6 flow label; 0 for IPv4 */
    uint32_t claimed_len;  /* IPv4 total length, IPv6 40 + payload length: untrusted */
    int is_fragment;       /* IPv4: More Fragments or a fragment offset */
    int later_fragment;    /* IPv4: a fragment offset, so no upper-layer header */
    uint8_t proto;         /* upper-layer protocol (after walked extension headers) */
    size_t header_len;     /* IPv4 IHL * 4 (options included), IPv6 40 */
    size_t l4_off;         /* where the upper-layer message starts */
    size_t end;            /* where the packet ends in the buffer (<= len) */
} cp_ip_header;

/*
 * Parses the IP header at buf[0..len). family: AF_INET or AF_INET6 demands
 * that version, 0 takes it from the version nibble. Returns 0 with *h filled,
 * -EBADMSG (malformed under the policy; also a version other than the one
 * asked for), or policy->fragment_result for a fragment. On failure *h is
 * zeroed. The upper-layer message is buf[l4_off .. end).
 */
int cp_ip_parse(const uint8_t *buf, size_t len, int family, const cp_ip_policy *policy,
                cp_ip_header *h);

#endif /* CP_IP_H */
