/*
 * cprobe_trace.h — traceroute probes for the C probe core of isp-checker:
 * building Paris-style probes (UDP, ICMP echo, TCP SYN), sending them with a
 * per-packet TTL, and strictly parsing what comes back (ICMP errors with their
 * quoted packet and RFC 4884/4950 MPLS extensions, echo replies, TCP answers).
 *
 * Include it from the END of cprobe.h (it needs cp_addr). Same conventions as
 * cprobe.h: 0 / non-negative on success, -errno on failure, no global state,
 * no callbacks, parsers take (buffer, length) and trust nothing.
 *
 * Paris traceroute (Augustin et al., IMC 2006): per-flow load balancers hash
 * the addresses, the protocol and the first four bytes of the transport
 * header (UDP/TCP ports; ICMP type, code and checksum). Every probe of a trace
 * therefore keeps those constant and carries its probe id elsewhere:
 *   UDP   in the UDP checksum (forced through two payload bytes),
 *   ICMP  in the echo sequence number (the checksum is held constant by two
 *         payload bytes),
 *   TCP   in the sequence number.
 * All three places lie in the first 8 bytes of the transport header, which
 * every router quotes (RFC 792; RFC 1812 §4.3.2.3 asks for more).
 */
#ifndef CPROBE_TRACE_H
#define CPROBE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "cprobe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Probe payload                                                            */
/* ------------------------------------------------------------------------ */

/* UDP and ICMP probe payloads start with 8 bytes:
 *   [0..3] magic "ISPT"   [4..5] probe id   [6..7] checksum adjustment word
 * then zero fill. Routers that quote more than 8 transport bytes (Linux quotes
 * the whole probe) hand the probe id back in the payload too, which survives
 * middleboxes and checksum offload that change the UDP checksum. */
#define CP_TRACE_MAGIC 0x49535054u /* "ISPT" */
#define CP_TRACE_PAYLOAD_ID_OFFSET 4
#define CP_TRACE_PAYLOAD_ADJUST_OFFSET 6
#define CP_TRACE_MIN_PAYLOAD 8
#define CP_TRACE_MAX_PAYLOAD 65000

/* Probe ids that fit the UDP checksum: 0 .. CP_TRACE_UDP_MAX_PROBE_ID. */
#define CP_TRACE_UDP_MAX_PROBE_ID 0xfffdu

/** Methods, for cp_capture_trace (cprobe.h). */
#define CP_TRACE_METHOD_UDP 1
#define CP_TRACE_METHOD_ICMP 2
#define CP_TRACE_METHOD_TCP 3

/* ------------------------------------------------------------------------ */
/* Building probes (no IP header: the kernel adds it)                       */
/* ------------------------------------------------------------------------ */

/**
 * The UDP checksum a probe with this id carries: probe_id + 1, so that it is
 * never 0x0000 (IPv4 "no checksum", RFC 768) nor 0xFFFF (how a computed 0 is
 * transmitted). Returns 0 when probe_id > CP_TRACE_UDP_MAX_PROBE_ID.
 */
uint16_t cp_trace_udp_checksum_for(uint16_t probe_id);
/** The inverse: 0 and *probe_id_out, or -EINVAL for 0x0000 / 0xFFFF. */
int cp_trace_udp_probe_id_from_checksum(uint16_t checksum, uint16_t *probe_id_out);

/**
 * The checksum of a UDP, TCP or ICMPv6 segment including the pseudo-header of
 * src->family (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1) with protocol proto and
 * upper-layer length len. A segment that carries a correct checksum gives 0.
 * src and dst must be non-NULL and of the same family.
 */
uint16_t cp_trace_l4_checksum(const cp_addr *src, const cp_addr *dst, uint8_t proto,
                              const uint8_t *seg, size_t len);

/**
 * Builds the UDP PAYLOAD (not the header) of probe probe_id such that the
 * checksum the kernel computes for the datagram src:sport -> dst:dport equals
 * cp_trace_udp_checksum_for(probe_id). Send it through a UDP socket bound to
 * exactly src:sport (cp_trace_udp_socket_open); another source address or port
 * (NAT) changes the checksum. payload_len in [CP_TRACE_MIN_PAYLOAD,
 * CP_TRACE_MAX_PAYLOAD]. family must equal src->family and dst->family.
 * Returns 0, -EINVAL (bad family, addresses, length, probe_id >
 * CP_TRACE_UDP_MAX_PROBE_ID) or -ENOSPC.
 */
int cp_trace_build_udp(int family, const cp_addr *src, const cp_addr *dst,
                       uint16_t sport, uint16_t dport, uint16_t probe_id,
                       size_t payload_len, uint8_t *buf, size_t cap, size_t *out_len);

/**
 * The whole UDP datagram (8-byte header + the payload of cp_trace_build_udp)
 * with its checksum already complete, for a raw IPPROTO_UDP socket
 * (cp_trace_raw_udp_socket_open): the kernel sends it as it is, so the
 * checksum never rides as CHECKSUM_PARTIAL on a veth with tx offload (every
 * container and pod), where a router would quote the pseudo-header sum
 * instead of the probe's checksum. src must be the source address the kernel
 * picks for dst (cp_route_lookup), or the destination drops the datagram for
 * its bad checksum. payload_len as for cp_trace_build_udp; *out_len gets
 * 8 + payload_len. Returns 0, -EINVAL or -ENOSPC.
 */
int cp_trace_build_udp_datagram(int family, const cp_addr *src, const cp_addr *dst,
                                uint16_t sport, uint16_t dport, uint16_t probe_id,
                                size_t payload_len, uint8_t *buf, size_t cap, size_t *out_len);

/**
 * Builds an ICMP / ICMPv6 echo request (header + payload): identifier ident,
 * sequence probe_id, and a payload adjusted so that the checksum equals
 * fixed_checksum for every probe (Paris ICMP). The checksum field is filled
 * with fixed_checksum for both families. IPv4: the packet is complete.
 * IPv6: the kernel recomputes the checksum on raw and datagram ICMPv6 sockets
 * (RFC 3542 §3.1) over the pseudo-header, so src must be the source address
 * the kernel will use (bind the socket to it) and dst the destination; the
 * result is then exactly fixed_checksum. For IPv4 src/dst may be NULL.
 * On a datagram (ping) socket the kernel replaces ident with its own and
 * recomputes the checksum: pass that ident (cp_socket_local_ident).
 * payload_len in [CP_TRACE_MIN_PAYLOAD, CP_TRACE_MAX_PAYLOAD]; fixed_checksum
 * must not be 0x0000 or 0xFFFF. Returns 0, -EINVAL or -ENOSPC.
 */
int cp_trace_build_icmp_echo(int family, const cp_addr *src, const cp_addr *dst,
                             uint16_t ident, uint16_t probe_id, uint16_t fixed_checksum,
                             size_t payload_len, uint8_t *buf, size_t cap, size_t *out_len);

/** Length of a TCP SYN built by cp_trace_build_tcp_syn: 20 + MSS option. */
#define CP_TRACE_TCP_SYN_LEN 24

/**
 * Builds a TCP SYN header (20 bytes + MSS option, no payload) with sequence
 * number seq (the probe id lives there: it is quoted in the first 8 transport
 * bytes, RFC 792), window 64240, and the checksum over the pseudo-header of
 * src/dst (RFC 9293 §3.1) filled in. For a raw IPPROTO_TCP socket bound to src.
 * Returns 0, -EINVAL or -ENOSPC (cap < CP_TRACE_TCP_SYN_LEN).
 */
int cp_trace_build_tcp_syn(int family, const cp_addr *src, const cp_addr *dst,
                           uint16_t sport, uint16_t dport, uint32_t seq,
                           uint8_t *buf, size_t cap, size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Sockets                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * A non-blocking, close-on-exec UDP socket bound to src:sport (src NULL: the
 * wildcard address; sport 0: the kernel picks one, see cp_trace_local_port).
 * Not connected and without IP_RECVERR, so ICMP errors never surface as
 * socket errors: read them from the raw ICMP socket. SO_TIMESTAMPNS and
 * TTL / hop-limit reception are on, so cp_recv works on it.
 * Returns the descriptor or -errno.
 */
int cp_trace_udp_socket_open(int family, const cp_addr *src, uint16_t sport);

/**
 * A non-blocking, close-on-exec raw IPPROTO_UDP socket (needs CAP_NET_RAW)
 * that sends datagrams from cp_trace_build_udp_datagram with their checksum
 * as built (no IPV6_CHECKSUM, no offload). It is never read: a socket filter
 * drops every datagram the host receives before it is queued. Send with
 * cp_trace_send and dport 0. Returns the descriptor or -errno.
 */
int cp_trace_raw_udp_socket_open(int family);

/** The local port of a bound socket (getsockname). 0 or -errno. */
int cp_trace_local_port(int fd, uint16_t *port_out);

/**
 * A non-blocking, close-on-exec raw IPPROTO_TCP socket (needs CAP_NET_RAW),
 * bound to src when src is non-NULL. It sends SYNs from cp_trace_build_tcp_syn
 * and receives the destination's SYN-ACK / RST (IPv4 with the IP header, IPv6
 * without). When local_port is non-zero a socket filter admits only segments
 * to local_port, and when remote_port is also non-zero only those from
 * remote_port: a raw TCP socket otherwise sees every TCP segment of the host.
 * IPv6: IPV6_CHECKSUM makes the kernel fill in (and verify on input) the TCP
 * checksum. SO_TIMESTAMPNS and TTL / hop-limit reception are on.
 * Returns the descriptor or -errno.
 */
int cp_trace_raw_tcp_socket_open(int family, const cp_addr *src,
                                 uint16_t local_port, uint16_t remote_port);

/**
 * Reserves a TCP port for raw SYN probes: a bound (never listening) TCP
 * socket on src:0. The kernel then never hands that port to another
 * connection while the descriptor stays open; it still answers the
 * destination's SYN-ACK with a RST, as every traceroute expects. Returns the
 * descriptor (keep it open for the trace) and *port_out, or -errno.
 */
int cp_trace_tcp_port_reserve(int family, const cp_addr *src, uint16_t *port_out);

/**
 * sendmsg(buf) to dst:dport with the TTL (IPv4, IP_TTL) or hop limit (IPv6,
 * IPV6_HOPLIMIT) carried in a control message, so probes with different TTLs
 * can go out concurrently on one socket without racing a setsockopt.
 * ttl in 1..255, or -1 for the socket's default. dport: the UDP destination
 * port; pass 0 on raw sockets (raw IPv6 sockets reject any other value).
 * *user_ts_ns (may be NULL) gets CLOCK_REALTIME read just before sendmsg.
 * Returns the bytes sent or -errno (-EAGAIN when the socket buffer is full).
 */
int cp_trace_send(int fd, const uint8_t *buf, size_t len, const cp_addr *dst,
                  uint16_t dport, int ttl, int64_t *user_ts_ns);

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

/** An IP packet as quoted in an ICMP error, or one of our probes as captured. */
typedef struct cp_trace_packet {
    int family;              /* AF_INET / AF_INET6, from the version nibble */
    cp_addr src, dst;
    uint8_t proto;           /* v4 protocol; v6 next header of the fixed header
                                (an extension header number means: no transport
                                fields, not one of our probes) */
    uint8_t ttl;             /* TTL / hop limit as the quoting router saw it
                                (the "q-TTL"; 0 or 1 normally, larger when a
                                middlebox rewrote it) */
    uint8_t tos;             /* v4 TOS / v6 traffic class */
    uint16_t ip_id;          /* v4 identification; 0 for v6 */
    uint32_t flow_label;     /* v6 flow label (20 bits); 0 for v4 */
    int is_fragment;         /* v4: MF set or fragment offset != 0 */
    uint32_t total_len;      /* as claimed: v4 total length, v6 40 + payload
                                length. Untrusted: may exceed quoted_len or be
                                byte-swapped by old routers */
    size_t header_len;       /* v4 IHL * 4 (options included), v6 40 */
    size_t quoted_len;       /* bytes of the packet actually present (for an
                                ICMP error: the original-datagram field, RFC
                                4884 extensions excluded, padding included) */
    int has_ports;           /* UDP/TCP: the 4 port bytes are present */
    int has_transport;       /* the first 8 transport bytes of UDP, TCP, ICMP
                                or ICMPv6 are present (and this is not a later
                                fragment): all fields below are valid */
    uint16_t sport, dport;   /* UDP / TCP */
    uint16_t udp_length, udp_checksum;
    uint32_t tcp_seq;
    uint8_t icmp_type, icmp_code; /* quoted ICMP (v4) / ICMPv6 (v6) */
    uint16_t icmp_checksum, icmp_ident, icmp_seq;
    int has_probe_id;        /* the UDP / ICMP payload starting with "ISPT"
                                and the probe id is present */
    uint16_t probe_id;       /* from the payload when has_probe_id */
    int transport_checksum_state; /* UDP / TCP: CP_TRACE_CHECKSUM_CORRECT when
                                the whole datagram / segment is present and its
                                checksum is right for the packet's own
                                addresses (a quote a NAT translated without
                                translating it back still passes: Dublin
                                traceroute's NAT signal), _WRONG when present
                                and wrong, _UNCHECKED when not all of it is
                                present, another protocol, or UDP checksum 0 */
} cp_trace_packet;

/** What an ICMP message is, for cp_trace_reply.kind. */
#define CP_TRACE_ECHO_REPLY 1      /* v4 type 0, v6 type 129 */
#define CP_TRACE_TIME_EXCEEDED 2   /* v4 type 11, v6 type 3 (code 0: hop limit; 1: reassembly) */
#define CP_TRACE_UNREACHABLE 3     /* v4 type 3, v6 type 1; any code */
#define CP_TRACE_PACKET_TOO_BIG 4  /* v6 type 2 */
#define CP_TRACE_PARAM_PROBLEM 5   /* v4 type 12, v6 type 4 */

/** Where RFC 4884 extensions were found, for cp_trace_reply.ext_state. */
#define CP_TRACE_EXT_NONE 0          /* none present */
#define CP_TRACE_EXT_COMPLIANT 1     /* after the length attribute (RFC 4884 §4) */
#define CP_TRACE_EXT_NONCOMPLIANT 2  /* at offset 128 with length 0 (RFC 4884 §5) */
#define CP_TRACE_EXT_IGNORED 3       /* present but bad checksum / version /
                                        object lengths: ignored, message kept */

#define CP_TRACE_MAX_MPLS 8

/* cp_trace_mpls_entry (one label stack entry) is in cprobe.h: captured frames carry them too. */

/** A parsed ICMP / ICMPv6 answer to a trace probe. */
typedef struct cp_trace_reply {
    int family;              /* of the ICMP message */
    int kind;                /* CP_TRACE_ECHO_REPLY ... CP_TRACE_PARAM_PROBLEM */
    uint8_t icmp_type, icmp_code;
    size_t icmp_len;         /* ICMP message length after trimming to the IP length */
    int has_outer;           /* buf began with an IP header (with_ip_header) */
    cp_addr outer_src, outer_dst; /* from that header: who answered, to whom */
    uint8_t outer_ttl;       /* its TTL / hop limit (for return-path length) */
    int checksum_verified;   /* 1: ICMP checksum checked and correct; 0: IPv6
                                without addresses, not checked here (the kernel
                                verifies ICMPv6 before raw delivery) */
    uint32_t mtu;            /* v4 unreachable code 4 next-hop MTU (RFC 1191
                                §4), v6 packet too big MTU (RFC 4443 §3.2); else 0 */
    uint32_t pointer;        /* parameter problem pointer (RFC 792, RFC 4443 §3.4) */

    /* CP_TRACE_ECHO_REPLY only. */
    uint16_t echo_ident, echo_seq, echo_checksum;
    size_t echo_payload_len;
    int echo_has_magic;      /* payload starts with "ISPT" */
    uint16_t echo_probe_id;  /* payload probe id when echo_has_magic */

    /* Errors only. */
    uint32_t rfc4884_length; /* the length attribute, in bytes; 0 when absent */
    int has_quote;           /* the quoted IP header is consistent; quote valid */
    cp_trace_packet quote;
    int ext_state;           /* CP_TRACE_EXT_* */
    int mpls_count;          /* entries in mpls[], <= CP_TRACE_MAX_MPLS */
    int mpls_truncated;      /* more entries were present than fit */
    cp_trace_mpls_entry mpls[CP_TRACE_MAX_MPLS];
} cp_trace_reply;

/**
 * Parses an ICMP (family AF_INET) or ICMPv6 (AF_INET6) message.
 * with_ip_header: 1 when buf starts with the IP header (raw IPv4 sockets,
 * captured frames), 0 when it starts at the ICMP header (raw IPv6 sockets).
 * Outer IPv4 header: version, IHL, protocol 1, no fragment; trimmed to its
 * total length when that is consistent. Outer IPv6 header: version, payload
 * length, next header 58 after skipping hop-by-hop / routing / destination
 * options headers. The ICMP checksum is verified for IPv4 always and for
 * IPv6 when the addresses are known (header present or v6_src/v6_dst given).
 * Accepted: echo reply; time exceeded; destination unreachable (every code);
 * packet too big; parameter problem. For errors the original datagram is
 * delimited by the RFC 4884 length attribute (or found before a legacy
 * extension at offset 128), then parsed as a cp_trace_packet: a quote whose
 * IP header is inconsistent gives has_quote = 0; transport fields are set
 * only when their bytes are present (has_ports / has_transport).
 * Returns 0 accepted; -EBADMSG malformed or bad checksum; -ENOMSG
 * well-formed but not a type handled here (e.g. echo request); -EINVAL.
 */
int cp_trace_parse_icmp(int family, int with_ip_header, const uint8_t *buf, size_t len,
                        const cp_addr *v6_src, const cp_addr *v6_dst, cp_trace_reply *out);

/**
 * Parses an IP packet (header included, family from the version nibble) as a
 * cp_trace_packet: how the capture matches our outgoing probes. Bytes past a
 * consistent total length (link padding) are ignored. 0, -EBADMSG
 * (inconsistent IP header) or -EINVAL.
 */
int cp_trace_parse_probe(const uint8_t *buf, size_t len, cp_trace_packet *out);

#define CP_TRACE_TCP_FIN 0x01
#define CP_TRACE_TCP_SYN 0x02
#define CP_TRACE_TCP_RST 0x04
#define CP_TRACE_TCP_PSH 0x08
#define CP_TRACE_TCP_ACK 0x10

/** A TCP segment from the destination (SYN-ACK, RST, RST-ACK). */
typedef struct cp_trace_tcp_reply {
    int family;
    int has_ip_header;
    cp_addr src, dst;        /* from the IP header when present */
    uint8_t ttl;             /* TTL / hop limit from the IP header, 0 if absent */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;           /* CP_TRACE_TCP_* bits */
    uint16_t window;
    size_t payload_len;      /* bytes after the TCP header (RST may carry text) */
    int checksum_state;      /* CP_TRACE_CHECKSUM_*: a WRONG segment was
                                damaged (or forged) on the way and is never
                                an answer */
} cp_trace_tcp_reply;

/* cp_trace_tcp_reply.checksum_state */
#define CP_TRACE_CHECKSUM_UNCHECKED (-1) /* IPv6 without addresses: the kernel
                                            verified it (IPV6_CHECKSUM) */
#define CP_TRACE_CHECKSUM_WRONG 0        /* neither correct nor partial */
#define CP_TRACE_CHECKSUM_CORRECT 1
#define CP_TRACE_CHECKSUM_PARTIAL 2      /* the field holds only the folded
                                            pseudo-header sum: checksum
                                            offload on loopback or a veth
                                            hands the segment over before
                                            the sum is completed */

/**
 * Parses a TCP segment (with_ip_header as for cp_trace_parse_icmp). It
 * answers our SYN when its ports are ours swapped and ack == our seq + 1,
 * and its checksum_state is not CP_TRACE_CHECKSUM_WRONG.
 * Returns 0; -EBADMSG malformed (header shorter than 20 or than its data
 * offset); -ENOMSG not TCP, or an IP fragment; -EINVAL.
 */
int cp_trace_parse_tcp(int family, int with_ip_header, const uint8_t *buf, size_t len,
                       const cp_addr *v6_src, const cp_addr *v6_dst, cp_trace_tcp_reply *out);

#ifdef __cplusplus
}
#endif
#endif /* CPROBE_TRACE_H */
