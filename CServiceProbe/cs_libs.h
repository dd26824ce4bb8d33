/*
 * cs_libs.h — libcurl (with the OpenSSL it runs on) and ldns, loaded the first time an HTTP
 * or DNS probe needs them; not part of the public header.
 *
 * Linked, they and the thirty libraries they need (GnuTLS, Kerberos, LDAP, libssh2, nghttp2…)
 * would be mapped and relocated at every start of every process, also one that only traces a
 * path: about 7 ms of a start, more than the traceroute we compare with takes for its whole
 * run. http.c and dns_wire.c call them through `cs_curl`, `cs_ssl` and `cs_ldns` after
 * `cs_curl_load` / `cs_ldns_load` succeeded. (CProbe's cp_pcap.h does the same for libpcap.)
 */
#ifndef CS_LIBS_H
#define CS_LIBS_H

#include <stddef.h>
#include <time.h>
#include <curl/curl.h>
#include <ldns/ldns.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* X(return type, name without "curl_", parameters). curl_easy_setopt and curl_easy_getinfo
 * are variadic: called through the pointer with one argument, as their macros would. */
#define CS_CURL_FUNCTIONS(X)                                                                  \
    X(CURLcode, global_init, (long))                                                          \
    X(CURL *, easy_init, (void))                                                              \
    X(void, easy_cleanup, (CURL *))                                                           \
    X(CURLcode, easy_setopt, (CURL *, CURLoption, ...))                                       \
    X(CURLcode, easy_getinfo, (CURL *, CURLINFO, ...))                                        \
    X(const char *, easy_strerror, (CURLcode))                                                \
    X(CURLM *, multi_init, (void))                                                            \
    X(CURLMcode, multi_cleanup, (CURLM *))                                                    \
    X(CURLMcode, multi_add_handle, (CURLM *, CURL *))                                         \
    X(CURLMcode, multi_remove_handle, (CURLM *, CURL *))                                      \
    X(CURLMcode, multi_perform, (CURLM *, int *))                                             \
    X(CURLMcode, multi_poll, (CURLM *, struct curl_waitfd[], unsigned int, int, int *))       \
    X(CURLMsg *, multi_info_read, (CURLM *, int *))

/* X(return type, full name, parameters): the certificate of the TLS session libcurl made. */
#define CS_SSL_FUNCTIONS(X)                                                                   \
    X(const char *, SSL_get_version, (const SSL *))                                           \
    X(X509 *, SSL_get1_peer_certificate, (const SSL *))                                       \
    X(void, X509_free, (X509 *))                                                              \
    X(const ASN1_TIME *, X509_get0_notAfter, (const X509 *))                                  \
    X(int, ASN1_TIME_diff, (int *, int *, const ASN1_TIME *, const ASN1_TIME *))              \
    X(int, ASN1_TIME_to_tm, (const ASN1_TIME *, struct tm *))

/* X(return type, name without "ldns_", parameters). */
#define CS_LDNS_FUNCTIONS(X)                                                                  \
    X(char *, buffer_export2str, (ldns_buffer *))                                             \
    X(void, buffer_free, (ldns_buffer *))                                                     \
    X(ldns_buffer *, buffer_new, (size_t))                                                    \
    X(int, buffer_printf, (ldns_buffer *, const char *, ...))                                 \
    X(int, dname_compare, (const ldns_rdf *, const ldns_rdf *))                               \
    X(ldns_rdf *, dname_new_frm_str, (const char *))                                          \
    X(ldns_status, pkt2wire, (uint8_t **, const ldns_pkt *, size_t *))                        \
    X(bool, pkt_aa, (const ldns_pkt *))                                                       \
    X(uint16_t, pkt_ancount, (const ldns_pkt *))                                              \
    X(ldns_rr_list *, pkt_answer, (const ldns_pkt *))                                         \
    X(uint16_t, pkt_arcount, (const ldns_pkt *))                                              \
    X(uint8_t, pkt_edns_extended_rcode, (const ldns_pkt *))                                   \
    X(void, pkt_free, (ldns_pkt *))                                                           \
    X(ldns_pkt_rcode, pkt_get_rcode, (const ldns_pkt *))                                      \
    X(uint16_t, pkt_id, (const ldns_pkt *))                                                   \
    X(uint16_t, pkt_nscount, (const ldns_pkt *))                                              \
    X(ldns_pkt *, pkt_query_new, (ldns_rdf *, ldns_rr_type, ldns_rr_class, uint16_t))         \
    X(ldns_rr_list *, pkt_question, (const ldns_pkt *))                                       \
    X(bool, pkt_ra, (const ldns_pkt *))                                                       \
    X(void, pkt_set_edns_udp_size, (ldns_pkt *, uint16_t))                                    \
    X(void, pkt_set_id, (ldns_pkt *, uint16_t))                                               \
    X(bool, pkt_tc, (const ldns_pkt *))                                                       \
    X(ldns_status, rdf2buffer_str, (ldns_buffer *, const ldns_rdf *))                         \
    X(char *, rdf2str, (const ldns_rdf *))                                                    \
    X(uint8_t *, rdf_data, (const ldns_rdf *))                                                \
    X(void, rdf_deep_free, (ldns_rdf *))                                                      \
    X(ldns_rdf_type, rdf_get_type, (const ldns_rdf *))                                        \
    X(size_t, rdf_size, (const ldns_rdf *))                                                   \
    X(ldns_rr_class, rr_get_class, (const ldns_rr *))                                         \
    X(ldns_rr_type, rr_get_type, (const ldns_rr *))                                           \
    X(ldns_rr *, rr_list_rr, (const ldns_rr_list *, size_t))                                  \
    X(size_t, rr_list_rr_count, (const ldns_rr_list *))                                       \
    X(ldns_rdf *, rr_owner, (const ldns_rr *))                                                \
    X(size_t, rr_rd_count, (const ldns_rr *))                                                 \
    X(ldns_rdf *, rr_rdf, (const ldns_rr *, size_t))                                          \
    X(uint32_t, rr_ttl, (const ldns_rr *))                                                    \
    X(char *, rr_type2str, (const ldns_rr_type))                                              \
    X(ldns_status, wire2pkt, (ldns_pkt **, const uint8_t *, size_t))

#define CS_LIBS_FIELD(ret, name, params) ret (*name) params;
struct cs_curl_api { CS_CURL_FUNCTIONS(CS_LIBS_FIELD) };
struct cs_ssl_api { CS_SSL_FUNCTIONS(CS_LIBS_FIELD) };
struct cs_ldns_api { CS_LDNS_FUNCTIONS(CS_LIBS_FIELD) };
#undef CS_LIBS_FIELD

/* The functions, valid once the matching load returned 0. */
extern struct cs_curl_api cs_curl;
extern struct cs_ssl_api cs_ssl;
extern struct cs_ldns_api cs_ldns;

/* Loads libcurl and OpenSSL (libssl, libcrypto) once per process, thread-safe: 0 or -ELIBACC. */
int cs_curl_load(void);
/* Loads ldns once per process, thread-safe: 0 or -ELIBACC. */
int cs_ldns_load(void);
/* cs_libs_error (cservice_probe.h) says why a load failed. */

#endif
