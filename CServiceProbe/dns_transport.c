/* DNS over UDP with TCP fallback on truncation (RFC 1035 §4.2, RFC 7766). */
#define _GNU_SOURCE
#include "cservice_probe.h"
#include "cs_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DNS_HEADER 12
/* Copies of a UDP query sent within one resolver's timeout (at 0, T/3, 2T/3). */
#define CS_DNS_UDP_SENDS 3

/* A response belongs to the query when it has the query's ID and QR is set. */
static int matches(const uint8_t *response, size_t len, const uint8_t *query) {
    return len >= DNS_HEADER && response[0] == query[0] && response[1] == query[1] && (response[2] & 0x80);
}

static int udp_leg(const struct sockaddr_storage *addr, socklen_t addr_len, const uint8_t *query, size_t query_len,
                   int cancel_fd, int64_t deadline, uint8_t *response, size_t cap, size_t *response_len,
                   cs_dns_exchange_info *info) {
    int fd = cs_socket(addr->ss_family, SOCK_DGRAM);
    if (fd < 0) return fd;
    int rc;
    if (connect(fd, (const struct sockaddr *)addr, addr_len) < 0 || send(fd, query, query_len, 0) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    /* Like a stub resolver, send the query again when a share of the time passes without an
     * answer: one lost datagram must not fail the resolver. The same ID is kept, so an answer
     * to any copy is accepted. */
    int64_t start = cs_now_ns();
    int64_t step = (deadline - start) / CS_DNS_UDP_SENDS;
    int64_t next_send = start + step;
    info->udp_sends = 1;
    for (;;) {
        int resend_due = info->udp_sends < CS_DNS_UDP_SENDS && next_send < deadline;
        rc = cs_wait(fd, POLLIN, cancel_fd, resend_due ? next_send : deadline);
        if (rc == -ETIMEDOUT && resend_due) {
            if (send(fd, query, query_len, 0) < 0 && errno != EAGAIN && errno != EINTR) {
                rc = -errno;
                break;
            }
            info->udp_sends++;
            next_send += step;
            continue;
        }
        if (rc < 0) break;
        ssize_t n = recv(fd, response, cap, MSG_TRUNC);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            rc = -errno;
            break;
        }
        if ((size_t)n > cap) {
            rc = -EMSGSIZE;
            break;
        }
        if (!matches(response, (size_t)n, query)) {
            info->ignored_responses++;
            continue;
        }
        *response_len = (size_t)n;
        info->truncated = (response[2] & 0x02) != 0;
        rc = 0;
        break;
    }
    close(fd);
    return rc;
}

/* Writes or reads exactly len bytes on a non-blocking stream before the deadline. */
static int stream_io(int fd, int writing, uint8_t *buf, size_t len, int cancel_fd, int64_t deadline) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = writing ? send(fd, buf + done, len - done, MSG_NOSIGNAL) : recv(fd, buf + done, len - done, 0);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n == 0) return -EPROTO;
        if (errno != EAGAIN && errno != EINTR) return -errno;
        int rc = cs_wait(fd, writing ? POLLOUT : POLLIN, cancel_fd, deadline);
        if (rc < 0) return rc;
    }
    return 0;
}

static int tcp_leg(const struct sockaddr_storage *addr, socklen_t addr_len, const uint8_t *query, size_t query_len,
                   int cancel_fd, int64_t deadline, uint8_t *response, size_t cap, size_t *response_len) {
    if (query_len > 0xffff) return -EINVAL;
    int fd = cs_socket(addr->ss_family, SOCK_STREAM);
    if (fd < 0) return fd;
    int rc = 0;
    if (connect(fd, (const struct sockaddr *)addr, addr_len) < 0) {
        if (errno != EINPROGRESS) {
            rc = -errno;
        } else if ((rc = cs_wait(fd, POLLOUT, cancel_fd, deadline)) == 0) {
            int error = 0;
            socklen_t error_len = sizeof error;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) < 0) error = errno;
            rc = -error;
        }
    }
    uint8_t prefix[2] = {(uint8_t)(query_len >> 8), (uint8_t)(query_len & 0xff)};
    if (rc == 0) rc = stream_io(fd, 1, prefix, 2, cancel_fd, deadline);
    if (rc == 0) rc = stream_io(fd, 1, (uint8_t *)query, query_len, cancel_fd, deadline);
    if (rc == 0) rc = stream_io(fd, 0, prefix, 2, cancel_fd, deadline);
    size_t length = ((size_t)prefix[0] << 8) | prefix[1];
    if (rc == 0 && length > cap) rc = -EMSGSIZE;
    if (rc == 0) rc = stream_io(fd, 0, response, length, cancel_fd, deadline);
    if (rc == 0 && !matches(response, length, query)) rc = -EPROTO;
    if (rc == 0) *response_len = length;
    close(fd);
    return rc;
}

int cs_dns_exchange(const char *ip, uint16_t port, const uint8_t *query, size_t query_len,
                    int timeout_ms, int cancel_fd,
                    uint8_t *response, size_t response_cap, size_t *response_len,
                    cs_dns_exchange_info *info) {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (query == NULL || query_len < DNS_HEADER || response == NULL || response_len == NULL || info == NULL ||
        timeout_ms < 1)
        return -EINVAL;
    memset(info, 0, sizeof *info);
    *response_len = 0;
    int rc = cs_sockaddr(ip, port, &addr, &addr_len);
    if (rc < 0) return rc;
    int64_t start = cs_now_ns();
    int64_t deadline = start + (int64_t)timeout_ms * 1000000LL;
    rc = udp_leg(&addr, addr_len, query, query_len, cancel_fd, deadline, response, response_cap, response_len, info);
    if (rc == 0 && info->truncated) {
        info->used_tcp = 1;
        rc = tcp_leg(&addr, addr_len, query, query_len, cancel_fd, deadline, response, response_cap, response_len);
    }
    info->latency_ns = cs_now_ns() - start;
    return rc;
}

/* Sets the IP TTL or IPv6 hop limit of a socket. 0 or -errno. */
static int set_hop_limit(int fd, int family, int hops) {
    int rc = family == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops)
                                : setsockopt(fd, IPPROTO_IP, IP_TTL, &hops, sizeof hops);
    return rc < 0 ? -errno : 0;
}

int cs_dns_nearest_answer(const char *ip, uint16_t port, const uint8_t *query, size_t query_len, int max_hops,
                          int timeout_ms, int cancel_fd, int *hops) {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (query == NULL || query_len < DNS_HEADER || hops == NULL || timeout_ms < 1 || max_hops < 1 ||
        max_hops > CS_DNS_MAX_HOPS)
        return -EINVAL;
    *hops = 0;
    int rc = cs_sockaddr(ip, port, &addr, &addr_len);
    if (rc < 0) return rc;
    struct pollfd fds[CS_DNS_MAX_HOPS + 1];
    /* 1 while the socket of limit i+1 waits for an answer. */
    int waiting[CS_DNS_MAX_HOPS];
    int opened = 0;
    for (; opened < max_hops && rc == 0; opened++) {
        int fd = cs_socket(addr.ss_family, SOCK_DGRAM);
        if (fd < 0) {
            rc = fd;
            break;
        }
        fds[opened] = (struct pollfd){.fd = fd, .events = POLLIN};
        waiting[opened] = 1;
        rc = set_hop_limit(fd, addr.ss_family, opened + 1);
        if (rc == 0 && connect(fd, (const struct sockaddr *)&addr, addr_len) < 0) rc = -errno;
        /* A send refused at once (no route) leaves that limit unanswered, not the probe failed. */
        if (rc == 0 && send(fd, query, query_len, 0) < 0) waiting[opened] = 0;
    }
    fds[opened] = (struct pollfd){.fd = cancel_fd, .events = POLLIN};
    int64_t start = cs_now_ns();
    int64_t deadline = start + (int64_t)timeout_ms * 1000000LL;
    int64_t resend_at = start + (deadline - start) / 2;
    int resent = 0;
    uint8_t response[512];
    while (rc == 0) {
        int64_t now = cs_now_ns();
        if (!resent && now >= resend_at) {
            /* One lost datagram must not hide a hop: send again to the limits still silent. */
            for (int i = 0; i < opened; i++)
                if (waiting[i] && send(fds[i].fd, query, query_len, 0) < 0) waiting[i] = 0;
            resent = 1;
        }
        /* Done when the nearest limit still waiting is beyond one already answered. */
        int pending = 0;
        for (int i = 0; i < opened && (*hops == 0 || i + 1 < *hops); i++) pending |= waiting[i];
        if (!pending) break;
        if (now >= deadline) break;
        for (int i = 0; i < opened; i++) fds[i].events = waiting[i] ? POLLIN : 0;
        int n = poll(fds, (nfds_t)opened + (cancel_fd >= 0 ? 1 : 0), cs_ms_left(resent ? deadline : resend_at));
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = -errno;
            break;
        }
        if (cancel_fd >= 0 && (fds[opened].revents & POLLIN)) {
            rc = -ECANCELED;
            break;
        }
        for (int i = 0; i < opened; i++) {
            if (!waiting[i] || fds[i].revents == 0) continue;
            ssize_t got = recv(fds[i].fd, response, sizeof response, MSG_TRUNC);
            if (got < 0) {
                /* An ICMP error (port unreachable, or time exceeded with IP_RECVERR): no answer at this limit. */
                if (errno != EAGAIN && errno != EINTR) waiting[i] = 0;
                continue;
            }
            if (!matches(response, (size_t)got < sizeof response ? (size_t)got : sizeof response, query)) continue;
            waiting[i] = 0;
            if (*hops == 0 || i + 1 < *hops) *hops = i + 1;
        }
    }
    for (int i = 0; i < opened; i++) close(fds[i].fd);
    return rc;
}
