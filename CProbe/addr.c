/*
 * addr.c — cp_addr to and from numeric IPv4/IPv6 literals (no DNS), packet
 * bytes and sockaddrs: the one address loader of CProbe.
 *
 * IPv6 literals may carry a zone: "fe80::1%eth0" or "fe80::1%2" (RFC 4007
 * §11). A zone name is resolved with if_nametoindex in the calling thread's
 * network namespace.
 */
#include "cp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

/* Parses a decimal zone index; 0 when text is not a plain positive number. */
static uint32_t parse_zone_index(const char *text)
{
    uint64_t v = 0;
    if (*text == '\0')
        return 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return 0;
    }
    return (uint32_t)v;
}

int cp_addr_parse(const char *text, cp_addr *out)
{
    if (text == NULL || out == NULL)
        return -EINVAL;
    cp_addr a;
    memset(&a, 0, sizeof a);

    if (strchr(text, ':') == NULL) {
        if (inet_pton(AF_INET, text, a.bytes) != 1)
            return -EINVAL;
        a.family = AF_INET;
        *out = a;
        return 0;
    }

    /* The longest IPv6 literal is 45 characters (INET6_ADDRSTRLEN - 1). */
    char host[INET6_ADDRSTRLEN];
    const char *zone = strchr(text, '%');
    size_t host_len = zone != NULL ? (size_t)(zone - text) : strlen(text);
    if (host_len == 0 || host_len >= sizeof host)
        return -EINVAL;
    memcpy(host, text, host_len);
    host[host_len] = '\0';
    if (inet_pton(AF_INET6, host, a.bytes) != 1)
        return -EINVAL;
    a.family = AF_INET6;
    if (zone != NULL) {
        zone++;
        if (*zone == '\0' || strlen(zone) >= IF_NAMESIZE)
            return -EINVAL;
        uint32_t index = parse_zone_index(zone);
        if (index == 0)
            index = if_nametoindex(zone);
        if (index == 0)
            return -EINVAL;
        a.scope_id = index;
    }
    *out = a;
    return 0;
}

int cp_addr_format(const cp_addr *addr, char *buf, size_t cap)
{
    if (addr == NULL || buf == NULL)
        return -EINVAL;
    char text[INET6_ADDRSTRLEN + 1 + IF_NAMESIZE + 1];
    if (addr->family == AF_INET) {
        if (inet_ntop(AF_INET, addr->bytes, text, sizeof text) == NULL)
            return -EINVAL;
    } else if (addr->family == AF_INET6) {
        if (inet_ntop(AF_INET6, addr->bytes, text, INET6_ADDRSTRLEN) == NULL)
            return -EINVAL;
        if (addr->scope_id != 0) {
            size_t n = strlen(text);
            char name[IF_NAMESIZE];
            if (if_indextoname(addr->scope_id, name) != NULL)
                snprintf(text + n, sizeof text - n, "%%%s", name);
            else
                snprintf(text + n, sizeof text - n, "%%%u", (unsigned)addr->scope_id);
        }
    } else {
        return -EINVAL;
    }
    size_t n = strlen(text);
    if (n + 1 > cap)
        return -ENOSPC;
    memcpy(buf, text, n + 1);
    return 0;
}

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
