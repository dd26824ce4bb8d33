/* HTTP(S) through libcurl's multi interface, so that a cancel descriptor can end a transfer at once. */
#define _GNU_SOURCE
#include "cservice_probe.h"

#include "cs_libs.h"
#include <curl/curl.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/* curl_global_init is not thread-safe and must run before any other curl call: once per process. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_FAILED_INIT;
static void global_init(void) { global_status = cs_curl.global_init(CURL_GLOBAL_DEFAULT); }

typedef struct transfer {
    CURL *easy;
    uint8_t *body;
    size_t body_cap;
    size_t body_len;
    cs_http_result *result;
} transfer;

static size_t on_body(char *data, size_t size, size_t count, void *context) {
    transfer *t = context;
    size_t n = size * count;
    if (t->body != NULL && t->body_len < t->body_cap) {
        size_t room = t->body_cap - t->body_len;
        size_t take = n < room ? n : room;
        memcpy(t->body + t->body_len, data, take);
        t->body_len += take;
    }
    return n;
}

static void copy_text(char *dest, size_t cap, const char *text) {
    if (cap == 0) return;
    size_t n = text == NULL ? 0 : strlen(text);
    if (n >= cap) n = cap - 1;
    if (n > 0) memcpy(dest, text, n);
    dest[n] = '\0';
}

/*
 * Called once the connection for a request is set up (TLS handshake done) and before the
 * request goes out: the only moment the session pointer is documented as valid. Runs once per
 * request, so after redirects the last connection's TLS details remain.
 */
static int on_connected(void *context, char *primary_ip, char *local_ip, int primary_port, int local_port) {
    (void)primary_ip; (void)local_ip; (void)primary_port; (void)local_port;
    transfer *t = context;
    t->result->tls_version[0] = '\0';
    t->result->has_certificate = 0;
    const struct curl_tlssessioninfo *session = NULL;
    if (cs_curl.easy_getinfo(t->easy, CURLINFO_TLS_SSL_PTR, &session) != CURLE_OK || session == NULL ||
        session->backend != CURLSSLBACKEND_OPENSSL || session->internals == NULL)
        return CURL_PREREQFUNC_OK;
    SSL *ssl = session->internals;
    copy_text(t->result->tls_version, sizeof t->result->tls_version, cs_ssl.SSL_get_version(ssl));
    X509 *leaf = cs_ssl.SSL_get1_peer_certificate(ssl);
    if (leaf == NULL) return CURL_PREREQFUNC_OK;
    const ASN1_TIME *not_after = cs_ssl.X509_get0_notAfter(leaf);
    int days = 0, seconds = 0;
    struct tm tm;
    if (not_after != NULL && cs_ssl.ASN1_TIME_diff(&days, &seconds, NULL, not_after) == 1 && cs_ssl.ASN1_TIME_to_tm(not_after, &tm) == 1) {
        t->result->has_certificate = 1;
        t->result->certificate_seconds_left = (int64_t)days * 86400 + seconds;
        t->result->certificate_not_after_unix = (int64_t)timegm(&tm);
    }
    cs_ssl.X509_free(leaf);
    return CURL_PREREQFUNC_OK;
}

static int configure(CURL *easy, const cs_http_request *request, transfer *t, char *error_buffer) {
    CURLcode c = CURLE_OK;
#define SET(option, value) if (c == CURLE_OK) c = cs_curl.easy_setopt(easy, option, value)
    SET(CURLOPT_URL, request->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOBODY, request->head ? 1L : 0L);
    SET(CURLOPT_FOLLOWLOCATION, request->follow_redirects ? 1L : 0L);
    SET(CURLOPT_MAXREDIRS, request->max_redirects);
    SET(CURLOPT_TIMEOUT_MS, (long)request->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, (long)request->connect_timeout_ms);
    SET(CURLOPT_SSL_VERIFYPEER, request->verify_peer ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, request->verify_peer ? 2L : 0L);
    if (request->ca_file != NULL) SET(CURLOPT_CAINFO, request->ca_file);
    SET(CURLOPT_IPRESOLVE, request->ip_version == 4 ? CURL_IPRESOLVE_V4
                           : request->ip_version == 6 ? CURL_IPRESOLVE_V6 : CURL_IPRESOLVE_WHATEVER);
    if (request->user_agent != NULL) SET(CURLOPT_USERAGENT, request->user_agent);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_PREREQFUNCTION, on_connected);
    SET(CURLOPT_PREREQDATA, t);
    SET(CURLOPT_ERRORBUFFER, error_buffer);
#undef SET
    return c == CURLE_OK ? 0 : -EINVAL;
}

static void collect(CURL *easy, cs_http_result *r) {
    curl_off_t value = 0;
    long number = 0;
    char *text = NULL;
    if (cs_curl.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &number) == CURLE_OK) r->status_code = number;
    if (cs_curl.easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &number) == CURLE_OK) r->redirects = number;
    if (cs_curl.easy_getinfo(easy, CURLINFO_OS_ERRNO, &number) == CURLE_OK) r->os_errno = number;
    if (cs_curl.easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &value) == CURLE_OK) r->namelookup_us = value;
    if (cs_curl.easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &value) == CURLE_OK) r->connect_us = value;
    if (cs_curl.easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &value) == CURLE_OK) r->appconnect_us = value;
    if (cs_curl.easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &value) == CURLE_OK) r->starttransfer_us = value;
    if (cs_curl.easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &value) == CURLE_OK) r->total_us = value;
    if (cs_curl.easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &value) == CURLE_OK) r->body_bytes = value;
    if (cs_curl.easy_getinfo(easy, CURLINFO_PRIMARY_IP, &text) == CURLE_OK) copy_text(r->primary_ip, sizeof r->primary_ip, text);
    if (cs_curl.easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &text) == CURLE_OK)
        copy_text(r->effective_url, sizeof r->effective_url, text);
    text = NULL;
    if (cs_curl.easy_getinfo(easy, CURLINFO_REDIRECT_URL, &text) == CURLE_OK && text != NULL)
        copy_text(r->redirect_url, sizeof r->redirect_url, text);
}

int cs_http_fetch(const cs_http_request *request, int cancel_fd,
                  uint8_t *body, size_t body_cap, size_t *body_len, cs_http_result *result) {
    if (request == NULL || request->url == NULL || result == NULL || body_len == NULL || (body == NULL && body_cap > 0) ||
        request->timeout_ms < 1 || request->connect_timeout_ms < 1 || request->max_redirects < 0)
        return -EINVAL;
    memset(result, 0, sizeof *result);
    *body_len = 0;
    int loaded = cs_curl_load();
    if (loaded != 0) return loaded;
    pthread_once(&global_once, global_init);
    if (global_status != CURLE_OK) return -ENOMEM;

    CURL *easy = cs_curl.easy_init();
    CURLM *multi = cs_curl.multi_init();
    if (easy == NULL || multi == NULL) {
        if (easy != NULL) cs_curl.easy_cleanup(easy);
        if (multi != NULL) cs_curl.multi_cleanup(multi);
        return -ENOMEM;
    }
    char error_buffer[CURL_ERROR_SIZE] = {0};
    transfer t = {.easy = easy, .body = body, .body_cap = body_cap, .result = result};
    int rc = configure(easy, request, &t, error_buffer);
    if (rc == 0 && cs_curl.multi_add_handle(multi, easy) != CURLM_OK) rc = -ENOMEM;

    int running = rc == 0;
    while (rc == 0 && running) {
        if (cs_curl.multi_perform(multi, &running) != CURLM_OK) {
            rc = -EIO;
            break;
        }
        if (!running) break;
        struct curl_waitfd cancel = {.fd = cancel_fd, .events = CURL_WAIT_POLLIN, .revents = 0};
        if (cs_curl.multi_poll(multi, cancel_fd >= 0 ? &cancel : NULL, cancel_fd >= 0 ? 1 : 0, 1000, NULL) != CURLM_OK) {
            rc = -EIO;
            break;
        }
        if (cancel.revents != 0) rc = -ECANCELED;
    }
    if (rc == 0) {
        int pending = 0;
        CURLMsg *message;
        result->curl_code = CURLE_FAILED_INIT;
        while ((message = cs_curl.multi_info_read(multi, &pending)) != NULL) {
            if (message->msg == CURLMSG_DONE && message->easy_handle == easy) result->curl_code = (int)message->data.result;
        }
        collect(easy, result);
        if (result->curl_code != CURLE_OK)
            copy_text(result->error, sizeof result->error,
                      error_buffer[0] ? error_buffer : cs_curl.easy_strerror((CURLcode)result->curl_code));
        *body_len = t.body_len;
    }
    cs_curl.multi_remove_handle(multi, easy);
    cs_curl.easy_cleanup(easy);
    cs_curl.multi_cleanup(multi);
    return rc;
}

int cs_http_failure_kind(int curl_code) {
    switch ((CURLcode)curl_code) {
    case CURLE_OK: return CS_HTTP_FAILURE_NONE;
    case CURLE_OPERATION_TIMEDOUT: return CS_HTTP_FAILURE_TIMEOUT;
    case CURLE_COULDNT_CONNECT: return CS_HTTP_FAILURE_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST: return CS_HTTP_FAILURE_RESOLVE;
    case CURLE_TOO_MANY_REDIRECTS: return CS_HTTP_FAILURE_REDIRECTS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return CS_HTTP_FAILURE_TLS;
    default: return CS_HTTP_FAILURE_OTHER;
    }
}
