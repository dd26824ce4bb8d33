/*
 * pcap_loader.c — finds libpcap at run time (see cp_pcap.h for why it is not linked).
 */
#include "cp_pcap.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct cp_pcap_api cp_pcap;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_result = -ELIBACC;
static char load_message[256];

/* Debian's runtime package (libpcap0.8) ships the first; the others are other distributions'
 * names and the development link. */
static const char *const sonames[] = { "libpcap.so.0.8", "libpcap.so.1", "libpcap.so" };

static void load(void)
{
    void *handle = NULL;
    const char *reason = "not found";
    for (size_t i = 0; i < sizeof sonames / sizeof sonames[0] && handle == NULL; i++) {
        handle = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL && i == 0) {
            const char *e = dlerror();
            reason = e != NULL ? e : reason;
            snprintf(load_message, sizeof load_message,
                     "libpcap is needed for a packet capture: %s (Debian: apt install libpcap0.8)", reason);
        }
    }
    if (handle == NULL)
        return;
    struct cp_pcap_api api;
#define CP_PCAP_RESOLVE(ret, name, params)                                                \
    if ((*(void **)&api.name = dlsym(handle, "pcap_" #name)) == NULL) {                   \
        snprintf(load_message, sizeof load_message, "libpcap lacks pcap_%s (too old?)", #name); \
        return;                                                                           \
    }
    CP_PCAP_FUNCTIONS(CP_PCAP_RESOLVE)
#undef CP_PCAP_RESOLVE
    cp_pcap = api;
    load_result = 0;
}

int cp_pcap_load(char *errbuf, size_t errbuf_cap)
{
    pthread_once(&load_once, load);
    if (load_result != 0 && errbuf != NULL && errbuf_cap > 0)
        snprintf(errbuf, errbuf_cap, "%s", load_message);
    return load_result;
}
