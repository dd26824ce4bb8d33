/* Bulk TCP flow: loads a path for a fixed time, one direction at a time (bufferbloat probe). */
#define _GNU_SOURCE
#include "cservice_probe.h"
#include "cs_internal.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define CS_BULK_CHUNK 65536
/* An upload never reads: a small receive buffer keeps what the server sends back (a sink and
 * source in one) from loading the other direction with more than a few kilobytes. */
#define CS_BULK_UPLOAD_RCVBUF 4096

static int cs_bulk_connect(int fd, const struct sockaddr_storage *addr, socklen_t addr_len, int cancel_fd,
                           int64_t deadline) {
    if (connect(fd, (const struct sockaddr *)addr, addr_len) == 0) return 0;
    if (errno != EINPROGRESS) return -errno;
    int rc = cs_wait(fd, POLLOUT, cancel_fd, deadline);
    if (rc < 0) return rc;
    int error = 0;
    socklen_t error_len = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) < 0) error = errno;
    return -error;
}

int cs_tcp_bulk(const char *ip, uint16_t port, int download, int connect_timeout_ms, int duration_ms, int cancel_fd,
                uint64_t *bytes, int64_t *elapsed_ns) {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (bytes == NULL || elapsed_ns == NULL || connect_timeout_ms < 1 || duration_ms < 1) return -EINVAL;
    *bytes = 0;
    *elapsed_ns = 0;
    int rc = cs_sockaddr(ip, port, &addr, &addr_len);
    if (rc < 0) return rc;
    int fd = cs_socket(addr.ss_family, SOCK_STREAM);
    if (fd < 0) return fd;
    /* Loss-based congestion control fills a FIFO as most traffic does; BBR would keep the
     * queue short and hide it. An unprivileged process may only pick what
     * net.ipv4.tcp_allowed_congestion_control lists (reno always): cubic, else reno, else the
     * system's default. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", (socklen_t)strlen("cubic")) != 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", (socklen_t)strlen("reno"));
    if (!download) {
        int small = CS_BULK_UPLOAD_RCVBUF;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    int64_t start = cs_now_ns();
    rc = cs_bulk_connect(fd, &addr, addr_len, cancel_fd, start + (int64_t)connect_timeout_ms * 1000000LL);
    if (rc < 0) {
        *elapsed_ns = cs_now_ns() - start;
        close(fd);
        return rc;
    }
    /* Zeros to send; what is read is thrown away. */
    unsigned char *buffer = calloc(1, CS_BULK_CHUNK);
    if (buffer == NULL) {
        close(fd);
        return -ENOMEM;
    }
    int64_t flow_start = cs_now_ns();
    int64_t deadline = flow_start + (int64_t)duration_ms * 1000000LL;
    short events = download ? POLLIN : POLLOUT;
    for (;;) {
        rc = cs_wait(fd, events, cancel_fd, deadline);
        if (rc == -ETIMEDOUT) {
            rc = 0; /* the flow ran its time */
            break;
        }
        if (rc < 0) break;
        ssize_t n = download ? recv(fd, buffer, CS_BULK_CHUNK, MSG_DONTWAIT)
                             : send(fd, buffer, CS_BULK_CHUNK, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            rc = -errno;
            break;
        }
        if (n == 0 && download) {
            rc = -ECONNRESET; /* the server closed: it is not a source */
            break;
        }
        *bytes += (uint64_t)n;
    }
    *elapsed_ns = cs_now_ns() - flow_start;
    if (!download) {
        /* What the socket accepted but the server has not acknowledged is not goodput: up to
         * the whole send buffer (megabytes) on a slow link. */
        int unacked = 0;
        if (ioctl(fd, SIOCOUTQ, &unacked) == 0 && unacked > 0 && (uint64_t)unacked <= *bytes)
            *bytes -= (uint64_t)unacked;
    }
    free(buffer);
    close(fd);
    return rc;
}
