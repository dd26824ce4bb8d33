/* Cancellation, deadlines, addresses and sockets shared by the probes. */
#define _GNU_SOURCE
#include "cservice_probe.h"
#include "cs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int cs_cancel_open(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cs_cancel_fire(int fd) {
    uint64_t one = 1;
    if (fd < 0) return -EBADF;
    /* EAGAIN means the counter is already non-zero: it is readable, which is all we need. */
    if (write(fd, &one, sizeof one) < 0 && errno != EAGAIN) return -errno;
    return 0;
}

int64_t cs_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int cs_ms_left(int64_t deadline_ns) {
    int64_t left = deadline_ns - cs_now_ns();
    if (left <= 0) return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

int cs_sockaddr(const char *ip, uint16_t port, struct sockaddr_storage *addr, socklen_t *len) {
    if (ip == NULL || addr == NULL || len == NULL) return -EINVAL;
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
        return 0;
    }
    return -EINVAL;
}

int cs_wait(int fd, short events, int cancel_fd, int64_t deadline_ns) {
    for (;;) {
        struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = cancel_fd, .events = POLLIN}};
        nfds_t count = cancel_fd >= 0 ? 2 : 1;
        int ms = cs_ms_left(deadline_ns);
        int ready = poll(fds, count, ms);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (count == 2 && (fds[1].revents & POLLIN)) return -ECANCELED;
        /* POLLERR/POLLHUP: the caller reads the socket's error. */
        if (fds[0].revents) return 0;
        if (cs_ms_left(deadline_ns) == 0) return -ETIMEDOUT;
    }
}

int cs_socket(int family, int type) {
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (type == SOCK_DGRAM) {
        /* Without RECVERR a connected UDP socket reports only "hard" ICMP errors (port
         * unreachable); with it, net and host unreachable arrive as ENETUNREACH/EHOSTUNREACH. */
        int on = 1;
        int rc = family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on)
                                   : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
        if (rc < 0) {
            int saved = errno;
            close(fd);
            return -saved;
        }
    }
    return fd;
}
