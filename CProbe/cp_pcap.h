/*
 * cp_pcap.h — libpcap, loaded the first time a capture is opened; not part of the API.
 *
 * Linking libpcap would load it, and libdbus, libsystemd, libgcrypt and the rest it needs,
 * into every process that only prints its version or sends one trace: a few milliseconds of
 * dynamic linking at each start, more than the traceroute we compare with takes for its
 * whole run. capture.c calls libpcap through `cp_pcap` after `cp_pcap_load` succeeded.
 */
#ifndef CP_PCAP_H
#define CP_PCAP_H

#include <stddef.h>
#include <stdio.h>
#include <pcap/pcap.h>

/* Link types that older libpcap headers do not name yet (the numbers are fixed by tcpdump.org). */
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_PPP_WITH_DIR
#define DLT_PPP_WITH_DIR 204
#endif
#ifndef DLT_MPLS
#define DLT_MPLS 219
#endif

/* Every libpcap function CProbe uses: X(return type, name without "pcap_", parameters). */
#define CP_PCAP_FUNCTIONS(X)                                                              \
    X(int, activate, (pcap_t *))                                                          \
    X(void, close, (pcap_t *))                                                            \
    X(int, compile, (pcap_t *, struct bpf_program *, const char *, int, bpf_u_int32))     \
    X(pcap_t *, create, (const char *, char *))                                           \
    X(int, datalink, (pcap_t *))                                                          \
    X(const char *, datalink_val_to_description, (int))                                   \
    X(const char *, datalink_val_to_name, (int))                                          \
    X(pcap_t *, fopen_offline_with_tstamp_precision, (FILE *, u_int, char *))             \
    X(void, freecode, (struct bpf_program *))                                             \
    X(int, get_selectable_fd, (pcap_t *))                                                 \
    X(int, get_tstamp_precision, (pcap_t *))                                              \
    X(char *, geterr, (pcap_t *))                                                         \
    X(int, next_ex, (pcap_t *, struct pcap_pkthdr **, const u_char **))                   \
    X(int, set_buffer_size, (pcap_t *, int))                                              \
    X(int, set_immediate_mode, (pcap_t *, int))                                           \
    X(int, set_snaplen, (pcap_t *, int))                                                  \
    X(int, set_timeout, (pcap_t *, int))                                                  \
    X(int, set_tstamp_precision, (pcap_t *, int))                                         \
    X(int, setfilter, (pcap_t *, struct bpf_program *))                                   \
    X(int, setnonblock, (pcap_t *, int, char *))                                          \
    X(int, stats, (pcap_t *, struct pcap_stat *))                                         \
    X(const char *, statustostr, (int))

struct cp_pcap_api {
#define CP_PCAP_FIELD(ret, name, params) ret (*name) params;
    CP_PCAP_FUNCTIONS(CP_PCAP_FIELD)
#undef CP_PCAP_FIELD
};

/* The functions, valid once cp_pcap_load has returned 0. */
extern struct cp_pcap_api cp_pcap;

/*
 * Loads libpcap once per process (thread-safe). 0, or -ELIBACC when it is missing or lacks
 * a function; errbuf (may be NULL) then says which and what to install.
 */
int cp_pcap_load(char *errbuf, size_t errbuf_cap);

#endif
