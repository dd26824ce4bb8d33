/*
 * socket.c — ICMP sockets (raw or unprivileged datagram), sending with a user
 * timestamp, receiving with kernel timestamps and ancillary data, and route
 * lookup through a connected UDP socket.
 */
#define _GNU_SOURCE
#include "cp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* struct icmp_filter and ICMP_FILTER (SOL_RAW) come from the kernel UAPI; glibc
 * has no equivalent. Included after the glibc network headers so that
 * linux/libc-compat.h suppresses the duplicate definitions. */
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <linux/net_tstamp.h>
#include <pcap/dlt.h>

#ifndef SO_TIMESTAMPNS_NEW
#define SO_TIMESTAMPNS_NEW 64
#endif
#ifndef SO_TIMESTAMP_NEW
#define SO_TIMESTAMP_NEW 63
#endif

int64_t cp_realtime_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t cp_monotonic_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int cp_socket_grow_buffers(int fd, int bytes)
{
    if (bytes <= 0)
        return -EINVAL;
    /* SO_*BUFFORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; without it
     * the plain options still raise the buffers up to those limits. */
    int rc = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) != 0)
        rc = -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

int cp_set_int_option(int fd, int level, int name, int value)
{
    if (setsockopt(fd, level, name, &value, sizeof value) != 0)
        return -errno;
    return 0;
}

/* Raw IPv4: ICMP_FILTER is a bitmask of types to drop (linux/icmp.h). Pass
 * echo replies, plus the errors traceroute needs when asked. */
static int install_icmp4_filter(int fd, int want_errors)
{
    uint32_t pass = 1u << 0; /* echo reply */
    if (want_errors)
        pass |= (1u << 3)    /* destination unreachable (incl. fragmentation needed) */
              | (1u << 11)   /* time exceeded */
              | (1u << 12);  /* parameter problem */
    struct icmp_filter filter = { .data = ~pass };
    if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter) != 0)
        return -errno;
    return 0;
}

/* Raw IPv6: RFC 3542 §3.2 filter. */
static int install_icmp6_filter(int fd, int want_errors)
{
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
    if (want_errors) {
        ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
        ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filter);
        ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &filter);
        ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &filter);
    }
    if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) != 0)
        return -errno;
    return 0;
}

/* What cp_recv reads beside the bytes: kernel timestamp, TTL / hop limit,
 * local address. */
int cp_enable_receive_metadata(int fd, int family)
{
    int rc = cp_set_int_option(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
    if (rc == 0 && family == AF_INET) {
        rc = cp_set_int_option(fd, IPPROTO_IP, IP_RECVTTL, 1);
        if (rc == 0)
            rc = cp_set_int_option(fd, IPPROTO_IP, IP_PKTINFO, 1);
    } else if (rc == 0) {
        rc = cp_set_int_option(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
        if (rc == 0)
            rc = cp_set_int_option(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
    }
    return rc;
}

static int configure_socket(int fd, int family, int raw, int want_errors)
{
    int rc = cp_enable_receive_metadata(fd, family);
    if (rc != 0)
        return rc;
    /* Send timestamps from the driver, for timing without a capture. The
     * looped-back packet comes with them so they can be matched to a probe
     * (net.core.tstamp_allow_data, on by default, allows that unprivileged). */
    rc = cp_set_int_option(fd, SOL_SOCKET, SO_TIMESTAMPING,
                           SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_SOFTWARE);
    if (rc != 0)
        return rc;
    if (raw)
        return family == AF_INET ? install_icmp4_filter(fd, want_errors)
                                 : install_icmp6_filter(fd, want_errors);
    /* Datagram ICMP sockets: IP_RECVERR is deliberately not set. It queues
     * ICMP errors on the error queue, which this API does not read; an
     * undrained error queue is charged to the receive buffer and would end
     * up starving echo replies. */
    return 0;
}

int cp_icmp_socket_open(int family, int allow_raw, int want_errors, int *kind_out)
{
    int proto;
    if (family == AF_INET)
        proto = IPPROTO_ICMP;
    else if (family == AF_INET6)
        proto = IPPROTO_ICMPV6;
    else
        return -EAFNOSUPPORT;

    int last_error = -EPERM;
    for (int attempt = 0; attempt < 2; attempt++) {
        int raw = attempt == 0;
        if (raw && !allow_raw)
            continue;
        int fd = socket(family, (raw ? SOCK_RAW : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        proto);
        if (fd < 0) {
            last_error = -errno;
            continue;
        }
        int rc = configure_socket(fd, family, raw, want_errors);
        if (rc != 0) {
            close(fd);
            return rc;
        }
        if (kind_out != NULL)
            *kind_out = raw ? CP_SOCK_RAW : CP_SOCK_DGRAM;
        return fd;
    }
    return last_error;
}

int cp_socket_local_ident(int fd, uint16_t *ident_out)
{
    if (ident_out == NULL)
        return -EINVAL;
    int type = 0;
    socklen_t type_len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0)
        return -errno;
    if (type != SOCK_DGRAM)
        return -EINVAL; /* raw sockets: the caller chooses the identifier */

    for (int attempt = 0; attempt < 2; attempt++) {
        cp_addr local;
        uint16_t port;
        int rc = cp_local_address(fd, &local, &port);
        if (rc != 0)
            return rc;
        if (port != 0) {
            *ident_out = port;
            return 0;
        }
        if (attempt > 0)
            break;
        /* Not bound yet (the kernel binds on the first send): bind to the
         * wildcard with identifier 0 so that the kernel picks a free one now,
         * exactly as the implicit bind would. */
        cp_addr any;
        memset(&any, 0, sizeof any);
        any.family = local.family;
        struct sockaddr_storage ss;
        int ss_len = cp_to_sockaddr(&any, 0, &ss);
        if (ss_len < 0)
            return ss_len;
        if (bind(fd, (struct sockaddr *)&ss, (socklen_t)ss_len) != 0)
            return -errno;
    }
    return -EADDRNOTAVAIL;
}

int cp_send_to(int fd, const uint8_t *buf, size_t len, const cp_addr *dst,
               int64_t *user_ts_ns)
{
    if (dst == NULL || (buf == NULL && len != 0))
        return -EINVAL;
    if (len > INT_MAX)
        return -EMSGSIZE;
    struct sockaddr_storage ss;
    int ss_len = cp_to_sockaddr(dst, 0, &ss);
    if (ss_len < 0)
        return ss_len;
    int64_t before = cp_realtime_ns();
    ssize_t n = sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss,
                       (socklen_t)ss_len);
    if (n < 0)
        return -errno;
    if (user_ts_ns != NULL)
        *user_ts_ns = before;
    return (int)n;
}

int cp_send_batch(int fd, const cp_send_item *items, size_t count, int timed,
                  int64_t *user_ts_ns)
{
    if (items == NULL || count == 0 || count > CP_BATCH_MAX)
        return -EINVAL;
    struct sockaddr_storage names[CP_BATCH_MAX];
    struct iovec iovs[CP_BATCH_MAX];
    struct mmsghdr msgs[CP_BATCH_MAX];
    union {
        char bytes[CMSG_SPACE(sizeof(uint32_t))];
        struct cmsghdr align;
    } controls[CP_BATCH_MAX];
    memset(msgs, 0, count * sizeof msgs[0]);
    for (size_t i = 0; i < count; i++) {
        if (items[i].buf == NULL && items[i].len != 0)
            return -EINVAL;
        int name_len = cp_to_sockaddr(&items[i].dst, 0, &names[i]);
        if (name_len < 0)
            return name_len;
        iovs[i].iov_base = (void *)items[i].buf;
        iovs[i].iov_len = items[i].len;
        struct msghdr *msg = &msgs[i].msg_hdr;
        msg->msg_name = &names[i];
        msg->msg_namelen = (socklen_t)name_len;
        msg->msg_iov = &iovs[i];
        msg->msg_iovlen = 1;
        if (!timed) {
            /* A per-packet SO_TIMESTAMPING control message replaces the socket's TX
             * timestamp flags for this datagram (Documentation/networking/
             * timestamping.rst, 1.3.3): 0 asks for no send timestamp, so nothing is
             * queued on the error queue. */
            memset(&controls[i], 0, sizeof controls[i]);
            msg->msg_control = controls[i].bytes;
            msg->msg_controllen = sizeof controls[i].bytes;
            struct cmsghdr *c = CMSG_FIRSTHDR(msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SO_TIMESTAMPING;
            c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
            uint32_t none = 0;
            memcpy(CMSG_DATA(c), &none, sizeof none);
        }
    }
    int64_t before = cp_realtime_ns();
    int n = sendmmsg(fd, msgs, (unsigned int)count, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EAGAIN;
    if (user_ts_ns != NULL)
        *user_ts_ns = before;
    return n;
}

static int64_t timespec_ns(int64_t sec, int64_t nsec)
{
    return sec * 1000000000 + nsec;
}

/* Walks the control messages of a received datagram into meta. */
static void read_control(struct msghdr *msg, cp_recv_meta *meta)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_len < CMSG_LEN(0))
            break;
        const unsigned char *data = CMSG_DATA(c);
        size_t data_len = c->cmsg_len - CMSG_LEN(0);
        if (c->cmsg_level == SOL_SOCKET) {
            if (c->cmsg_type == SO_TIMESTAMPNS && data_len >= sizeof(struct timespec)) {
                struct timespec ts;
                memcpy(&ts, data, sizeof ts);
                meta->kernel_ts_ns = timespec_ns(ts.tv_sec, ts.tv_nsec);
            } else if (c->cmsg_type == SO_TIMESTAMPNS_NEW && data_len >= 2 * sizeof(int64_t)) {
                /* struct __kernel_timespec: two 64-bit integers */
                int64_t v[2];
                memcpy(v, data, sizeof v);
                meta->kernel_ts_ns = timespec_ns(v[0], v[1]);
            }
        } else if (c->cmsg_level == IPPROTO_IP) {
            if (c->cmsg_type == IP_TTL && data_len >= sizeof(int)) {
                int ttl;
                memcpy(&ttl, data, sizeof ttl);
                meta->ttl = ttl;
            } else if (c->cmsg_type == IP_PKTINFO && data_len >= sizeof(struct in_pktinfo)) {
                struct in_pktinfo info;
                memcpy(&info, data, sizeof info);
                cp_addr_load(&meta->to, AF_INET, &info.ipi_addr, 0);
                meta->has_to = 1;
            }
        } else if (c->cmsg_level == IPPROTO_IPV6) {
            if (c->cmsg_type == IPV6_HOPLIMIT && data_len >= sizeof(int)) {
                int hops;
                memcpy(&hops, data, sizeof hops);
                meta->ttl = hops;
            } else if (c->cmsg_type == IPV6_PKTINFO && data_len >= sizeof(struct in6_pktinfo)) {
                struct in6_pktinfo info;
                memcpy(&info, data, sizeof info);
                int link_local = IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr) ||
                                 IN6_IS_ADDR_MC_LINKLOCAL(&info.ipi6_addr);
                cp_addr_load(&meta->to, AF_INET6, &info.ipi6_addr,
                             link_local ? (uint32_t)info.ipi6_ifindex : 0);
                meta->has_to = 1;
            }
        }
    }
}

/* What recvmsg told beside the bytes of one datagram (from its msghdr, sender
 * address and the CLOCK_REALTIME read right after the call) into meta. */
static void read_meta(struct msghdr *msg, const struct sockaddr_storage *from, int64_t after,
                      cp_recv_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->ttl = -1;
    meta->user_ts_ns = after;
    if (msg->msg_namelen > 0)
        cp_from_sockaddr((const struct sockaddr *)from, &meta->from, NULL);
    read_control(msg, meta);
}

int cp_recv(int fd, uint8_t *buf, size_t cap, cp_recv_meta *meta)
{
    if (buf == NULL && cap != 0)
        return -EINVAL;
    if (cap > INT_MAX)
        cap = INT_MAX;

    struct sockaddr_storage from;
    memset(&from, 0, sizeof from);
    /* Room for a timestamp, TTL/hop limit and packet info with margin. */
    union {
        struct cmsghdr align;
        unsigned char bytes[512];
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr msg = {
        .msg_name = &from,
        .msg_namelen = sizeof from,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = sizeof control.bytes,
    };
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    int64_t after = cp_realtime_ns();
    if (n < 0) {
        int e = errno;
        return e == EWOULDBLOCK ? -EAGAIN : -e;
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        return -EMSGSIZE; /* the datagram is consumed; a partial one is useless */

    if (meta != NULL)
        read_meta(&msg, &from, after, meta);
    return (int)n;
}

/* The headers of one recvmmsg of up to CP_BATCH_MAX datagrams, each into its own
 * slot of a caller's buffer. Too large for a small stack frame: about 46 KiB. */
typedef struct recv_many_state {
    struct sockaddr_storage names[CP_BATCH_MAX];
    struct iovec iovs[CP_BATCH_MAX];
    struct mmsghdr msgs[CP_BATCH_MAX];
    /* Room for a timestamp, TTL/hop limit and packet info with margin (as cp_recv). */
    union {
        struct cmsghdr align;
        unsigned char bytes[256];
    } controls[CP_BATCH_MAX];
} recv_many_state;

/* One non-blocking recvmmsg(fd, flags) of up to count datagrams, datagram i into
 * bufs + i * slot (with its sender's address when want_names). Returns how many
 * were read (>= 1), -EAGAIN when none was waiting, or -errno. The caller checked
 * the arguments. */
static int recv_many(int fd, recv_many_state *st, uint8_t *bufs, size_t slot, size_t count,
                     int want_names, int flags)
{
    /* Every field set, none cleared twice: a paced sweep reads a few datagrams per turn, and
     * clearing all 64 headers first was a twentieth of its user time. */
    for (size_t i = 0; i < count; i++) {
        st->iovs[i].iov_base = bufs + i * slot;
        st->iovs[i].iov_len = slot;
        st->msgs[i].msg_hdr = (struct msghdr){
            .msg_name = want_names ? &st->names[i] : NULL,
            .msg_namelen = want_names ? sizeof st->names[i] : 0,
            .msg_iov = &st->iovs[i],
            .msg_iovlen = 1,
            .msg_control = st->controls[i].bytes,
            .msg_controllen = sizeof st->controls[i].bytes,
        };
        st->msgs[i].msg_len = 0;
    }
    int n = recvmmsg(fd, st->msgs, (unsigned int)count, flags | MSG_DONTWAIT, NULL);
    if (n < 0) {
        int e = errno;
        return e == EWOULDBLOCK ? -EAGAIN : -e;
    }
    return n == 0 ? -EAGAIN : n;
}

static int batch_arguments_ok(const uint8_t *bufs, const int *lengths, const void *out,
                              size_t slot, size_t count)
{
    return bufs != NULL && lengths != NULL && out != NULL && count != 0 &&
           count <= CP_BATCH_MAX && slot != 0 && slot <= INT_MAX;
}

int cp_recv_batch(int fd, uint8_t *bufs, size_t slot, size_t count, int *lengths,
                  cp_recv_meta *metas)
{
    if (!batch_arguments_ok(bufs, lengths, metas, slot, count))
        return -EINVAL;
    recv_many_state st;
    int n = recv_many(fd, &st, bufs, slot, count, 1, 0);
    int64_t after = cp_realtime_ns();
    for (int i = 0; i < n; i++) {
        struct msghdr *msg = &st.msgs[i].msg_hdr;
        if (msg->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
            memset(&metas[i], 0, sizeof metas[i]);
            metas[i].ttl = -1;
            lengths[i] = -EMSGSIZE; /* consumed; a partial datagram is useless */
            continue;
        }
        lengths[i] = (int)st.msgs[i].msg_len;
        read_meta(msg, &st.names[i], after, &metas[i]);
    }
    return n;
}

/* The send timestamp and IP packet of one error-queue entry of n bytes read
 * into frame: the packet is copied to buf (cap bytes; frame and buf may
 * overlap). Returns the packet's length, -ENOMSG or -EMSGSIZE. */
static int decode_send_timestamp(const struct msghdr *msg, const uint8_t *frame, size_t n,
                                 uint8_t *buf, size_t cap, int64_t *ts_ns)
{
    int64_t stamp = 0;
    int is_timestamp = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL;
         c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
            struct scm_timestamping ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            stamp = (int64_t)ts.ts[0].tv_sec * 1000000000 + ts.ts[0].tv_nsec;
        } else if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
                   (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
            struct sock_extended_err err;
            if (c->cmsg_len >= CMSG_LEN(sizeof err)) {
                memcpy(&err, CMSG_DATA(c), sizeof err);
                is_timestamp = err.ee_origin == SO_EE_ORIGIN_TIMESTAMPING;
            }
        }
    }
    if (!is_timestamp || stamp == 0 || (msg->msg_flags & MSG_TRUNC))
        return -ENOMSG;
    /* The copy starts at the MAC header on Ethernet-like devices (veth, lo)
     * and at the IP header on devices without one (tun, WireGuard). */
    cp_frame decoded;
    if (cp_frame_decode(DLT_EN10MB, frame, n, &decoded) != 0 || decoded.family == 0) {
        if (cp_frame_decode(DLT_RAW, frame, n, &decoded) != 0 || decoded.family == 0)
            return -ENOMSG;
    }
    if (decoded.l3_len > cap || decoded.l3_len > INT_MAX)
        return -EMSGSIZE;
    memmove(buf, decoded.l3, decoded.l3_len);
    *ts_ns = stamp;
    return (int)decoded.l3_len;
}

int cp_recv_send_timestamps(int fd, uint8_t *bufs, size_t slot, size_t count, int *lengths,
                            int64_t *ts_ns)
{
    if (!batch_arguments_ok(bufs, lengths, ts_ns, slot, count))
        return -EINVAL;
    recv_many_state st;
    int n = recv_many(fd, &st, bufs, slot, count, 0, MSG_ERRQUEUE);
    for (int i = 0; i < n; i++) {
        uint8_t *entry = bufs + (size_t)i * slot;
        ts_ns[i] = 0;
        lengths[i] = decode_send_timestamp(&st.msgs[i].msg_hdr, entry, st.msgs[i].msg_len, entry, slot,
                                           &ts_ns[i]);
    }
    return n;
}

int cp_recv_send_timestamp(int fd, uint8_t *buf, size_t cap, int64_t *ts_ns)
{
    if (buf == NULL || ts_ns == NULL)
        return -EINVAL;
    uint8_t frame[2048];
    union {
        struct cmsghdr align;
        unsigned char bytes[512];
    } control;
    struct iovec iov = { .iov_base = frame, .iov_len = sizeof frame };
    struct msghdr msg = {
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.bytes,
        .msg_controllen = sizeof control.bytes,
    };
    ssize_t n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) {
        int e = errno;
        return e == EWOULDBLOCK ? -EAGAIN : -e;
    }
    return decode_send_timestamp(&msg, frame, (size_t)n, buf, cap, ts_ns);
}

static int is_loopback(const cp_addr *a)
{
    static const uint8_t v6_loopback[16] = { [15] = 1 };
    if (a->family == AF_INET)
        return a->bytes[0] == 127;
    return memcmp(a->bytes, v6_loopback, 16) == 0 ||
           /* IPv4-mapped 127/8 */
           (memcmp(a->bytes, (const uint8_t[12]){ [10] = 0xff, [11] = 0xff }, 12) == 0 &&
            a->bytes[12] == 127);
}

static int copy_ifname(const char *name, char *ifname, size_t cap)
{
    if (ifname == NULL)
        return 0;
    size_t n = strlen(name);
    if (n + 1 > cap)
        return -ENOSPC;
    memcpy(ifname, name, n + 1);
    return 0;
}

/* The interface that owns address a (and, for scoped IPv6, that scope). */
static int interface_of(const cp_addr *a, char *ifname, size_t cap)
{
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0)
        return -errno;
    int rc = -ENODEV;
    for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != a->family)
            continue;
        cp_addr candidate;
        cp_from_sockaddr(i->ifa_addr, &candidate, NULL);
        size_t n = a->family == AF_INET ? 4 : 16;
        if (memcmp(candidate.bytes, a->bytes, n) != 0)
            continue;
        if (a->family == AF_INET6 && a->scope_id != 0 && candidate.scope_id != 0 &&
            a->scope_id != candidate.scope_id)
            continue;
        rc = copy_ifname(i->ifa_name, ifname, cap);
        break;
    }
    freeifaddrs(list);
    return rc;
}

int cp_route_lookup(const cp_addr *dst, cp_addr *src_out, char *ifname, size_t ifname_cap)
{
    if (dst == NULL)
        return -EINVAL;
    struct sockaddr_storage ss;
    int ss_len = cp_to_sockaddr(dst, 33434, &ss); /* the traceroute port; nothing is sent */
    if (ss_len < 0)
        return ss_len;
    int fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, (struct sockaddr *)&ss, (socklen_t)ss_len) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    close(fd);

    cp_addr src;
    cp_from_sockaddr((struct sockaddr *)&local, &src, NULL);
    if (src.family != dst->family)
        return -EAFNOSUPPORT;
    /* The interface only when asked: getifaddrs dumps every link and address over netlink. */
    if (ifname == NULL)
        rc = 0;
    else if (is_loopback(dst))
        rc = copy_ifname("lo", ifname, ifname_cap);
    else
        rc = interface_of(&src, ifname, ifname_cap);
    if (rc != 0)
        return rc;
    if (src_out != NULL)
        *src_out = src;
    return 0;
}

int cp_route_mtu(const cp_addr *dst, uint32_t *mtu_out)
{
    if (dst == NULL || mtu_out == NULL || (dst->family != AF_INET && dst->family != AF_INET6))
        return -EINVAL;
    struct sockaddr_storage ss;
    int ss_len = cp_to_sockaddr(dst, 33434, &ss); /* nothing is sent */
    if (ss_len < 0)
        return ss_len;
    int fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0)
        return -errno;
    int rc = 0;
    int mtu = 0;
    socklen_t mtu_len = sizeof mtu;
    /* IP_MTU / IPV6_MTU on a connected socket: the route's MTU, lowered by any "fragmentation
     * needed" (RFC 1191) or "packet too big" (RFC 8201) the kernel has taken in (ip(7), ipv6(7)). */
    if (connect(fd, (struct sockaddr *)&ss, (socklen_t)ss_len) != 0)
        rc = -errno;
    else if (getsockopt(fd, dst->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
                        dst->family == AF_INET ? IP_MTU : IPV6_MTU, &mtu, &mtu_len) != 0)
        rc = -errno;
    else if (mtu_len != sizeof mtu || mtu <= 0)
        rc = -EPROTO;
    close(fd);
    if (rc == 0)
        *mtu_out = (uint32_t)mtu;
    return rc;
}
