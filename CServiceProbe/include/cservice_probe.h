/*
 * cservice_probe.h: the C side of the service probes (DNS, HTTP(S), TCP connect).
 *
 * Plain C, no knowledge of Swift, no callbacks into the caller. Every function
 * returns 0 (or a count) on success and -errno on failure, takes buffers with
 * their lengths and writes results through out-parameters. Blocking calls take
 * a cancel descriptor (an eventfd from cs_cancel_open, or -1): when it becomes
 * readable the call returns -ECANCELED promptly.
 *
 * Wire format: ldns (Debian libldns-dev) builds queries and parses answers.
 * HTTP: libcurl (Debian libcurl4-openssl-dev), the OpenSSL flavour, whose
 * session pointer gives the negotiated TLS version and the leaf certificate.
 *
 * The one piece of process-wide state is curl_global_init, run once through
 * pthread_once before the first HTTP probe (libcurl requires it before any
 * other thread uses curl; it is never undone).
 */
#ifndef CSERVICE_PROBE_H
#define CSERVICE_PROBE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Cancellation                                                             */
/* ------------------------------------------------------------------------ */

/** A non-blocking, close-on-exec eventfd to cancel a blocking call. Descriptor or -errno. */
int cs_cancel_open(void);
/** Makes the descriptor readable: every call polling it returns -ECANCELED. 0 or -errno. */
int cs_cancel_fire(int fd);

/* ------------------------------------------------------------------------ */
/* Addresses                                                                */
/* ------------------------------------------------------------------------ */


/* ------------------------------------------------------------------------ */
/* TCP connect                                                              */
/* ------------------------------------------------------------------------ */

/**
 * Connects to ip:port (ip a numeric IPv4/IPv6 literal) without sending data,
 * then closes. *connect_ns gets the time from connect() to the handshake's end
 * (CLOCK_MONOTONIC), also on failure (time until the failure was known).
 * 0 when connected; -ECONNREFUSED (RST), -ETIMEDOUT (no answer within
 * timeout_ms), -ENETUNREACH / -EHOSTUNREACH (no route, or an ICMP error),
 * -ECANCELED, -EINVAL (not an IP literal, timeout_ms < 1), other -errno.
 */
int cs_tcp_connect(const char *ip, uint16_t port, int timeout_ms, int cancel_fd, int64_t *connect_ns);

/**
 * A bulk TCP flow to ip:port for duration_ms: sends zeros as fast as TCP allows
 * (download 0) or reads and discards what the server sends (download 1), to load
 * the path while its latency is measured. The server must sink (upload) or source
 * (download) bytes; lab/bulk_server.py does both. Asks for cubic congestion control
 * (loss-based, fills a FIFO as most traffic does), else reno, else the system's default.
 * *bytes gets the bytes moved (an upload's minus what the server has not acknowledged),
 * *elapsed_ns the flow's time after the handshake.
 * 0 when the flow ran its time; -ETIMEDOUT (no handshake within connect_timeout_ms),
 * -ECONNREFUSED, -ECONNRESET (closed by the server), -ECANCELED, -EINVAL, other -errno.
 */
int cs_tcp_bulk(const char *ip, uint16_t port, int download, int connect_timeout_ms, int duration_ms, int cancel_fd,
                uint64_t *bytes, int64_t *elapsed_ns);

/* ------------------------------------------------------------------------ */
/* DNS                                                                      */
/* ------------------------------------------------------------------------ */

#define CS_DNS_MAX_MESSAGE 65535

/**
 * Builds a query for name (presentation format, "example.net" or "example.net.")
 * and qtype (any type by number, class IN) into out[0..cap).
 * edns_udp_size: 0 = no EDNS (RFC 1035's 512-byte UDP limit), else the OPT
 * record's UDP payload size (RFC 6891). rd: recursion desired bit.
 * 0 and *len, -EINVAL (bad name, cap too small), -ENOMEM.
 */
int cs_dns_build_query(const char *name, uint16_t qtype, uint16_t id, uint16_t edns_udp_size, int rd,
                       uint8_t *out, size_t cap, size_t *len);

/** The class of a query's question: IN (1), or CH (3) for the server identity names
 * `id.server` / `hostname.bind` (RFC 4892 §2). */
#define CS_DNS_CLASS_IN 1
#define CS_DNS_CLASS_CH 3

/** cs_dns_build_query with the question's class (CS_DNS_CLASS_*) given. Same returns. */
int cs_dns_build_query_class(const char *name, uint16_t qtype, uint16_t qclass, uint16_t id, uint16_t edns_udp_size,
                             int rd, uint8_t *out, size_t cap, size_t *len);

/** How a DNS exchange went. */
typedef struct cs_dns_exchange_info {
    /** 1 when the UDP answer had TC set and the query was repeated over TCP. */
    int truncated;
    /** 0 = the answer came over UDP, 1 = over TCP. */
    int used_tcp;
    /** From the first send to the accepted answer (both legs when TCP was used). */
    int64_t latency_ns;
    /** Answers dropped because their ID or QR bit did not match (spoofed or stale). */
    int ignored_responses;
    /** Copies of the query sent over UDP: it is sent again after a third and two thirds of
     * the timeout without an answer, as stub resolvers do. */
    int udp_sends;
} cs_dns_exchange_info;

/**
 * Sends query[0..query_len) to the server ip:port over UDP (connected socket,
 * so only that address and port can answer), waits for a response with the
 * query's ID and QR set, and repeats the query over TCP (RFC 7766 two-byte
 * length prefix) when the answer is truncated (TC). One deadline of timeout_ms
 * covers both legs. The response goes to response[0..response_cap) and
 * *response_len.
 * 0; -ETIMEDOUT; -ENETUNREACH / -EHOSTUNREACH (no route or ICMP unreachable);
 * -ECONNREFUSED (ICMP port unreachable, or TCP RST); -ECANCELED; -EINVAL;
 * -EMSGSIZE (response larger than response_cap); -EPROTO (TCP stream ended early).
 */
int cs_dns_exchange(const char *ip, uint16_t port, const uint8_t *query, size_t query_len,
                    int timeout_ms, int cancel_fd,
                    uint8_t *response, size_t response_cap, size_t *response_len,
                    cs_dns_exchange_info *info);

/** The header and question check of a parsed response. */
typedef struct cs_dns_response_info {
    uint16_t id;
    /** RCODE (RFC 1035 §4.1.1; RFC 6891 extended bits included when an OPT record is present). */
    uint16_t rcode;
    int truncated;
    int authoritative;
    int recursion_available;
    /** 1 when the question section matches name/qtype/IN of the query. */
    int question_matches;
    uint16_t answer_count;
    uint16_t authority_count;
    uint16_t additional_count;
} cs_dns_response_info;

/**
 * Parses a response from buf[0..len) (ldns_wire2pkt, which checks every length)
 * and compares its question with expect_name/expect_qtype. Every answer-section
 * record is written to records[0..records_cap) as one NUL-terminated line
 * "owner\tTYPE\tTTL\trdata" (presentation format, e.g. "a.lab.\tA\t300\t10.0.0.1");
 * *records_len is the bytes used (including the NULs).
 * 0; -EBADMSG (not a DNS message, or one signed with TSIG: our queries never are); -ENOBUFS (records_cap too small: the header
 * fields in *info are still valid); -ENOMEM; -EINVAL.
 */
int cs_dns_parse_response(const uint8_t *buf, size_t len, const char *expect_name, uint16_t expect_qtype,
                          cs_dns_response_info *info, char *records, size_t records_cap, size_t *records_len);

/** cs_dns_parse_response whose question check also compares the class (CS_DNS_CLASS_*). */
int cs_dns_parse_response_class(const uint8_t *buf, size_t len, const char *expect_name, uint16_t expect_qtype,
                                uint16_t expect_qclass, cs_dns_response_info *info, char *records, size_t records_cap,
                                size_t *records_len);

#define CS_DNS_MAX_HOPS 32

/**
 * Where an answer comes from, by hop limit: sends query[0..query_len) to ip:port over UDP
 * once with each IP TTL / IPv6 hop limit 1..max_hops (one connected socket each, all at once,
 * again after half the timeout to those still silent) and waits for answers (the query's ID,
 * QR set) until timeout_ms. A resolver max_hops away answers only the largest limits; a
 * middlebox at hop k that redirects port 53 to itself answers every limit from k on, since
 * the redirected packet is delivered to it, not forwarded. *hops gets the smallest limit
 * that was answered, 0 when none was.
 * 0; -EINVAL (max_hops outside 1..CS_DNS_MAX_HOPS, bad address, short query); -ECANCELED;
 * other -errno of socket/connect/setsockopt.
 */
int cs_dns_nearest_answer(const char *ip, uint16_t port, const uint8_t *query, size_t query_len, int max_hops,
                          int timeout_ms, int cancel_fd, int *hops);

/* ------------------------------------------------------------------------ */
/* HTTP(S) with libcurl                                                     */
/* ------------------------------------------------------------------------ */

typedef struct cs_http_request {
    /** NUL-terminated URL (http:// or https://; other schemes are refused by curl's protocol list). */
    const char *url;
    /** 1 = HEAD (no body), 0 = GET. */
    int head;
    /** 1 = follow Location redirects, up to max_redirects. */
    int follow_redirects;
    long max_redirects;
    /** Whole transfer, including redirects. >= 1. */
    int timeout_ms;
    /** Name resolution plus TCP and TLS connect. >= 1. */
    int connect_timeout_ms;
    /** 1 = verify the server certificate and host name (the default for users). */
    int verify_peer;
    /** PEM bundle of trusted CAs, or NULL for the system store. */
    const char *ca_file;
    /** 0 any, 4 IPv4 only, 6 IPv6 only. */
    int ip_version;
    /** User-Agent header, or NULL for none. */
    const char *user_agent;
} cs_http_request;

typedef struct cs_http_result {
    /** CURLcode of the transfer (0 = CURLE_OK). */
    int curl_code;
    /** errno of the failed connect, when curl saw one (CURLINFO_OS_ERRNO). */
    long os_errno;
    /** Last response's status code; 0 when none came. */
    long status_code;
    long redirects;
    /** Cumulative times from the start, in microseconds (curl's CURLINFO_*_TIME_T). */
    int64_t namelookup_us;
    int64_t connect_us;
    int64_t appconnect_us;
    int64_t starttransfer_us;
    int64_t total_us;
    /** Body bytes received (the last response's). */
    int64_t body_bytes;
    /** "TLSv1.3" etc. of the last TLS connection; empty for plain HTTP. */
    char tls_version[32];
    /** 1 when the leaf certificate's notAfter was read. */
    int has_certificate;
    /** Seconds from now (the moment of the handshake) to the leaf certificate's notAfter; negative when expired. */
    int64_t certificate_seconds_left;
    /** notAfter as seconds since the Unix epoch. */
    int64_t certificate_not_after_unix;
    /** The address curl connected to last. */
    char primary_ip[64];
    /** The last URL fetched (after redirects). */
    char effective_url[2048];
    /** curl's error text when curl_code != 0. */
    char error[256];
    /** Where the last response redirects to (its Location, resolved against the URL) when it
     * was a redirect not followed; empty otherwise. */
    char redirect_url[2048];
} cs_http_result;

/**
 * Runs one GET or HEAD with a private curl easy + multi handle, on the calling
 * thread (it blocks: call it from a dedicated thread). The first body_cap bytes
 * of the body go to body (may be NULL with body_cap 0), their count to *body_len.
 * 0 when the transfer ran (its outcome, good or bad, is in *result, curl_code
 * included); -ECANCELED when cancel_fd fired; -EINVAL for a bad request;
 * -ENOMEM when curl could not allocate a handle.
 */
int cs_http_fetch(const cs_http_request *request, int cancel_fd,
                  uint8_t *body, size_t body_cap, size_t *body_len, cs_http_result *result);

/** What kind of failure a CURLcode is, for the probe's outcome. */
enum {
    CS_HTTP_FAILURE_NONE = 0,
    CS_HTTP_FAILURE_TIMEOUT = 1,
    /** TCP connect failed: os_errno says why (refused, unreachable). */
    CS_HTTP_FAILURE_CONNECT = 2,
    CS_HTTP_FAILURE_RESOLVE = 3,
    CS_HTTP_FAILURE_TLS = 4,
    CS_HTTP_FAILURE_REDIRECTS = 5,
    CS_HTTP_FAILURE_OTHER = 6,
};
/**
 * libcurl (with OpenSSL) and ldns are opened at the first HTTP or DNS call, not linked: when one
 * cannot be, that call returns -ELIBACC and this says which library and the Debian package to
 * install ("" when none failed).
 */
const char *cs_libs_error(void);

/** Classifies a CURLcode (cs_http_result.curl_code) as one of CS_HTTP_FAILURE_*. */
int cs_http_failure_kind(int curl_code);

#ifdef __cplusplus
}
#endif

#endif
