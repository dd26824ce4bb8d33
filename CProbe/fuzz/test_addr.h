/*
 * test_addr.h — numeric IPv4/IPv6 literals to and from cp_addr, for the C tests,
 * fuzzers and corpus generator only. The library parses literals in Swift
 * (IPAddress, whose tests hold it to the same cases); the C core takes cp_addr.
 * IPv6 literals may carry a zone: "fe80::1%eth0" or "fe80::1%2" (RFC 4007 §11).
 */
#ifndef CP_TEST_ADDR_H
#define CP_TEST_ADDR_H

#include "cprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Parses a decimal zone index; 0 when text is not a plain positive number. */
static inline uint32_t test_zone_index(const char *text)
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

static inline int cp_addr_parse(const char *text, cp_addr *out)
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
        uint32_t index = test_zone_index(zone);
        if (index == 0)
            index = if_nametoindex(zone);
        if (index == 0)
            return -EINVAL;
        a.scope_id = index;
    }
    *out = a;
    return 0;
}

static inline int cp_addr_format(const cp_addr *addr, char *buf, size_t cap)
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

#endif
