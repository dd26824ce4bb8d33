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
#define ETHERTYPE_QINQ_OLD 0x9100u /* pre-802.1ad QinQ, still on some switches */
#define ETHERTYPE_MPLS 0x8847u  /* RFC 3032 §5 */
#define ETHERTYPE_MPLS_MULTICAST 0x8848u
#define ETHERTYPE_PPPOE_SESSION 0x8864u /* RFC 2516 */
#define PPP_IPV4 0x0021u        /* RFC 1332 */
#define PPP_IPV6 0x0057u        /* RFC 5072 */
#define PPP_MPLS 0x0281u        /* RFC 3032 §5 */
#define PPP_MPLS_MULTICAST 0x0283u
#define CHDLC_UNICAST 0x0fu
#define CHDLC_BROADCAST 0x8fu
#define LINUX_SLL_OUTGOING 4    /* PACKET_OUTGOING */

/* LINKTYPE_RAW as written in capture files; DLT_RAW is 12 on Linux. */
#define LINKTYPE_RAW_NUMBER 101

/* Every link type cp_frame_decode reads, in the order the error message lists
 * them, with libpcap's names (which older libpcaps do not all know). */
static const struct {
    int linktype;
    const char *name;
} readable_linktypes[] = {
    { DLT_EN10MB, "EN10MB" }, { DLT_LINUX_SLL, "LINUX_SLL" }, { DLT_LINUX_SLL2, "LINUX_SLL2" },
    { DLT_RAW, "RAW" }, { DLT_IPV4, "IPV4" }, { DLT_IPV6, "IPV6" }, { DLT_NULL, "NULL" },
    { DLT_LOOP, "LOOP" }, { DLT_PPP, "PPP" }, { DLT_PPP_SERIAL, "PPP_SERIAL" },
    { DLT_PPP_WITH_DIR, "PPP_WITH_DIR" }, { DLT_PPP_ETHER, "PPP_ETHER" }, { DLT_C_HDLC, "C_HDLC" },
    { DLT_MPLS, "MPLS" },
};

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

static void append(char *buf, size_t cap, size_t *used, const char *text)
{
    if (*used >= cap)
        return;
    int n = snprintf(buf + *used, cap - *used, "%s", text);
    if (n > 0)
        *used += (size_t)n < cap - *used ? (size_t)n : cap - *used - 1;
}

/* "capture link type DLT_USB_LINUX (USB with Linux header) carries no IP that
 * isp-checker can read; supported: EN10MB, ...", with libpcap's own names. */
static void unreadable_linktype_message(int linktype, char *errbuf, size_t errbuf_cap)
{
    if (errbuf == NULL || errbuf_cap == 0)
        return;
    char number[48];
    const char *name = cp_pcap.datalink_val_to_name(linktype);
    const char *description = cp_pcap.datalink_val_to_description(linktype);
    size_t used = 0;
    errbuf[0] = '\0';
    append(errbuf, errbuf_cap, &used, "capture link type ");
    if (name != NULL) {
        append(errbuf, errbuf_cap, &used, "DLT_");
        append(errbuf, errbuf_cap, &used, name);
        snprintf(number, sizeof number, " (%d", linktype);
        append(errbuf, errbuf_cap, &used, number);
        if (description != NULL) {
            append(errbuf, errbuf_cap, &used, ", ");
            append(errbuf, errbuf_cap, &used, description);
        }
        append(errbuf, errbuf_cap, &used, ")");
    } else {
        snprintf(number, sizeof number, "%d (unknown to this libpcap)", linktype);
        append(errbuf, errbuf_cap, &used, number);
    }
    append(errbuf, errbuf_cap, &used, " carries no IP that isp-checker can read; supported:");
    for (size_t i = 0; i < sizeof readable_linktypes / sizeof readable_linktypes[0]; i++) {
        append(errbuf, errbuf_cap, &used, i == 0 ? " " : ", ");
        append(errbuf, errbuf_cap, &used, readable_linktypes[i].name);
    }
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
    if (!cp_frame_linktype_readable(linktype)) {
        unreadable_linktype_message(linktype, errbuf, errbuf_cap);
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

/* Where a frame's network layer starts, found walking its headers. */
struct walk {
    const uint8_t *frame;
    size_t len;
    size_t offset;   /* of the next header */
    cp_frame *out;
};

static int finish(struct walk *w, int family)
{
    w->out->family = family;
    w->out->l3 = w->frame + w->offset;
    w->out->l3_len = w->len - w->offset;
    return 0;
}

/* The IP version nibble of a bare network-layer packet; 0 when there is no byte. */
static int family_of_version(const struct walk *w)
{
    if (w->len <= w->offset)
        return 0;
    switch (w->frame[w->offset] >> 4) {
    case 4:
        return AF_INET;
    case 6:
        return AF_INET6;
    default:
        return 0;
    }
}

/* An MPLS label stack (RFC 3032 §2.1): 4-byte entries, label(20) TC(3) S(1)
 * TTL(8), down to the one with S set. What follows the bottom entry is not
 * named anywhere on the wire: the IP version nibble tells IPv4 and IPv6 from
 * the rest (a pseudowire control word starts with 0000, RFC 4385 §3). */
static int decode_mpls(struct walk *w)
{
    for (;;) {
        if (w->len - w->offset < 4)
            return -EBADMSG; /* the stack ends before its bottom entry */
        uint32_t entry = cp_be32(w->frame + w->offset);
        w->offset += 4;
        cp_frame *out = w->out;
        if (out->mpls_count < CP_FRAME_MAX_MPLS) {
            cp_trace_mpls_entry *e = &out->mpls[out->mpls_count++];
            e->label = entry >> 12;
            e->tc = (uint8_t)((entry >> 9) & 7u);
            e->s = (uint8_t)((entry >> 8) & 1u);
            e->ttl = (uint8_t)entry;
        } else {
            out->mpls_truncated = 1;
        }
        if (entry & 0x100u)
            return finish(w, family_of_version(w));
    }
}

static int decode_ppp_protocol(struct walk *w, uint16_t protocol);

/* PPPoE session stage (RFC 2516 §4): ver/type 0x11, code 0, session id, length,
 * then the PPP protocol field. Discovery frames have their own ethertype. */
static int decode_pppoe_session(struct walk *w)
{
    if (w->len - w->offset < 8)
        return -EBADMSG;
    const uint8_t *p = w->frame + w->offset;
    if (p[0] != 0x11 || p[1] != 0)
        return finish(w, 0);
    uint16_t protocol = cp_be16(p + 6);
    w->offset += 8;
    return decode_ppp_protocol(w, protocol);
}

/* What an ethertype (Ethernet, Linux cooked, Cisco HDLC) carries: IP, MPLS,
 * PPPoE, behind any stack of VLAN tags. */
static int decode_ethertype(struct walk *w, uint16_t ethertype)
{
    for (int tags = 0; ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ ||
                       ethertype == ETHERTYPE_QINQ_OLD; tags++) {
        if (tags == CP_FRAME_MAX_VLAN_TAGS)
            return -EBADMSG;
        if (w->len - w->offset < 4) /* TCI(2) then the next type(2) */
            return -EBADMSG;
        ethertype = cp_be16(w->frame + w->offset + 2);
        w->offset += 4;
    }
    switch (ethertype) {
    case ETHERTYPE_IPV4:
        return finish(w, AF_INET);
    case ETHERTYPE_IPV6:
        return finish(w, AF_INET6);
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MULTICAST:
        return decode_mpls(w);
    case ETHERTYPE_PPPOE_SESSION:
        return decode_pppoe_session(w);
    default:
        return finish(w, 0);
    }
}

/* A PPP protocol number (RFC 1661 §2, IANA PPP DLL protocol numbers). */
static int decode_ppp_protocol(struct walk *w, uint16_t protocol)
{
    switch (protocol) {
    case PPP_IPV4:
        return finish(w, AF_INET);
    case PPP_IPV6:
        return finish(w, AF_INET6);
    case PPP_MPLS:
    case PPP_MPLS_MULTICAST:
        return decode_mpls(w);
    default:
        return finish(w, 0);
    }
}

/* A PPP frame from the protocol field on: two bytes, or one when Protocol-Field-
 * Compression was negotiated (RFC 1661 §6.5: a compressed field is odd, a full
 * one's first byte even). */
static int decode_ppp_from_protocol(struct walk *w)
{
    if (w->len - w->offset < 1)
        return -EBADMSG;
    uint16_t protocol = w->frame[w->offset];
    if (protocol & 1u) {
        w->offset += 1;
    } else {
        if (w->len - w->offset < 2)
            return -EBADMSG;
        protocol = cp_be16(w->frame + w->offset);
        w->offset += 2;
    }
    return decode_ppp_protocol(w, protocol);
}

/* Cisco HDLC: address 0x0f (unicast) or 0x8f (broadcast), control 0, an ethertype. */
static int decode_chdlc(struct walk *w)
{
    if (w->len - w->offset < 4)
        return -EBADMSG;
    uint16_t ethertype = cp_be16(w->frame + w->offset + 2);
    w->offset += 4;
    return decode_ethertype(w, ethertype);
}

/* PPP as libpcap hands DLT_PPP and DLT_PPP_SERIAL over: in HDLC-like framing
 * (RFC 1662 §3.1: address 0xff, control 0x03, no flags or FCS), or with
 * Address-and-Control-Field-Compression (RFC 1661 §6.6) straight from the
 * protocol field. A DLT_PPP_SERIAL capture may hold Cisco HDLC frames too
 * (libpcap's pcap-linktype.7: "a Cisco HDLC frame", as tcpdump reads it). */
static int decode_ppp(struct walk *w)
{
    if (w->len - w->offset < 1)
        return -EBADMSG;
    uint8_t address = w->frame[w->offset];
    if (address == CHDLC_UNICAST || address == CHDLC_BROADCAST)
        return decode_chdlc(w);
    if (address == 0xff) {
        if (w->len - w->offset < 2)
            return -EBADMSG;
        if (w->frame[w->offset + 1] != 0x03)
            return -EBADMSG;
        w->offset += 2;
    }
    return decode_ppp_from_protocol(w);
}

static int decode_ethernet(struct walk *w)
{
    if (w->len < 14) /* destination and source MAC, ethertype */
        return -EBADMSG;
    w->offset = 14;
    return decode_ethertype(w, cp_be16(w->frame + 12));
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
static int decode_sll(struct walk *w)
{
    if (w->len < 16)
        return -EBADMSG;
    w->out->direction = direction_of_packet_type(cp_be16(w->frame));
    w->offset = 16;
    return decode_ethertype(w, cp_be16(w->frame + 14));
}

/* Linux cooked capture v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2)
 * packet type(1) addr len(1) addr(8). */
static int decode_sll2(struct walk *w)
{
    if (w->len < 20)
        return -EBADMSG;
    uint32_t ifindex = cp_be32(w->frame + 4);
    w->out->direction = direction_of_packet_type(w->frame[10]);
    w->out->ifindex = ifindex <= INT32_MAX ? (int)ifindex : 0;
    w->offset = 20;
    return decode_ethertype(w, cp_be16(w->frame));
}

/* BSD loopback: a 4-byte address family, in the capturing host's byte order
 * (DLT_NULL) or in network byte order (DLT_LOOP, OpenBSD). Families are small,
 * so a word above 0xffff was written in the other byte order than ours: both
 * link types read either. AF_INET is 2 everywhere; AF_INET6 differs between
 * systems (Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30). */
static int decode_null(struct walk *w)
{
    if (w->len < 4)
        return -EBADMSG;
    uint32_t af;
    memcpy(&af, w->frame, 4);
    if (af > 0xffffu)
        af = __builtin_bswap32(af);
    int family = 0;
    if (af == 2)
        family = AF_INET;
    else if (af == 10 || af == 24 || af == 28 || af == 30)
        family = AF_INET6;
    w->offset = 4;
    return finish(w, family);
}

/* DLT_PPP_WITH_DIR: one byte, 0 received and anything else sent, then PPP. */
static int decode_ppp_with_dir(struct walk *w)
{
    if (w->len < 1)
        return -EBADMSG;
    w->out->direction = w->frame[0] == 0 ? CP_DIR_IN : CP_DIR_OUT;
    w->offset = 1;
    return decode_ppp(w);
}

/* Bare IP: the version nibble must agree with a link type that names it. */
static int decode_raw(struct walk *w, int linktype)
{
    if (w->len == 0)
        return -EBADMSG;
    int family = family_of_version(w);
    if ((linktype == DLT_IPV4 && family != AF_INET) || (linktype == DLT_IPV6 && family != AF_INET6))
        return -EBADMSG;
    return finish(w, family);
}

int cp_frame_linktype_readable(int linktype)
{
    if (linktype == LINKTYPE_RAW_NUMBER)
        return 1;
    for (size_t i = 0; i < sizeof readable_linktypes / sizeof readable_linktypes[0]; i++)
        if (readable_linktypes[i].linktype == linktype)
            return 1;
    return 0;
}

int cp_frame_decode(int linktype, const uint8_t *frame, size_t len, cp_frame *out)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (!cp_frame_linktype_readable(linktype))
        return -EPROTONOSUPPORT;
    if (frame == NULL)
        return -EBADMSG;
    struct walk w = { .frame = frame, .len = len, .offset = 0, .out = out };
    int rc;
    switch (linktype) {
    case DLT_EN10MB:
        rc = decode_ethernet(&w);
        break;
    case DLT_LINUX_SLL:
        rc = decode_sll(&w);
        break;
    case DLT_LINUX_SLL2:
        rc = decode_sll2(&w);
        break;
    case DLT_NULL:
    case DLT_LOOP:
        rc = decode_null(&w);
        break;
    case DLT_PPP:
    case DLT_PPP_SERIAL:
        rc = decode_ppp(&w);
        break;
    case DLT_PPP_WITH_DIR:
        rc = decode_ppp_with_dir(&w);
        break;
    case DLT_PPP_ETHER:
        rc = decode_pppoe_session(&w);
        break;
    case DLT_C_HDLC:
        rc = decode_chdlc(&w);
        break;
    case DLT_MPLS:
        rc = decode_mpls(&w);
        break;
    default: /* DLT_RAW, LINKTYPE_RAW_NUMBER, DLT_IPV4, DLT_IPV6 */
        rc = decode_raw(&w, linktype);
        break;
    }
    if (rc != 0) {
        /* Nothing half-decoded: a caller that ignores the code sees no IP. */
        memset(out, 0, sizeof *out);
    }
    return rc;
}
