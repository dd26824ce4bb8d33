/*
 * addr.c — cp_addr to and from packet bytes, pktinfo and sockaddrs: the one
 * address loader of CProbe. Literals ("192.0.2.1", "fe80::1%eth0") are parsed
 * and printed by the Swift side (IPAddress), which hands the core cp_addr
 * values; the C tests have their own literal helper (fuzz/test_addr.h).
 */
#include "cp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

void cp_addr_load(cp_addr *a, int family, const void *bytes, uint32_t scope_id)
{
    memset(a, 0, sizeof *a);
    a->family = family;
    memcpy(a->bytes, bytes, family == AF_INET ? 4 : 16);
    if (family == AF_INET6)
        a->scope_id = scope_id;
}

int cp_to_sockaddr(const cp_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, a->bytes, 4);
        return (int)sizeof *sin;
    }
    if (a->family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        memcpy(&sin6->sin6_addr, a->bytes, 16);
        sin6->sin6_scope_id = a->scope_id;
        return (int)sizeof *sin6;
    }
    return -EINVAL;
}

int cp_from_sockaddr(const struct sockaddr *sa, cp_addr *a, uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        cp_addr_load(a, AF_INET, &sin->sin_addr, 0);
        if (port != NULL)
            *port = ntohs(sin->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        cp_addr_load(a, AF_INET6, &sin6->sin6_addr, sin6->sin6_scope_id);
        if (port != NULL)
            *port = ntohs(sin6->sin6_port);
        return 0;
    }
    memset(a, 0, sizeof *a);
    return -EAFNOSUPPORT;
}

int cp_local_address(int fd, cp_addr *a, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t ss_len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &ss_len) != 0)
        return -errno;
    return cp_from_sockaddr((struct sockaddr *)&ss, a, port);
}
