/*
 * cp_internal.h — helpers shared by the CProbe sources; not part of the API.
 *
 * Every multi-byte field read from a packet goes through these helpers after
 * the caller has checked the length, so no read relies on alignment.
 */
#ifndef CP_INTERNAL_H
#define CP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cprobe.h"

struct sockaddr;
struct sockaddr_storage;

/* Shared socket helpers (socket.c), for socket.c and trace_socket.c. */
/** setsockopt of one int. 0 or -errno. */
int cp_set_int_option(int fd, int level, int name, int value);
/** SO_TIMESTAMPNS, TTL / hop limit and packet-info reception, as cp_recv reads them. 0 or -errno. */
int cp_enable_receive_metadata(int fd, int family);

/* The one place where a cp_addr is loaded from or stored to another form
 * (addr.c): packet bytes, pktinfo, sockaddr. */
/** Sets *a to family's address at bytes (4 or 16 of them, any alignment) and
 * scope_id; every other byte of *a is zeroed, so cp_addr compare bytewise. */
void cp_addr_load(cp_addr *a, int family, const void *bytes, uint32_t scope_id);
/** cp_addr and port to a sockaddr; returns its length or -EINVAL. */
int cp_to_sockaddr(const cp_addr *addr, uint16_t port, struct sockaddr_storage *ss);
/** sockaddr_in / sockaddr_in6 to cp_addr (scope id included) and port (port may be NULL).
 * 0, or -EAFNOSUPPORT for another family (then *a is zeroed). */
int cp_from_sockaddr(const struct sockaddr *sa, cp_addr *a, uint16_t *port);
/** The local address and port of a bound socket (getsockname). 0 or -errno. */
int cp_local_address(int fd, cp_addr *a, uint16_t *port);

/* Not in the API (Swift has no use for them); the C unit tests call them. */
/** The link type (DLT_*) of the capture (capture.c). */
int cp_capture_linktype(const cp_capture *cap);
/** Packets the kernel dropped for this capture (pcap_stats ps_drop), or -errno (capture.c). */
int64_t cp_capture_drops(cp_capture *cap);
/** 1 when the calling thread has CAP_NET_RAW effective, 0 when not, -errno on error (caps.c). */
int cp_caps_have_net_raw(void);

/** The RFC 768 / RFC 8200 §8.1 pseudo-header of an upper-layer segment of len
 * bytes, as an unfolded 32-bit sum (trace_build.c). */
uint32_t cp_pseudo_header_sum(const cp_addr *src, const cp_addr *dst, uint8_t proto, size_t len);

static inline uint16_t cp_be16(const uint8_t *p)
{
    return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
}

static inline uint32_t cp_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t cp_be64(const uint8_t *p)
{
    return ((uint64_t)cp_be32(p) << 32) | cp_be32(p + 4);
}

static inline void cp_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void cp_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void cp_put_be64(uint8_t *p, uint64_t v)
{
    cp_put_be32(p, (uint32_t)(v >> 32));
    cp_put_be32(p + 4, (uint32_t)v);
}

#endif /* CP_INTERNAL_H */
