/* TCP connect probe: a non-blocking connect, timed, then closed without data. */
#define _GNU_SOURCE
#include "cservice_probe.h"
#include "cs_internal.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int cs_tcp_connect(const char *ip, uint16_t port, int timeout_ms, int cancel_fd, int64_t *connect_ns) {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (connect_ns == NULL || timeout_ms < 1) return -EINVAL;
    *connect_ns = 0;
    int rc = cs_sockaddr(ip, port, &addr, &addr_len);
    if (rc < 0) return rc;
    int fd = cs_socket(addr.ss_family, SOCK_STREAM);
    if (fd < 0) return fd;
    int64_t start = cs_now_ns();
    int64_t deadline = start + (int64_t)timeout_ms * 1000000LL;
    if (connect(fd, (struct sockaddr *)&addr, addr_len) == 0) {
        rc = 0;
    } else if (errno != EINPROGRESS) {
        rc = -errno;
    } else {
        rc = cs_wait(fd, POLLOUT, cancel_fd, deadline);
        if (rc == 0) {
            int error = 0;
            socklen_t error_len = sizeof error;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) < 0) error = errno;
            rc = -error;
        }
    }
    *connect_ns = cs_now_ns() - start;
    close(fd);
    return rc;
}
