/* Helpers shared by the CServiceProbe files; not part of the public header. */
#ifndef CS_INTERNAL_H
#define CS_INTERNAL_H

#include <stdint.h>
#include <sys/socket.h>

/** CLOCK_MONOTONIC in nanoseconds. */
int64_t cs_now_ns(void);

/** Milliseconds left until deadline_ns (0 when past, rounded up so a poll never spins). */
int cs_ms_left(int64_t deadline_ns);

/** Parses a numeric IPv4/IPv6 literal and port into *addr. 0 or -EINVAL. */
int cs_sockaddr(const char *ip, uint16_t port, struct sockaddr_storage *addr, socklen_t *len);

/**
 * Waits until fd has `events` (POLLIN/POLLOUT) or cancel_fd is readable or the
 * deadline passes. 0 when fd is ready, -ETIMEDOUT, -ECANCELED, or -errno.
 */
int cs_wait(int fd, short events, int cancel_fd, int64_t deadline_ns);

/** A non-blocking, close-on-exec socket of the address's family, with IP(V6)_RECVERR on for UDP. */
int cs_socket(int family, int type);

#endif
