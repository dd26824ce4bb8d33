/*
 * capture_filter.c — the one builder of the pcap filter expression a capture
 * installs (cp_capture_filter): our echo requests and replies, our trace
 * probes, the answers to them and the ICMP errors that quote them.
 *
 * Offsets: icmp[] is relative to the ICMP header whatever the IPv4 options,
 * and libpcap makes it match first fragments only. ip6[40] assumes ICMPv6
 * directly after the fixed header, which "icmp6" (next header 58) ensures; our
 * probes carry no extension headers, so neither do the errors quoting them.
 */
#include "cp_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>

/* Appends to the filter being built; *used >= cap afterwards means it did not fit. */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = *used < cap ? cap - *used : 0;
    int n = vsnprintf(room > 0 ? buf + *used : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

static int valid_trace(const cp_capture_trace *t)
{
    if (t->method != CP_TRACE_METHOD_UDP && t->method != CP_TRACE_METHOD_ICMP &&
        t->method != CP_TRACE_METHOD_TCP)
        return 0;
    if (t->family != AF_INET && t->family != AF_INET6)
        return 0;
    return t->dst.family == 0 || t->dst.family == t->family;
}

static int same_destination(const cp_capture_trace *a, const cp_capture_trace *b)
{
    if (a->family != b->family || a->dst.family != b->dst.family)
        return 0;
    return a->dst.family == 0 || memcmp(a->dst.bytes, b->dst.bytes, a->family == AF_INET ? 4 : 16) == 0;
}

/* ICMP errors (unreachable, time exceeded, parameter problem; for IPv6 packet
 * too big too) whose quoted packet went to t's destination, or every one of
 * t's family when it has none. The quoted IPv4 destination is at ICMP offset
 * 8 + 16 (RFC 792), the quoted IPv6 one at ICMPv6 offset 8 + 24 (RFC 4443),
 * i.e. ip6[72..87]. */
static void append_errors(char *buf, size_t cap, size_t *used, const cp_capture_trace *t)
{
    const uint8_t *d = t->dst.bytes;
    if (t->family == AF_INET) {
        append(buf, cap, used, "(icmp and (icmp[0] == 3 or icmp[0] == 11 or icmp[0] == 12)");
        if (t->dst.family != 0)
            append(buf, cap, used, " and icmp[24:4] == 0x%08x", (unsigned)cp_be32(d));
    } else {
        append(buf, cap, used,
               "(icmp6 and (ip6[40] == 1 or ip6[40] == 2 or ip6[40] == 3 or ip6[40] == 4)");
        if (t->dst.family != 0)
            append(buf, cap, used,
                   " and ip6[72:4] == 0x%08x and ip6[76:4] == 0x%08x and ip6[80:4] == 0x%08x and "
                   "ip6[84:4] == 0x%08x",
                   (unsigned)cp_be32(d), (unsigned)cp_be32(d + 4), (unsigned)cp_be32(d + 8),
                   (unsigned)cp_be32(d + 12));
    }
    append(buf, cap, used, ")");
}

/* Our probes of t and the destination's direct answers, then the errors
 * quoting them unless an earlier trace to the same destination admitted them. */
static void append_trace(char *buf, size_t cap, size_t *used, const cp_capture_trace *t,
                         int with_errors)
{
    int v4 = t->family == AF_INET;
    char host[INET6_ADDRSTRLEN] = "";
    if (t->dst.family != 0)
        inet_ntop(t->family, t->dst.bytes, host, sizeof host);
    append(buf, cap, used, "(%s and (", v4 ? "ip" : "ip6");
    /* Out: from us to the destination; in: from it back to us. */
    for (int in = 0; in < 2; in++) {
        if (in)
            append(buf, cap, used, " or ");
        switch (t->method) {
        case CP_TRACE_METHOD_ICMP: /* the echo identifier sits at ICMP offset 4 */
            if (v4)
                append(buf, cap, used, "(icmp and icmp[0] == %u and icmp[4:2] == %u",
                       in ? CP_ICMP4_ECHO_REPLY : CP_ICMP4_ECHO_REQUEST, t->ident);
            else
                append(buf, cap, used, "(icmp6 and ip6[40] == %u and ip6[44:2] == %u",
                       in ? CP_ICMP6_ECHO_REPLY : CP_ICMP6_ECHO_REQUEST, t->ident);
            if (host[0] != '\0')
                append(buf, cap, used, " and %s host %s", in ? "src" : "dst", host);
            break;
        default: /* UDP and TCP: our port, and the destination's (TCP) when given */
            append(buf, cap, used, "(%s", t->method == CP_TRACE_METHOD_UDP ? "udp" : "tcp");
            if (host[0] != '\0')
                append(buf, cap, used, " and %s host %s", in ? "src" : "dst", host);
            append(buf, cap, used, " and %s port %u", in ? "dst" : "src", t->sport);
            if (t->method == CP_TRACE_METHOD_TCP && t->dport != 0)
                append(buf, cap, used, " and %s port %u", in ? "src" : "dst", t->dport);
            break;
        }
        append(buf, cap, used, ")");
    }
    if (with_errors) {
        append(buf, cap, used, " or ");
        append_errors(buf, cap, used, t);
    }
    append(buf, cap, used, "))");
}

int cp_capture_filter(const uint16_t *echo_idents, size_t echo_count,
                      const cp_capture_trace *traces, size_t trace_count, char *buf, size_t cap)
{
    if (buf == NULL || (echo_idents == NULL && echo_count != 0) ||
        (traces == NULL && trace_count != 0))
        return -EINVAL;
    /* An empty expression would admit every packet of the host. */
    if (echo_count == 0 && trace_count == 0)
        return -EINVAL;
    for (size_t i = 0; i < trace_count; i++)
        if (!valid_trace(&traces[i]))
            return -EINVAL;

    size_t used = 0;
    for (size_t i = 0; i < echo_count; i++) {
        if (i > 0)
            append(buf, cap, &used, " or ");
        append(buf, cap, &used,
               "((icmp and (icmp[0] == %u or icmp[0] == %u) and icmp[4:2] == %u) or "
               "(icmp6 and (ip6[40] == %u or ip6[40] == %u) and ip6[44:2] == %u))",
               CP_ICMP4_ECHO_REQUEST, CP_ICMP4_ECHO_REPLY, echo_idents[i],
               CP_ICMP6_ECHO_REQUEST, CP_ICMP6_ECHO_REPLY, echo_idents[i]);
    }
    for (size_t i = 0; i < trace_count; i++) {
        int with_errors = 1;
        for (size_t j = 0; j < i && with_errors; j++)
            if (same_destination(&traces[j], &traces[i]))
                with_errors = 0;
        if (used > 0)
            append(buf, cap, &used, " or ");
        append_trace(buf, cap, &used, &traces[i], with_errors);
    }
    if (used >= cap) {
        if (cap > 0)
            buf[0] = '\0'; /* never a truncated filter that admits more than asked */
        return -ENOSPC;
    }
    return 0;
}
