/* libs_loader.c — finds libcurl, OpenSSL and ldns at run time (see cs_libs.h for why). */
#include "cs_libs.h"
#include "cservice_probe.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct cs_curl_api cs_curl;
struct cs_ssl_api cs_ssl;
struct cs_ldns_api cs_ldns;

static char load_error[320];
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_error(const char *what, const char *reason, const char *package)
{
    pthread_mutex_lock(&error_lock);
    snprintf(load_error, sizeof load_error, "%s: %s (Debian: apt install %s)", what, reason, package);
    pthread_mutex_unlock(&error_lock);
}

const char *cs_libs_error(void)
{
    return load_error;
}

/* The first of `sonames` that loads, or NULL (the reason noted). */
static void *open_first(const char *const *sonames, size_t count, const char *package)
{
    const char *reason = "not found";
    char first_reason[200] = "";
    for (size_t i = 0; i < count; i++) {
        void *handle = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL)
            return handle;
        const char *e = dlerror();
        if (i == 0 && e != NULL)
            snprintf(first_reason, sizeof first_reason, "%s", e);
    }
    note_error(sonames[0], first_reason[0] != '\0' ? first_reason : reason, package);
    return NULL;
}

/* Resolves one function into the table `api` from `handle`, or notes the missing symbol and
 * leaves the calling load function (`*(void **)&` is POSIX's way to store dlsym's result). */
#define CS_RESOLVE(api, handle, symbol, field, package)                                   \
    if ((*(void **)&(api).field = dlsym((handle), (symbol))) == NULL) {                   \
        note_error((symbol), "missing from the library (too old?)", (package));           \
        return;                                                                           \
    }

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_result = -ELIBACC;

static void load_curl(void)
{
    /* libcurl4 is the OpenSSL build: the SSL * it hands out (CURLINFO_TLS_SSL_PTR) belongs to
     * the libssl.so.3 it has loaded, which the second dlopen finds already mapped. */
    static const char *const curl_sonames[] = { "libcurl.so.4", "libcurl.so" };
    static const char *const ssl_sonames[] = { "libssl.so.3", "libssl.so" };
    void *curl = open_first(curl_sonames, 2, "libcurl4");
    if (curl == NULL)
        return;
    void *ssl = open_first(ssl_sonames, 2, "libssl3");
    if (ssl == NULL)
        return;
    struct cs_curl_api c;
    struct cs_ssl_api s;
#define CS_RESOLVE_CURL(ret, name, params) CS_RESOLVE(c, curl, "curl_" #name, name, "libcurl4")
#define CS_RESOLVE_SSL(ret, name, params) CS_RESOLVE(s, ssl, #name, name, "libssl3")
    CS_CURL_FUNCTIONS(CS_RESOLVE_CURL)
    CS_SSL_FUNCTIONS(CS_RESOLVE_SSL)
#undef CS_RESOLVE_CURL
#undef CS_RESOLVE_SSL
    cs_curl = c;
    cs_ssl = s;
    curl_result = 0;
}

int cs_curl_load(void)
{
    pthread_once(&curl_once, load_curl);
    return curl_result;
}

static pthread_once_t ldns_once = PTHREAD_ONCE_INIT;
static int ldns_result = -ELIBACC;

static void load_ldns(void)
{
    static const char *const sonames[] = { "libldns.so.3", "libldns.so" };
    void *ldns = open_first(sonames, 2, "libldns3");
    if (ldns == NULL)
        return;
    struct cs_ldns_api l;
#define CS_RESOLVE_LDNS(ret, name, params) CS_RESOLVE(l, ldns, "ldns_" #name, name, "libldns3")
    CS_LDNS_FUNCTIONS(CS_RESOLVE_LDNS)
#undef CS_RESOLVE_LDNS
    cs_ldns = l;
    ldns_result = 0;
}

int cs_ldns_load(void)
{
    pthread_once(&ldns_once, load_ldns);
    return ldns_result;
}
