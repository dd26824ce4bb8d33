/*
 * cprobe.h — the C probe core of isp-checker.
 *
 * Plain C, no knowledge of Swift. Every function that can fail returns 0 (or a
 * non-negative count / descriptor) on success and -errno on failure; no global
 * mutable state, no callbacks. Parsers take (buffer, length) pairs and check the
 * length before every field read: packets from the network are hostile.
 */
#ifndef CPROBE_H
#define CPROBE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Addresses                                                                */
/* ------------------------------------------------------------------------ */

/** An IPv4 or IPv6 address. For AF_INET only bytes[0..3] are used. */
typedef struct cp_addr {
    int family;          /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
    uint32_t scope_id;   /* IPv6 link-local scope, 0 otherwise */
} cp_addr;


/* ------------------------------------------------------------------------ */
/* ICMP echo (RFC 792, RFC 4443): building and strict parsing               */
/* ------------------------------------------------------------------------ */

/* Our payload starts with this magic and an 8-byte per-probe token, so that
 * foreign echo traffic on the host never counts as ours. */
#define CP_ECHO_MAGIC 0x49535043u /* "ISPC" */
#define CP_ECHO_TOKEN_OFFSET 4
#define CP_ECHO_MIN_PAYLOAD 12    /* magic + token */
#define CP_ECHO_MAX_PAYLOAD 1472 /* a 1500-byte IPv4 packet: path MTU probes; ping allows 1400 */

#define CP_ICMP4_ECHO_REPLY 0
#define CP_ICMP4_ECHO_REQUEST 8
#define CP_ICMP6_ECHO_REQUEST 128
#define CP_ICMP6_ECHO_REPLY 129

/**
 * Builds an ICMP echo request (header + payload, no IP header) into buf.
 * IPv4: the ICMP checksum is filled in. IPv6: the checksum is left 0 because
 * the kernel computes it for ICMPv6 raw and datagram sockets (RFC 3542 §3.1).
 * payload_len must be in [CP_ECHO_MIN_PAYLOAD, CP_ECHO_MAX_PAYLOAD].
 * Returns 0, -EINVAL (bad family/length) or -ENOSPC (cap too small).
 */
int cp_echo_build(int family, uint16_t ident, uint16_t seq, uint64_t token,
                  size_t payload_len, uint8_t *buf, size_t cap, size_t *out_len);

/** What a parsed echo packet says. */
typedef struct cp_echo_info {
    int family;
    uint8_t type;          /* echo request or reply of that family */
    uint16_t ident;
    uint16_t seq;
    uint64_t token;        /* our per-probe token; 0 when has_magic is 0 */
    int has_magic;         /* the payload starts with our magic (always 1 from cp_echo_parse) */
    int has_ip_header;     /* the input carried an IP header */
    cp_addr src, dst;      /* from the IP header when present */
    uint8_t ttl;           /* TTL / hop limit from the IP header, 0 if absent */
    size_t payload_len;
} cp_echo_info;

/**
 * Strictly parses one echo request or reply carrying our magic.
 * with_ip_header: 1 when buf starts with the IPv4/IPv6 header (raw IPv4
 * sockets, captured frames), 0 when it starts at the ICMP header (IPv6 raw
 * sockets, datagram sockets).
 * IPv4 header: version, IHL >= 5, options skipped, total length within len
 * (trailing link padding trimmed), protocol ICMP, no fragment.
 * IPv6 header: version, payload length within len, next header 58 directly.
 * The ICMP checksum is verified for IPv4 always, and for IPv6 when the
 * addresses are known (header present, or v6_src/v6_dst non-NULL).
 * Returns 0 when it is a well-formed echo request/reply with our magic;
 * -EBADMSG malformed or bad checksum; -ENOMSG well-formed but not an echo
 * request/reply or not carrying our magic; -EINVAL bad arguments.
 */
int cp_echo_parse(int family, int with_ip_header, const uint8_t *buf, size_t len,
                  const cp_addr *v6_src, const cp_addr *v6_dst, cp_echo_info *out);

/**
 * The same strict checks as cp_echo_parse, but any echo request or reply is
 * accepted, ours or not (iputils ping's, a router's...): has_magic says which.
 * For replaying captures taken by other tools; live probing uses cp_echo_parse.
 */
int cp_echo_parse_any(int family, int with_ip_header, const uint8_t *buf, size_t len,
                      const cp_addr *v6_src, const cp_addr *v6_dst, cp_echo_info *out);

/** RFC 1071 Internet checksum over buf (with an optional initial sum). */
uint16_t cp_inet_checksum(const uint8_t *buf, size_t len, uint32_t initial_sum);
/** ICMPv6 checksum including the RFC 8200 §8.1 pseudo-header. */
uint16_t cp_icmp6_checksum(const cp_addr *src, const cp_addr *dst,
                           const uint8_t *icmp, size_t len);

/* ------------------------------------------------------------------------ */
/* Sockets                                                                  */
/* ------------------------------------------------------------------------ */

#define CP_SOCK_RAW 1    /* SOCK_RAW: needs CAP_NET_RAW */
#define CP_SOCK_DGRAM 2  /* SOCK_DGRAM/IPPROTO_ICMP(V6): needs ping_group_range */

/**
 * Opens an ICMP socket for family: raw when allow_raw and permitted, else the
 * unprivileged datagram kind. Non-blocking, close-on-exec, SO_TIMESTAMPNS on,
 * IP_RECVTTL / IPV6_RECVHOPLIMIT and IPV6_RECVPKTINFO on, and software send
 * timestamps (SO_TIMESTAMPING, read back with cp_recv_send_timestamp). Raw sockets get an
 * ICMP filter that passes echo replies plus, when want_errors is set, time
 * exceeded, destination unreachable and packet-too-big (for traceroute).
 * Returns the descriptor (>= 0) and sets *kind_out, or -errno of the last
 * attempt (-EPERM / -EACCES when neither kind is allowed).
 */
int cp_icmp_socket_open(int family, int allow_raw, int want_errors, int *kind_out);

/** For a datagram ICMP socket: the echo identifier the kernel assigned. */
int cp_socket_local_ident(int fd, uint16_t *ident_out);

/** Current CLOCK_REALTIME in nanoseconds (the clock of SO_TIMESTAMPNS and pcap). */
int64_t cp_realtime_ns(void);

/** Current CLOCK_MONOTONIC in nanoseconds (deadlines; never for RTTs). */
int64_t cp_monotonic_ns(void);

/**
 * Raises the receive and send buffers of fd to `bytes` each (SO_RCVBUFFORCE when
 * the thread has CAP_NET_ADMIN, else SO_RCVBUF up to net.core.rmem_max), so that a
 * burst of thousands of sweep replies (and their send timestamps, which share the
 * receive budget) is not dropped. 0, or -errno when a buffer could not be raised.
 */
int cp_socket_grow_buffers(int fd, int bytes);

/**
 * sendto() to dst (port ignored for ICMP). *user_ts_ns gets CLOCK_REALTIME
 * read immediately before the call. Returns bytes sent or -errno.
 */
int cp_send_to(int fd, const uint8_t *buf, size_t len, const cp_addr *dst,
               int64_t *user_ts_ns);

/** The most datagrams one cp_send_batch, cp_recv_batch or cp_recv_send_timestamps call moves. */
#define CP_BATCH_MAX 64

/** One datagram of a cp_send_batch. */
typedef struct cp_send_item {
    const uint8_t *buf;
    size_t len;
    cp_addr dst;
} cp_send_item;

/**
 * Sends items[0 .. count) with one sendmmsg(2) (1 <= count <= CP_BATCH_MAX).
 * With timed = 0 every datagram carries the SO_TIMESTAMPING control message of
 * 0, so the socket queues no send timestamp for it. *user_ts_ns (when not NULL) gets
 * CLOCK_REALTIME before the call. Returns how many datagrams the kernel took,
 * from the first on (>= 1), or -errno of items[0] when it took none (-EAGAIN or
 * -ENOBUFS: the send buffer is full; another errno belongs to items[0] alone,
 * so the caller goes on with items + 1).
 */
int cp_send_batch(int fd, const cp_send_item *items, size_t count, int timed,
                  int64_t *user_ts_ns);

/** What recvmsg told beside the bytes. */
typedef struct cp_recv_meta {
    cp_addr from;
    cp_addr to;               /* from IP_PKTINFO/IPV6_PKTINFO when available */
    int has_to;
    int64_t kernel_ts_ns;     /* SO_TIMESTAMPNS, 0 when the kernel gave none */
    int64_t user_ts_ns;       /* CLOCK_REALTIME right after recvmsg returned */
    int ttl;                  /* received TTL / hop limit, -1 when unknown */
} cp_recv_meta;

/** Non-blocking recvmsg. Returns bytes read, -EAGAIN when empty, or -errno. */
int cp_recv(int fd, uint8_t *buf, size_t cap, cp_recv_meta *meta);

/**
 * Up to count datagrams (1 <= count <= CP_BATCH_MAX) with one recvmmsg(2), as
 * cp_recv reads one: datagram i is copied to bufs + i * slot, its length to
 * lengths[i] (-EMSGSIZE when it did not fit in slot bytes, or its control data
 * was cut: consumed, and metas[i] is zeroed), its metadata to metas[i]
 * (user_ts_ns: CLOCK_REALTIME after the call, the same for all). Returns how
 * many datagrams were read (>= 1), -EAGAIN when none was waiting, or -errno.
 */
int cp_recv_batch(int fd, uint8_t *bufs, size_t slot, size_t count, int *lengths,
                  cp_recv_meta *metas);

/**
 * Reads one send timestamp from the socket's error queue (MSG_ERRQUEUE): the
 * kernel's software timestamp of a packet this socket sent, taken when the
 * driver got it (SOF_TIMESTAMPING_TX_SOFTWARE), and a copy of that packet.
 * The copy starts at the link-layer header; it is decoded to the network layer
 * and copied into buf from the IP header on (so cp_echo_parse can read it with
 * with_ip_header = 1). Returns the IP packet's length, -EAGAIN when the queue is
 * empty, -ENOMSG for an error-queue entry that is not a timestamp (it is
 * consumed), or -errno.
 */
int cp_recv_send_timestamp(int fd, uint8_t *buf, size_t cap, int64_t *ts_ns);

/**
 * Up to count send timestamps (1 <= count <= CP_BATCH_MAX) from the error
 * queue with one recvmmsg(2), each as cp_recv_send_timestamp returns one:
 * entry i's IP packet is at bufs + i * slot, lengths[i] is its length or
 * -ENOMSG / -EMSGSIZE for an entry that is no usable timestamp (consumed),
 * ts_ns[i] its timestamp. Returns the number of entries read (>= 1), -EAGAIN
 * when the queue is empty, or -errno.
 */
int cp_recv_send_timestamps(int fd, uint8_t *bufs, size_t slot, size_t count, int *lengths,
                            int64_t *ts_ns);

/* ------------------------------------------------------------------------ */
/* Routing                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Which source address and interface the kernel would use to reach dst
 * (a connected UDP socket, no packet sent). ifname needs 16 bytes (IF_NAMESIZE).
 * Returns 0, or -ENETUNREACH / -EHOSTUNREACH / -errno.
 */
int cp_route_lookup(const cp_addr *dst, cp_addr *src_out, char *ifname, size_t ifname_cap);

/**
 * The MTU the kernel knows for the path to dst: the outgoing route's MTU, lowered by what
 * "fragmentation needed" / "packet too big" messages taught it (a connected UDP socket's
 * IP_MTU / IPV6_MTU; no packet is sent, no privilege needed). A path MTU black hole never
 * lowers it: probing with DF finds those. Returns 0, -EINVAL, -ENETUNREACH / -errno.
 */
int cp_route_mtu(const cp_addr *dst, uint32_t *mtu_out);

/* ------------------------------------------------------------------------ */
/* Packet capture for kernel timestamps (libpcap)                           */
/* ------------------------------------------------------------------------ */

typedef struct cp_capture cp_capture; /* owns a pcap_t */

#define CP_DIR_UNKNOWN 0
#define CP_DIR_OUT 1
#define CP_DIR_IN 2

/**
 * One MPLS label stack entry (RFC 3032 §2.1): from an RFC 4950 ICMP extension
 * (cprobe_trace.h) or from a captured frame's own label stack (cp_frame).
 */
typedef struct cp_trace_mpls_entry {
    uint32_t label;          /* 20 bits */
    uint8_t tc;              /* traffic class, formerly EXP (RFC 5462), 3 bits */
    uint8_t s;               /* bottom of stack, 1 bit */
    uint8_t ttl;             /* the label's TTL (RFC 4950: when the router received it;
                                a frame: as it crossed the wire) */
} cp_trace_mpls_entry;

/** The most label stack entries a cp_frame keeps (outermost first). */
#define CP_FRAME_MAX_MPLS 8

/** One captured frame, decoded down to the network layer. */
typedef struct cp_frame {
    int64_t ts_ns;            /* kernel timestamp, ns since the epoch (CLOCK_REALTIME) */
    int family;               /* AF_INET / AF_INET6 of the network-layer packet, 0 if other */
    int direction;            /* CP_DIR_* (known on the "any" device, Linux cooked captures
                                 and DLT_PPP_WITH_DIR) */
    int ifindex;              /* interface index when the link type carries it, else 0 */
    const uint8_t *l3;        /* IP header onwards; valid until the next cp_capture_next */
    size_t l3_len;
    int mpls_count;           /* label stack entries in front of l3 on the wire, in mpls[] */
    int mpls_truncated;       /* the stack had more than CP_FRAME_MAX_MPLS entries */
    cp_trace_mpls_entry mpls[CP_FRAME_MAX_MPLS];
} cp_frame;

/**
 * Opens a live capture: immediate mode, nanosecond timestamps, snaplen
 * `snaplen`, non-blocking, BPF `filter` compiled and installed. device NULL
 * means "any". errbuf (may be NULL) receives libpcap's message on failure.
 * Returns 0 or -errno (-EPERM without CAP_NET_RAW, -ENODEV, -EINVAL bad filter,
 * -ELIBACC when libpcap cannot be loaded: it is opened at the first capture).
 */
int cp_capture_open(const char *device, const char *filter, int snaplen,
                    cp_capture **out, char *errbuf, size_t errbuf_cap);
/**
 * Opens a capture file (pcap or pcapng, any link type cp_frame_decode knows)
 * for replay, with nanosecond timestamps and an optional BPF filter.
 * cp_capture_next then returns its frames in order, and -ENODATA at the end.
 * Returns 0, -ENOENT / -EACCES (cannot open), -EBADMSG (not a capture file),
 * -EPROTONOSUPPORT (a link type cp_frame_decode does not read: errbuf names it
 * with libpcap's name and description and lists those it reads), -EINVAL (bad
 * filter), -ELIBACC (no libpcap); errbuf gets libpcap's text otherwise.
 */
int cp_capture_open_offline(const char *path, const char *filter,
                            cp_capture **out, char *errbuf, size_t errbuf_cap);
/**
 * As cp_capture_open_offline, from an open descriptor (read from offset 0
 * through a duplicate: the caller keeps fd and closes it). Lets the caller
 * check the file (fstat: a regular file) on the descriptor it then reads.
 * Returns 0, -EBADF, -EBADMSG, -EPROTONOSUPPORT or -EINVAL.
 */
int cp_capture_open_offline_fd(int fd, const char *filter,
                               cp_capture **out, char *errbuf, size_t errbuf_cap);
/**
 * The latest capture timestamp cp_capture_next converts, in seconds since the
 * epoch (2262-04-11: the most int64 nanoseconds hold). A frame stamped later,
 * before 1970, or with a fraction of a second out of range is skipped.
 */
#define CP_CAPTURE_MAX_TS_SECONDS 9223372035LL
/** The selectable descriptor to poll for readability. */
int cp_capture_fd(const cp_capture *cap);
/**
 * Reads the next frame without blocking. Returns 1 and fills out, 0 when no
 * frame is waiting (or only undecodable ones were skipped: call again),
 * -ENODATA at the end of a capture file, or -errno. Frames whose link layer
 * cannot be decoded, and frames whose timestamp is out of range (see
 * CP_CAPTURE_MAX_TS_SECONDS), are skipped.
 */
int cp_capture_next(cp_capture *cap, cp_frame *out);
void cp_capture_close(cp_capture *cap);

/** One trace's traffic for cp_capture_filter. */
typedef struct cp_capture_trace {
    int method;          /* CP_TRACE_METHOD_UDP, _ICMP or _TCP (cprobe_trace.h) */
    int family;          /* AF_INET or AF_INET6 */
    cp_addr dst;         /* the trace's destination, of family; family 0: any
                            destination (sockets shared by every trace) */
    uint16_t sport;      /* UDP / TCP: our source port */
    uint16_t dport;      /* TCP: the destination port, 0 for any (UDP: ignored) */
    uint16_t ident;      /* ICMP: the echo identifier */
} cp_capture_trace;

/* cp_capture_filter never writes more than this per echo identifier and per
 * trace, plus 1 for the terminating NUL. */
#define CP_CAPTURE_FILTER_ECHO_MAX 160
#define CP_CAPTURE_FILTER_TRACE_MAX 1024

/**
 * Writes into buf the pcap filter expression of a capture: it admits only
 * - ICMP and ICMPv6 echo requests and replies whose identifier is one of
 *   echo_idents[0 .. echo_count), to or from any host;
 * - for each of traces[0 .. trace_count): our outgoing probes (UDP / TCP from
 *   sport, TCP to dport unless 0, echo requests with ident) and the direct
 *   answers to them (UDP / TCP back to sport, echo replies with ident), to and
 *   from dst when it is set; and the ICMP errors (unreachable, time exceeded,
 *   parameter problem, packet too big) whose quoted packet went to dst, or
 *   every one of the family when dst is unset. Assumes no IPv6 extension
 *   headers (our probes carry none).
 * Returns 0, -EINVAL (nothing to admit: an empty filter would admit all; a
 * bad method or family, a dst of another family) or -ENOSPC (buf then holds
 * ""). 1 + CP_CAPTURE_FILTER_ECHO_MAX * echo_count + CP_CAPTURE_FILTER_TRACE_MAX
 * * trace_count bytes always suffice.
 */
int cp_capture_filter(const uint16_t *echo_idents, size_t echo_count,
                      const cp_capture_trace *traces, size_t trace_count, char *buf, size_t cap);

/**
 * Decodes one link-layer frame of type linktype (a DLT_* as libpcap's
 * pcap_datalink gives it) to the network layer; used by cp_capture_next and
 * exposed for tests. Link types read:
 *   DLT_EN10MB       Ethernet, any stack of 802.1Q / 802.1ad / 0x9100 tags
 *                    (at most CP_FRAME_MAX_VLAN_TAGS), PPPoE session frames
 *   DLT_LINUX_SLL, DLT_LINUX_SLL2   Linux cooked v1 / v2 (direction, ifindex)
 *   DLT_RAW, DLT_IPV4, DLT_IPV6     bare IP
 *   DLT_NULL, DLT_LOOP              BSD loopback, either byte order of the
 *                                   family word (AF_INET6: 10, 24, 28, 30)
 *   DLT_PPP, DLT_PPP_SERIAL (PPP in HDLC framing, RFC 1662; Cisco HDLC frames
 *   in it too), DLT_PPP_WITH_DIR, DLT_PPP_ETHER (PPPoE, RFC 2516), DLT_C_HDLC
 *   DLT_MPLS                        a bare label stack
 * In any of them an MPLS label stack (ethertype 0x8847 / 0x8848, PPP 0x0281 /
 * 0x0283) is walked to its bottom entry and the IP version nibble after it
 * gives the family (RFC 3032 §2.2 leaves it to the label; the nibble is what
 * tcpdump reads too); its entries are kept in out->mpls.
 * Fills out->family/direction/ifindex/l3/l3_len/mpls (not ts_ns); family 0
 * for a frame that carries something else (ARP, LCP, ...). 0 or -EBADMSG /
 * -EPROTONOSUPPORT (a link type not read: see cp_frame_linktype_readable).
 */
int cp_frame_decode(int linktype, const uint8_t *frame, size_t len, cp_frame *out);

/** The most VLAN tags cp_frame_decode walks in front of an ethertype. */
#define CP_FRAME_MAX_VLAN_TAGS 8

/** 1 when cp_frame_decode reads linktype, else 0. */
int cp_frame_linktype_readable(int linktype);

/* ------------------------------------------------------------------------ */
/* Privileges and namespaces                                                */
/* ------------------------------------------------------------------------ */

/**
 * Drops every capability of the calling thread (effective, permitted,
 * inheritable, ambient, and the bounding set when CAP_SETPCAP allows) and sets
 * PR_SET_NO_NEW_PRIVS, so that nothing can be regained, not even through
 * execve(). Linux capabilities are per thread: threads created afterwards by
 * this thread inherit the empty sets. 0 or -errno.
 */
int cp_caps_drop_all(void);
/**
 * cp_caps_drop_all, except that CAP_SETUID and CAP_SETGID stay effective: a
 * thread that will be taken along when the process leaves root (glibc runs
 * setresuid on every thread and aborts the process if one of them fails).
 * Leaving uid 0 then clears them. 0 or -errno.
 */
int cp_caps_drop_all_but_setid(void);
/**
 * cp_caps_drop_all for the calling thread, and with switch_user also changes
 * the user and group of the whole process to uid/gid (neither may be 0) with
 * no supplementary groups: glibc applies setgroups/setresgid/setresuid to
 * every thread, and the kernel clears the capability sets of every thread as
 * it leaves uid 0. Capabilities and NO_NEW_PRIVS of other threads are not
 * touched: call this before any other thread exists, or once each of them has
 * dropped its own (cp_process_privileges_read tells); with switch_user every
 * other thread must still hold CAP_SETUID and CAP_SETGID
 * (cp_caps_drop_all_but_setid), or glibc aborts the process. 0 or -errno (-EPERM
 * when the new ids did not stick).
 */
int cp_privileges_drop(int switch_user, uint32_t uid, uint32_t gid);

/** What the threads of this process hold, from /proc/self/task/N/status. */
typedef struct cp_process_privileges {
    uint32_t threads;
    uint64_t effective;  /* CapEff of every thread, OR-ed */
    uint64_t permitted;  /* CapPrm, OR-ed */
    uint64_t bounding;   /* CapBnd, OR-ed */
    uint64_t ambient;    /* CapAmb, OR-ed */
    uint32_t threads_without_no_new_privs;
    uint32_t threads_with_uid_0; /* real uid 0 */
    uint32_t threads_with_gid_0; /* real gid 0 */
    uint32_t threads_able_to_change_ids; /* CAP_SETUID and CAP_SETGID effective */
} cp_process_privileges;

/** Reads the privileges of every thread of this process. 0 or -errno. */
int cp_process_privileges_read(cp_process_privileges *out);
/** Reads CapEff of the calling thread from /proc/thread-self/status. 0 or -errno. */
int cp_caps_effective_mask(uint64_t *mask_out);
/**
 * Moves the calling thread into the network namespace at path (setns). A
 * thread already in it stays, without needing CAP_SYS_ADMIN. 0 or -errno.
 */
int cp_netns_enter(const char *path);

/* ------------------------------------------------------------------------ */
/* Waking a poll loop                                                       */
/* ------------------------------------------------------------------------ */

/** A non-blocking, close-on-exec eventfd. Returns the descriptor or -errno. */
int cp_wake_open(void);
/** Makes the eventfd readable. 0 or -errno. */
int cp_wake_signal(int fd);
/** Consumes pending wake-ups. 0 or -errno (-EAGAIN when none). */
int cp_wake_drain(int fd);

/* ------------------------------------------------------------------------ */
/* Waiting for readiness                                                    */
/* ------------------------------------------------------------------------ */

/** A close-on-exec epoll instance. Returns the descriptor or -errno. */
int cp_poller_open(void);
/** Watches fd for input (level-triggered), reported with tag. 0 or -errno. */
int cp_poller_add(int poller, int fd, uint32_t tag);
/** Waits up to timeout_ms (-1: forever) for watched descriptors; writes up to max (at most 64)
 *  tags and their poll()-style event bits (POLLIN, POLLERR, POLLHUP). Returns how many, 0 on
 *  timeout, or -errno (-EINTR when a signal interrupted the wait). */
int cp_poller_wait(int poller, int timeout_ms, uint32_t *tags, uint32_t *events, int max);

#ifdef __cplusplus
}
#endif
#include "cprobe_trace.h" /* traceroute probes: building, sending, parsing */

#endif /* CPROBE_H */
