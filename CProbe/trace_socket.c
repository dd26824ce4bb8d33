/*
 * trace_socket.c — sockets for traceroute probes (UDP, raw TCP), sending with
 * a per-packet TTL / hop limit.
 */
#define _GNU_SOURCE
#include "cp_internal.h"
#include "cprobe_trace.h"

#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Binds fd to src:port, or to the wildcard address of family when src is NULL. */
static int bind_to(int fd, int family, const cp_addr *src, uint16_t port)
{
    cp_addr any;
    if (src == NULL) {
        memset(&any, 0, sizeof any);
        any.family = family;
        src = &any;
    }
    if (src->family != family)
        return -EINVAL;
    struct sockaddr_storage ss;
    int ss_len = cp_to_sockaddr(src, port, &ss);
    if (ss_len < 0)
        return ss_len;
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)ss_len) != 0)
        return -errno;
    return 0;
}

int cp_trace_udp_socket_open(int family, const cp_addr *src, uint16_t sport)
{
    if (family != AF_INET && family != AF_INET6)
        return -EAFNOSUPPORT;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0)
        return -errno;
    int rc = cp_enable_receive_metadata(fd, family);
    if (rc == 0)
        rc = bind_to(fd, family, src, sport);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int cp_trace_local_port(int fd, uint16_t *port_out)
{
    if (port_out == NULL)
        return -EINVAL;
    cp_addr local;
    return cp_local_address(fd, &local, port_out);
}

/*
 * Classic BPF admitting TCP segments to local_port (and from remote_port when
 * non-zero). A raw IPv4 socket's filter sees the IP header at offset 0 (the
 * TCP header lies at 4 * IHL); a raw IPv6 socket's sees the TCP header.
 * Loads past the end of a short packet drop it.
 */
static int attach_port_filter(int fd, int family, uint16_t local_port, uint16_t remote_port)
{
    struct sock_filter prog[8];
    unsigned short n = 0;
    uint16_t mode = family == AF_INET ? BPF_IND : BPF_ABS;
    if (family == AF_INET)
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | mode, 2);
    if (remote_port != 0) {
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, local_port, 0, 3);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | mode, 0);
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, remote_port, 0, 1);
    } else {
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, local_port, 0, 1);
    }
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog fprog = { .len = n, .filter = prog };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0)
        return -errno;
    /* Segments queued between socket() and the filter were not filtered. */
    uint8_t scratch[64];
    while (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) >= 0) {
    }
    return 0;
}

int cp_trace_raw_udp_socket_open(int family)
{
    if (family != AF_INET && family != AF_INET6)
        return -EAFNOSUPPORT;
    int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0)
        return -errno;
    /* A raw UDP socket gets a copy of every UDP datagram of the host: drop them all. */
    struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog fprog = { .len = 1, .filter = &drop };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    uint8_t scratch[64];
    while (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) >= 0) {
    }
    return fd;
}

int cp_trace_raw_tcp_socket_open(int family, const cp_addr *src,
                                 uint16_t local_port, uint16_t remote_port)
{
    if (family != AF_INET && family != AF_INET6)
        return -EAFNOSUPPORT;
    int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0)
        return -errno;
    int rc = cp_enable_receive_metadata(fd, family);
    /* RFC 3542 §3.1: the kernel computes the checksum at this offset on
     * output and verifies it on input (the TCP checksum field, RFC 9293). */
    if (rc == 0 && family == AF_INET6)
        rc = cp_set_int_option(fd, IPPROTO_IPV6, IPV6_CHECKSUM, 16);
    if (rc == 0 && src != NULL)
        rc = bind_to(fd, family, src, 0);
    if (rc == 0 && local_port != 0)
        rc = attach_port_filter(fd, family, local_port, remote_port);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int cp_trace_tcp_port_reserve(int family, const cp_addr *src, uint16_t *port_out)
{
    if (port_out == NULL)
        return -EINVAL;
    if (family != AF_INET && family != AF_INET6)
        return -EAFNOSUPPORT;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0)
        return -errno;
    int rc = bind_to(fd, family, src, 0);
    if (rc == 0)
        rc = cp_trace_local_port(fd, port_out);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int cp_trace_send(int fd, const uint8_t *buf, size_t len, const cp_addr *dst,
                  uint16_t dport, int ttl, int64_t *user_ts_ns)
{
    if (dst == NULL || (buf == NULL && len != 0) || (ttl != -1 && (ttl < 1 || ttl > 255)))
        return -EINVAL;
    if (len > INT_MAX)
        return -EMSGSIZE;
    struct sockaddr_storage ss;
    int ss_len = cp_to_sockaddr(dst, dport, &ss);
    if (ss_len < 0)
        return ss_len;

    union {
        struct cmsghdr align;
        unsigned char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = {
        .msg_name = &ss,
        .msg_namelen = (socklen_t)ss_len,
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };
    if (ttl != -1) {
        /* IP_TTL as ancillary data (Linux >= 4.5, ip(7)); IPV6_HOPLIMIT per
         * RFC 3542 §6.3. Both are per packet: no setsockopt race between
         * concurrent probes on one socket. */
        msg.msg_control = control.bytes;
        msg.msg_controllen = sizeof control.bytes;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = dst->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
        c->cmsg_type = dst->family == AF_INET ? IP_TTL : IPV6_HOPLIMIT;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
    }

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ssize_t n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
        int e = errno;
        return e == EWOULDBLOCK ? -EAGAIN : -e;
    }
    if (user_ts_ns != NULL)
        *user_ts_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return (int)n;
}
