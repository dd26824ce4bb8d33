/*
 * trace_parse.c — strict parsing of what comes back to a traceroute: ICMP and
 * ICMPv6 errors with their quoted packet and RFC 4884 / RFC 4950 extensions,
 * echo replies, and TCP answers from the destination.
 *
 * Everything here is untrusted, the quoted packet most of all: routers
 * truncate it, pad it, byte-swap its length, and anyone can forge one. Every
 * read is preceded by a length check, and a quote whose own IP header does
 * not hold together is reported as no quote at all, so that the caller never
 * attributes it to a probe.
 */
#include "cp_ip.h"
#include "cprobe_trace.h"

#include <errno.h>
#include <sys/socket.h>

#define ICMP_HEADER_LEN 8
#define TCP_MIN_HEADER_LEN 20
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
/* RFC 4884 §4.1/§5: the original datagram field is at least 128 octets when
 * extensions follow; legacy (pre-4884) senders put them right there. */
#define RFC4884_MIN_ORIGINAL 128
#define EXT_HEADER_LEN 4
#define EXT_OBJECT_HEADER_LEN 4
#define MPLS_CLASS_NUM 1   /* RFC 4950 §7 */
#define MPLS_CTYPE_INCOMING 1

/*
 * The policy for the outer IP header of a received packet (an ICMP error,
 * an echo reply or a TCP answer): lenient about length. The packet is
 * trimmed to its claimed length when that is consistent; otherwise the
 * buffer length is used (a truncated capture then fails the checksum;
 * BSD-style raw sockets alter ip_len), and an IPv6 payload length of 0 is
 * taken as unstated. A fragment is -ENOMSG, not ours rather than malformed:
 * raw sockets deliver reassembled packets, so only a capture sees one, and
 * its upper-layer header is incomplete or absent. IPv6 hop-by-hop, routing
 * and destination options headers before ICMPv6 / TCP are skipped.
 */
static const cp_ip_policy outer_ip_policy = {
    .strict_length = 0,
    .ipv6_zero_length_unstated = 1,
    .fragment_result = -ENOMSG,
    .walk_ipv6_extensions = 1,
};

/*
 * The policy for a quoted packet (and a captured probe, cp_trace_parse_probe):
 * the most lenient, because routers truncate quotes, pad them (RFC 4884 zero
 * fill) and byte-swap their length. A claimed length is used only when it is
 * plausible (covers the header, within what is present); a payload length of
 * 0 is taken at its word (the quote then holds no transport bytes). Fragments
 * are parsed and reported (is_fragment); extension headers are not walked:
 * our probes carry none (RFC 8200 §4), so an extension header number in next
 * header means "not one of ours".
 */
static const cp_ip_policy quote_ip_policy = {
    .strict_length = 0,
    .ipv6_zero_length_unstated = 0,
    .fragment_result = 0,
    .walk_ipv6_extensions = 0,
};

/* The upper-layer message of a received packet, and the addresses its
 * checksum covers when they are known. */
typedef struct received {
    int has_outer;
    cp_ip_header outer;      /* valid when has_outer */
    const uint8_t *l4;
    size_t l4_len;
    int has_addrs;
    cp_addr src, dst;
} received;

/*
 * With the IP header: parses it and requires protocol proto (-ENOMSG
 * otherwise). Without: the whole buffer is the message, and the IPv6
 * addresses come from the caller (IPv6 raw sockets report them through
 * recvmsg). Returns 0, -EBADMSG or -ENOMSG.
 */
static int locate_upper_layer(int family, int with_ip_header, const uint8_t *buf, size_t len,
                              uint8_t proto, const cp_addr *v6_src, const cp_addr *v6_dst,
                              received *rx)
{
    memset(rx, 0, sizeof *rx);
    rx->l4 = buf;
    rx->l4_len = len;
    if (with_ip_header) {
        int rc = cp_ip_parse(buf, len, family, &outer_ip_policy, &rx->outer);
        if (rc < 0)
            return rc;
        if (rx->outer.proto != proto)
            return -ENOMSG;
        rx->has_outer = 1;
        rx->l4 = buf + rx->outer.l4_off;
        rx->l4_len = rx->outer.end - rx->outer.l4_off;
        rx->has_addrs = 1;
        rx->src = rx->outer.src;
        rx->dst = rx->outer.dst;
    } else if (family == AF_INET6 && v6_src != NULL && v6_dst != NULL &&
               v6_src->family == AF_INET6 && v6_dst->family == AF_INET6) {
        rx->has_addrs = 1;
        rx->src = *v6_src;
        rx->dst = *v6_dst;
    }
    return 0;
}

/* Reads "ISPT" + probe id at the start of a probe payload, when present. */
static void read_payload_id(const uint8_t *payload, size_t len, cp_trace_packet *p)
{
    if (len >= CP_TRACE_PAYLOAD_ID_OFFSET + 2 && cp_be32(payload) == CP_TRACE_MAGIC) {
        p->has_probe_id = 1;
        p->probe_id = cp_be16(payload + CP_TRACE_PAYLOAD_ID_OFFSET);
    }
}

/*
 * Parses an IP packet and the first transport bytes: a quote or a captured
 * probe. expect_family 0 accepts either version. Returns 0, or -EBADMSG when
 * the IP header is inconsistent (then *p says nothing).
 */
static int parse_packet(const uint8_t *buf, size_t len, int expect_family, cp_trace_packet *p)
{
    memset(p, 0, sizeof *p);
    cp_ip_header h;
    if (cp_ip_parse(buf, len, expect_family, &quote_ip_policy, &h) != 0)
        return -EBADMSG;
    int family = h.family;
    size_t hlen = h.header_len;
    p->family = family;
    p->src = h.src;
    p->dst = h.dst;
    p->proto = h.proto;
    p->ttl = h.ttl;
    p->tos = h.tos;
    p->ip_id = h.ip_id;
    p->flow_label = h.flow_label;
    p->is_fragment = h.is_fragment;
    p->total_len = h.claimed_len;
    p->header_len = hlen;
    p->quoted_len = len;

    /* Bytes past a plausible claimed length are padding, not transport
     * header (quote_ip_policy). A later fragment carries no transport header;
     * in IPv6 an extension header number in next header means the same for
     * us. */
    if (h.later_fragment)
        return 0;
    size_t limit = h.end;
    const uint8_t *t = buf + hlen;
    size_t tlen = limit - hlen;
    p->transport_checksum_state = CP_TRACE_CHECKSUM_UNCHECKED;

    switch (p->proto) {
    case PROTO_UDP: /* RFC 768 */
        if (tlen >= 4) {
            p->sport = cp_be16(t);
            p->dport = cp_be16(t + 2);
            p->has_ports = 1;
        }
        if (tlen >= 8) {
            p->udp_length = cp_be16(t + 4);
            p->udp_checksum = cp_be16(t + 6);
            p->has_transport = 1;
            read_payload_id(t + 8, tlen - 8, p);
            /* The whole datagram quoted (Linux quotes up to 576 bytes): its checksum
             * can be checked against the quote's own addresses (RFC 768). */
            if (p->udp_checksum != 0 && p->udp_length >= 8 && p->udp_length <= tlen &&
                !p->is_fragment)
                p->transport_checksum_state =
                    cp_trace_l4_checksum(&p->src, &p->dst, PROTO_UDP, t, p->udp_length) == 0
                        ? CP_TRACE_CHECKSUM_CORRECT : CP_TRACE_CHECKSUM_WRONG;
        }
        break;
    case PROTO_TCP: /* RFC 9293 §3.1: the sequence number is in bytes 4..7 */
        if (tlen >= 4) {
            p->sport = cp_be16(t);
            p->dport = cp_be16(t + 2);
            p->has_ports = 1;
        }
        if (tlen >= 8) {
            p->tcp_seq = cp_be32(t + 4);
            p->has_transport = 1;
        }
        break;
    case PROTO_ICMP:
    case PROTO_ICMPV6:
        if ((p->proto == PROTO_ICMP) != (family == AF_INET))
            break;
        if (tlen >= ICMP_HEADER_LEN) {
            p->icmp_type = t[0];
            p->icmp_code = t[1];
            p->icmp_checksum = cp_be16(t + 2);
            p->icmp_ident = cp_be16(t + 4);
            p->icmp_seq = cp_be16(t + 6);
            p->has_transport = 1;
            if (t[0] == (family == AF_INET ? CP_ICMP4_ECHO_REQUEST : CP_ICMP6_ECHO_REQUEST))
                read_payload_id(t + ICMP_HEADER_LEN, tlen - ICMP_HEADER_LEN, p);
        }
        break;
    default:
        break;
    }
    return 0;
}

int cp_trace_parse_probe(const uint8_t *buf, size_t len, cp_trace_packet *out)
{
    if (out == NULL || (buf == NULL && len > 0))
        return -EINVAL;
    return parse_packet(buf, len, 0, out);
}

/*
 * Parses an RFC 4884 §7-8 extension structure: a version-2 header with an
 * optional checksum, then objects of (length, class-num, c-type, payload).
 * strict (the legacy offset-128 guess) demands a non-zero checksum that
 * verifies, so that ordinary quoted bytes are not mistaken for a structure.
 * Fills out->mpls* only when the whole structure is consistent; 0 or -1.
 */
static int parse_extensions(const uint8_t *e, size_t len, int strict, cp_trace_reply *out)
{
    if (len < EXT_HEADER_LEN || (e[0] >> 4) != 2)
        return -1;
    if (cp_be16(e + 2) == 0) {
        if (strict)
            return -1;
    } else if (cp_inet_checksum(e, len, 0) != 0) {
        return -1;
    }

    cp_trace_mpls_entry mpls[CP_TRACE_MAX_MPLS];
    int count = 0, truncated = 0;
    size_t off = EXT_HEADER_LEN;
    while (off < len) {
        if (len - off < EXT_OBJECT_HEADER_LEN)
            return -1;
        size_t obj_len = cp_be16(e + off);
        if (obj_len < EXT_OBJECT_HEADER_LEN || obj_len > len - off)
            return -1;
        if (e[off + 2] == MPLS_CLASS_NUM && e[off + 3] == MPLS_CTYPE_INCOMING) {
            /* RFC 4950 §7: one 4-byte label stack entry per label (RFC 3032
             * §2.1: label 20 bits, TC 3, S 1, TTL 8). */
            size_t payload = obj_len - EXT_OBJECT_HEADER_LEN;
            if (payload == 0 || payload % 4 != 0)
                return -1;
            for (size_t i = EXT_OBJECT_HEADER_LEN; i < obj_len; i += 4) {
                if (count == CP_TRACE_MAX_MPLS) {
                    truncated = 1;
                    break;
                }
                uint32_t entry = cp_be32(e + off + i);
                mpls[count].label = entry >> 12;
                mpls[count].tc = (uint8_t)((entry >> 9) & 0x7);
                mpls[count].s = (uint8_t)((entry >> 8) & 0x1);
                mpls[count].ttl = (uint8_t)entry;
                count++;
            }
        }
        /* Other objects (RFC 5837 interface information, ...) are skipped. */
        off += obj_len;
    }
    memcpy(out->mpls, mpls, sizeof(mpls[0]) * (size_t)count);
    out->mpls_count = count;
    out->mpls_truncated = truncated;
    return 0;
}

/*
 * Finds where the original datagram ends inside the error's body (the bytes
 * after the 8-byte ICMP header) and parses any extension structure after it.
 * attr_len: the RFC 4884 length attribute in bytes (0 = none). Returns the
 * length of the original datagram field.
 */
static size_t split_original(const uint8_t *body, size_t body_len, size_t attr_len,
                             cp_trace_reply *out)
{
    if (attr_len != 0) {
        /* A length attribute pointing past the end is not RFC 4884: take the
         * whole body as the original datagram and look for nothing else. */
        if (attr_len > body_len)
            return body_len;
        if (attr_len == body_len)
            return body_len;
        if (parse_extensions(body + attr_len, body_len - attr_len, 0, out) == 0) {
            out->ext_state = CP_TRACE_EXT_COMPLIANT;
            return attr_len;
        }
        out->ext_state = CP_TRACE_EXT_IGNORED;
        /* RFC 4884 §4.1 requires at least 128 octets before extensions. A
         * shorter attribute followed by no valid structure is more likely junk
         * in what used to be an unused field: keep the whole body. */
        return attr_len >= RFC4884_MIN_ORIGINAL ? attr_len : body_len;
    }
    /* RFC 4884 §5: non-compliant senders append extensions after exactly 128
     * octets and leave the length 0; accept only a verifying structure. */
    if (body_len >= RFC4884_MIN_ORIGINAL + EXT_HEADER_LEN &&
        parse_extensions(body + RFC4884_MIN_ORIGINAL, body_len - RFC4884_MIN_ORIGINAL, 1,
                         out) == 0) {
        out->ext_state = CP_TRACE_EXT_NONCOMPLIANT;
        return RFC4884_MIN_ORIGINAL;
    }
    return body_len;
}

/* Maps (family, type) to a CP_TRACE_* kind; 0 for types we do not handle. */
static int icmp_kind(int family, uint8_t type)
{
    if (family == AF_INET) {
        switch (type) {
        case 0: return CP_TRACE_ECHO_REPLY;      /* RFC 792 */
        case 3: return CP_TRACE_UNREACHABLE;
        case 11: return CP_TRACE_TIME_EXCEEDED;
        case 12: return CP_TRACE_PARAM_PROBLEM;
        default: return 0;
        }
    }
    switch (type) {
    case 1: return CP_TRACE_UNREACHABLE;         /* RFC 4443 §3.1 */
    case 2: return CP_TRACE_PACKET_TOO_BIG;      /* §3.2 */
    case 3: return CP_TRACE_TIME_EXCEEDED;       /* §3.3 */
    case 4: return CP_TRACE_PARAM_PROBLEM;       /* §3.4 */
    case 129: return CP_TRACE_ECHO_REPLY;        /* §4.2 */
    default: return 0;
    }
}

int cp_trace_parse_icmp(int family, int with_ip_header, const uint8_t *buf, size_t len,
                        const cp_addr *v6_src, const cp_addr *v6_dst, cp_trace_reply *out)
{
    if (out == NULL || (buf == NULL && len > 0) || (family != AF_INET && family != AF_INET6))
        return -EINVAL;
    memset(out, 0, sizeof *out);
    out->family = family;

    received rx;
    int rc = locate_upper_layer(family, with_ip_header, buf, len,
                                family == AF_INET ? PROTO_ICMP : PROTO_ICMPV6, v6_src, v6_dst, &rx);
    if (rc < 0)
        return rc;
    if (rx.has_outer) {
        out->has_outer = 1;
        out->outer_src = rx.outer.src;
        out->outer_dst = rx.outer.dst;
        out->outer_ttl = rx.outer.ttl;
    }
    const uint8_t *icmp = rx.l4;
    size_t icmp_len = rx.l4_len;

    if (icmp_len < ICMP_HEADER_LEN)
        return -EBADMSG;
    out->icmp_type = icmp[0];
    out->icmp_code = icmp[1];
    out->icmp_len = icmp_len;
    out->kind = icmp_kind(family, icmp[0]);
    if (out->kind == 0)
        return -ENOMSG;

    /* The kernel hands raw IPv4 sockets every ICMP message before checking
     * it; ICMPv6 is checked before raw delivery, but captures are not. */
    if (family == AF_INET) {
        if (cp_inet_checksum(icmp, icmp_len, 0) != 0)
            return -EBADMSG;
        out->checksum_verified = 1;
    } else if (rx.has_addrs) {
        if (cp_icmp6_checksum(&rx.src, &rx.dst, icmp, icmp_len) != 0)
            return -EBADMSG;
        out->checksum_verified = 1;
    }

    if (out->kind == CP_TRACE_ECHO_REPLY) {
        out->echo_checksum = cp_be16(icmp + 2);
        out->echo_ident = cp_be16(icmp + 4);
        out->echo_seq = cp_be16(icmp + 6);
        const uint8_t *payload = icmp + ICMP_HEADER_LEN;
        out->echo_payload_len = icmp_len - ICMP_HEADER_LEN;
        cp_trace_packet tmp;
        memset(&tmp, 0, sizeof tmp);
        read_payload_id(payload, out->echo_payload_len, &tmp);
        out->echo_has_magic = tmp.has_probe_id;
        out->echo_probe_id = tmp.probe_id;
        return 0;
    }

    /* Type-specific second word and the RFC 4884 length attribute: ICMPv4
     * byte 5 in 32-bit words for unreachable, time exceeded and parameter
     * problem (RFC 4884 §4.1); ICMPv6 byte 4 in 64-bit words for
     * unreachable and time exceeded (§4.2). */
    size_t attr_len = 0;
    int rfc4884 = 0;
    if (family == AF_INET) {
        rfc4884 = 1;
        attr_len = (size_t)icmp[5] * 4;
        if (out->kind == CP_TRACE_UNREACHABLE && out->icmp_code == 4)
            out->mtu = cp_be16(icmp + 6);   /* RFC 1191 §4 next-hop MTU */
        if (out->kind == CP_TRACE_PARAM_PROBLEM)
            out->pointer = icmp[4];         /* RFC 792 */
    } else if (out->kind == CP_TRACE_PACKET_TOO_BIG) {
        out->mtu = cp_be32(icmp + 4);       /* RFC 4443 §3.2 */
    } else if (out->kind == CP_TRACE_PARAM_PROBLEM) {
        out->pointer = cp_be32(icmp + 4);   /* RFC 4443 §3.4 */
    } else {
        rfc4884 = 1;
        attr_len = (size_t)icmp[4] * 8;
    }
    out->rfc4884_length = (uint32_t)attr_len;

    const uint8_t *body = icmp + ICMP_HEADER_LEN;
    size_t body_len = icmp_len - ICMP_HEADER_LEN;
    size_t orig_len = rfc4884 ? split_original(body, body_len, attr_len, out) : body_len;
    if (parse_packet(body, orig_len, family, &out->quote) == 0)
        out->has_quote = 1;
    return 0;
}

int cp_trace_parse_tcp(int family, int with_ip_header, const uint8_t *buf, size_t len,
                       const cp_addr *v6_src, const cp_addr *v6_dst, cp_trace_tcp_reply *out)
{
    if (out == NULL || (buf == NULL && len > 0) || (family != AF_INET && family != AF_INET6))
        return -EINVAL;
    memset(out, 0, sizeof *out);
    out->family = family;
    out->checksum_state = -1;

    received rx;
    int rc = locate_upper_layer(family, with_ip_header, buf, len, PROTO_TCP, v6_src, v6_dst, &rx);
    if (rc < 0)
        return rc;
    if (rx.has_outer) {
        out->has_ip_header = 1;
        out->src = rx.outer.src;
        out->dst = rx.outer.dst;
        out->ttl = rx.outer.ttl;
    }
    const uint8_t *seg = rx.l4;
    size_t seg_len = rx.l4_len;

    /* RFC 9293 §3.1: 20 fixed bytes, data offset in 32-bit words. */
    if (seg_len < TCP_MIN_HEADER_LEN)
        return -EBADMSG;
    size_t data_off = (size_t)(seg[12] >> 4) * 4;
    if (data_off < TCP_MIN_HEADER_LEN || data_off > seg_len)
        return -EBADMSG;
    out->sport = cp_be16(seg);
    out->dport = cp_be16(seg + 2);
    out->seq = cp_be32(seg + 4);
    out->ack = cp_be32(seg + 8);
    out->flags = seg[13];
    out->window = cp_be16(seg + 14);
    out->payload_len = seg_len - data_off;
    if (rx.has_addrs) {
        if (cp_trace_l4_checksum(&rx.src, &rx.dst, PROTO_TCP, seg, seg_len) == 0) {
            out->checksum_state = CP_TRACE_CHECKSUM_CORRECT;
        } else {
            /* Checksum offload (loopback, veth): the sender left only the folded
             * pseudo-header sum in the field (CHECKSUM_PARTIAL), uncomplemented. */
            uint16_t partial = (uint16_t)~cp_inet_checksum(NULL, 0, cp_pseudo_header_sum(&rx.src, &rx.dst, PROTO_TCP, seg_len));
            out->checksum_state = cp_be16(seg + 16) == partial ? CP_TRACE_CHECKSUM_PARTIAL : CP_TRACE_CHECKSUM_WRONG;
        }
    }
    return 0;
}
