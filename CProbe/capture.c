/*
 * capture.c — libpcap capture for kernel timestamps of our own probes, link
 * layer decoding down to the IP header (the filter: capture_filter.c).
 *
 * The capture is opened non-blocking in immediate mode with nanosecond
 * timestamps where the platform offers them; timestamps are CLOCK_REALTIME,
 * the same clock as SO_TIMESTAMPNS and cp_realtime_ns().
 */
#include "cp_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "cp_pcap.h"

#define CAPTURE_TIMEOUT_MS 10
#define CAPTURE_BUFFER_BYTES (4 * 1024 * 1024)
/* cp_capture_next skips at most this many undecodable frames per call, so a
 * flood of foreign frames cannot keep a caller inside it. */
#define CAPTURE_MAX_SKIPS 64

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define ETHERTYPE_VLAN 0x8100u  /* IEEE 802.1Q */
#define ETHERTYPE_QINQ 0x88a8u  /* IEEE 802.1ad */
#define LINUX_SLL_OUTGOING 4    /* PACKET_OUTGOING */

/* LINKTYPE_RAW as written in capture files; DLT_RAW is 12 on Linux. */
#define LINKTYPE_RAW_NUMBER 101

struct cp_capture {
    pcap_t *pcap;
    int linktype;
    int nano; /* 1 when libpcap delivers nanoseconds in ts.tv_usec */
    int offline; /* a capture file: the end of it is -ENODATA, not "nothing yet" */
};

static void copy_message(char *errbuf, size_t cap, const char *message)
{
    if (errbuf == NULL || cap == 0)
        return;
    snprintf(errbuf, cap, "%s", message != NULL ? message : "");
}

static int activate_error(int status)
{
    switch (status) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        return -EPERM;
    case PCAP_ERROR_NO_SUCH_DEVICE:
        return -ENODEV;
    case PCAP_ERROR_IFACE_NOT_UP:
        return -ENETDOWN;
    default:
        return -EIO;
    }
}

static int install_filter(pcap_t *p, const char *filter, char *errbuf, size_t errbuf_cap)
{
    if (filter == NULL)
        return 0;
    struct bpf_program program;
    if (cp_pcap.compile(p, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        copy_message(errbuf, errbuf_cap, cp_pcap.geterr(p));
        return -EINVAL;
    }
    int set = cp_pcap.setfilter(p, &program);
    cp_pcap.freecode(&program);
    if (set != 0) {
        copy_message(errbuf, errbuf_cap, cp_pcap.geterr(p));
        return -EINVAL;
    }
    return 0;
}

static int wrap(pcap_t *p, int offline, cp_capture **out)
{
    cp_capture *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->pcap = p;
    c->linktype = cp_pcap.datalink(p);
    c->nano = cp_pcap.get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
    c->offline = offline;
    *out = c;
    return 0;
}

int cp_capture_open(const char *device, const char *filter, int snaplen,
                    cp_capture **out, char *errbuf, size_t errbuf_cap)
{
    if (out == NULL || snaplen <= 0)
        return -EINVAL;
    *out = NULL;
    copy_message(errbuf, errbuf_cap, "");
    int loaded = cp_pcap_load(errbuf, errbuf_cap);
    if (loaded != 0)
        return loaded;

    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = cp_pcap.create(device != NULL ? device : "any", pcap_err);
    if (p == NULL) {
        copy_message(errbuf, errbuf_cap, pcap_err);
        return -ENOMEM;
    }
    int rc = -EIO;
    if (cp_pcap.set_snaplen(p, snaplen) != 0 || cp_pcap.set_immediate_mode(p, 1) != 0 ||
        cp_pcap.set_timeout(p, CAPTURE_TIMEOUT_MS) != 0 ||
        cp_pcap.set_buffer_size(p, CAPTURE_BUFFER_BYTES) != 0) {
        copy_message(errbuf, errbuf_cap, "pcap: cannot set capture options");
        goto fail;
    }
    /* Nanoseconds when the platform has them; otherwise microseconds, which
     * cp_capture_next scales. */
    (void)cp_pcap.set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);

    int status = cp_pcap.activate(p);
    if (status < 0) {
        const char *message = cp_pcap.geterr(p);
        if (message == NULL || message[0] == '\0')
            message = cp_pcap.statustostr(status);
        copy_message(errbuf, errbuf_cap, message);
        rc = activate_error(status);
        goto fail;
    }
    if (cp_pcap.setnonblock(p, 1, pcap_err) != 0) {
        copy_message(errbuf, errbuf_cap, pcap_err);
        goto fail;
    }
    rc = install_filter(p, filter, errbuf, errbuf_cap);
    if (rc != 0)
        goto fail;
    rc = wrap(p, 0, out);
    if (rc != 0)
        goto fail;
    return 0;

fail:
    cp_pcap.close(p);
    return rc;
}

/* Takes ownership of file (closed on every path). */
static int open_offline_file(FILE *file, const char *filter, cp_capture **out, char *errbuf, size_t errbuf_cap)
{
    int loaded = cp_pcap_load(errbuf, errbuf_cap);
    if (loaded != 0) {
        fclose(file);
        return loaded;
    }
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = cp_pcap.fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, pcap_err);
    if (p == NULL) {
        fclose(file);
        copy_message(errbuf, errbuf_cap, pcap_err);
        return -EBADMSG;
    }
    int linktype = cp_pcap.datalink(p);
    cp_frame probe;
    static const uint8_t empty[1];
    if (cp_frame_decode(linktype, empty, 0, &probe) == -EPROTONOSUPPORT) {
        copy_message(errbuf, errbuf_cap, "unsupported link type in the capture file");
        cp_pcap.close(p);
        return -EPROTONOSUPPORT;
    }
    int rc = install_filter(p, filter, errbuf, errbuf_cap);
    if (rc == 0)
        rc = wrap(p, 1, out);
    if (rc != 0)
        cp_pcap.close(p); /* closes file too */
    return rc;
}

int cp_capture_open_offline(const char *path, const char *filter,
                            cp_capture **out, char *errbuf, size_t errbuf_cap)
{
    if (out == NULL || path == NULL)
        return -EINVAL;
    *out = NULL;
    copy_message(errbuf, errbuf_cap, "");
    /* Open it ourselves first, so a missing or unreadable file is told apart
     * from one that is not a capture. */
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        int saved = errno;
        copy_message(errbuf, errbuf_cap, strerror(saved));
        return -saved;
    }
    return open_offline_file(file, filter, out, errbuf, errbuf_cap);
}

int cp_capture_open_offline_fd(int fd, const char *filter,
                               cp_capture **out, char *errbuf, size_t errbuf_cap)
{
    if (out == NULL || fd < 0)
        return -EINVAL;
    *out = NULL;
    copy_message(errbuf, errbuf_cap, "");
    /* A duplicate, read from its start: the caller keeps (and closes) fd. */
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
        int saved = errno;
        copy_message(errbuf, errbuf_cap, strerror(saved));
        return -saved;
    }
    if (lseek(own, 0, SEEK_SET) < 0) {
        int saved = errno;
        close(own);
        copy_message(errbuf, errbuf_cap, strerror(saved));
        return -saved;
    }
    FILE *file = fdopen(own, "rb");
    if (file == NULL) {
        int saved = errno;
        close(own);
        copy_message(errbuf, errbuf_cap, strerror(saved));
        return -saved;
    }
    return open_offline_file(file, filter, out, errbuf, errbuf_cap);
}

int cp_capture_fd(const cp_capture *cap)
{
    if (cap == NULL)
        return -EINVAL;
    int fd = cp_pcap.get_selectable_fd(cap->pcap);
    return fd >= 0 ? fd : -EOPNOTSUPP;
}

int cp_capture_linktype(const cp_capture *cap)
{
    if (cap == NULL)
        return -EINVAL;
    return cap->linktype;
}

int cp_capture_next(cp_capture *cap, cp_frame *out)
{
    if (cap == NULL || out == NULL)
        return -EINVAL;
    for (int skipped = 0; skipped <= CAPTURE_MAX_SKIPS; skipped++) {
        struct pcap_pkthdr *header;
        const u_char *data;
        int rc = cp_pcap.next_ex(cap->pcap, &header, &data);
        if (rc == PCAP_ERROR_BREAK && cap->offline)
            return -ENODATA;
        if (rc == 0 || rc == PCAP_ERROR_BREAK)
            return 0;
        if (rc != 1)
            return -EIO;
        cp_frame frame;
        if (cp_frame_decode(cap->linktype, data, header->caplen, &frame) != 0)
            continue;
        /* A crafted pcapng (64-bit timestamps, any if_tsresol) gives any tv_sec:
         * only what int64 nanoseconds hold is converted; other frames are
         * skipped like undecodable ones. */
        int64_t fraction = (int64_t)header->ts.tv_usec;
        if (header->ts.tv_sec < 0 || header->ts.tv_sec > CP_CAPTURE_MAX_TS_SECONDS ||
            fraction < 0 || fraction >= (cap->nano ? 1000000000 : 1000000))
            continue;
        frame.ts_ns = (int64_t)header->ts.tv_sec * 1000000000 +
                      (cap->nano ? fraction : fraction * 1000);
        *out = frame;
        return 1;
    }
    return 0;
}

int64_t cp_capture_drops(cp_capture *cap)
{
    if (cap == NULL)
        return -EINVAL;
    struct pcap_stat stats;
    if (cp_pcap.stats(cap->pcap, &stats) != 0)
        return -EIO;
    return (int64_t)stats.ps_drop;
}

void cp_capture_close(cp_capture *cap)
{
    if (cap == NULL)
        return;
    cp_pcap.close(cap->pcap);
    free(cap);
}

static int family_of_ethertype(uint16_t ethertype)
{
    if (ethertype == ETHERTYPE_IPV4)
        return AF_INET;
    if (ethertype == ETHERTYPE_IPV6)
        return AF_INET6;
    return 0;
}

/* The IP version nibble of a bare network-layer packet. */
static int family_of_version(const uint8_t *l3, size_t len)
{
    if (len == 0)
        return 0;
    switch (l3[0] >> 4) {
    case 4:
        return AF_INET;
    case 6:
        return AF_INET6;
    default:
        return 0;
    }
}

static int finish(cp_frame *out, int family, int direction, int ifindex,
                  const uint8_t *frame, size_t len, size_t offset)
{
    out->family = family;
    out->direction = direction;
    out->ifindex = ifindex;
    out->l3 = frame + offset;
    out->l3_len = len - offset;
    return 0;
}

static int decode_ethernet(const uint8_t *frame, size_t len, cp_frame *out)
{
    size_t offset = 12; /* destination and source MAC */
    if (len < offset + 2)
        return -EBADMSG;
    uint16_t ethertype = cp_be16(frame + offset);
    /* Up to two tags: 802.1Q, or 802.1ad outer plus 802.1Q inner. */
    for (int tags = 0; ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ; tags++) {
        if (tags == 2)
            return -EPROTONOSUPPORT;
        offset += 4;
        if (len < offset + 2)
            return -EBADMSG;
        ethertype = cp_be16(frame + offset);
    }
    offset += 2;
    return finish(out, family_of_ethertype(ethertype), CP_DIR_UNKNOWN, 0, frame, len, offset);
}

static int direction_of_packet_type(unsigned packet_type)
{
    if (packet_type == LINUX_SLL_OUTGOING)
        return CP_DIR_OUT;
    if (packet_type <= 3) /* host, broadcast, multicast, other host */
        return CP_DIR_IN;
    return CP_DIR_UNKNOWN;
}

/* Linux cooked capture v1: packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2). */
static int decode_sll(const uint8_t *frame, size_t len, cp_frame *out)
{
    if (len < 16)
        return -EBADMSG;
    return finish(out, family_of_ethertype(cp_be16(frame + 14)),
                  direction_of_packet_type(cp_be16(frame)), 0, frame, len, 16);
}

/* Linux cooked capture v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2)
 * packet type(1) addr len(1) addr(8). */
static int decode_sll2(const uint8_t *frame, size_t len, cp_frame *out)
{
    if (len < 20)
        return -EBADMSG;
    uint32_t ifindex = cp_be32(frame + 4);
    return finish(out, family_of_ethertype(cp_be16(frame)), direction_of_packet_type(frame[10]),
                  ifindex <= INT32_MAX ? (int)ifindex : 0, frame, len, 20);
}

/* BSD loopback: a 4-byte address family in the capturing host's byte order.
 * AF_INET6 differs between systems (Linux 10, BSDs 24, FreeBSD 28, Darwin 30). */
static int decode_null(const uint8_t *frame, size_t len, cp_frame *out)
{
    if (len < 4)
        return -EBADMSG;
    uint32_t af;
    memcpy(&af, frame, 4);
    if (af > 0xffffu)
        af = __builtin_bswap32(af); /* captured on a host of the other byte order */
    int family = 0;
    if (af == 2)
        family = AF_INET;
    else if (af == 10 || af == 24 || af == 28 || af == 30)
        family = AF_INET6;
    return finish(out, family, CP_DIR_UNKNOWN, 0, frame, len, 4);
}

int cp_frame_decode(int linktype, const uint8_t *frame, size_t len, cp_frame *out)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (frame == NULL)
        return -EBADMSG;
    switch (linktype) {
    case DLT_EN10MB:
        return decode_ethernet(frame, len, out);
    case DLT_LINUX_SLL:
        return decode_sll(frame, len, out);
    case DLT_LINUX_SLL2:
        return decode_sll2(frame, len, out);
    case DLT_NULL:
        return decode_null(frame, len, out);
    case DLT_RAW:
    case LINKTYPE_RAW_NUMBER:
    case DLT_IPV4:
    case DLT_IPV6: {
        if (len == 0)
            return -EBADMSG;
        int family = family_of_version(frame, len);
        if ((linktype == DLT_IPV4 && family != AF_INET) ||
            (linktype == DLT_IPV6 && family != AF_INET6))
            return -EBADMSG;
        return finish(out, family, CP_DIR_UNKNOWN, 0, frame, len, 0);
    }
    default:
        return -EPROTONOSUPPORT;
    }
}
