/*
 * Unit tests for CServiceProbe against loopback servers run in this process's threads: the
 * UDP exchange ignores answers with a foreign ID, a truncated answer is fetched again over
 * TCP, a silent server times out, a closed port is refused, cancellation is prompt, and the
 * TCP connect probe tells open from closed, and the bulk flow moves bytes both ways. Only 127.0.0.1 is used. Harness: CProbe/fuzz/check.h.
 */
#define _GNU_SOURCE
#include "cservice_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h" /* CProbe/fuzz/check.h */


static int bound_socket(int type, uint16_t *port) {
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        perror("bind");
        exit(2);
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

/* A UDP server that first answers with a wrong ID, then with the right ID and TC set. */
typedef struct { int udp; int tcp; } servers;

static void *serve(void *context) {
    servers *s = context;
    uint8_t buf[512];
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    ssize_t n = recvfrom(s->udp, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
    if (n < 12) return NULL;
    buf[2] |= 0x80; /* QR */
    buf[0] ^= 0xff; /* wrong ID first */
    sendto(s->udp, buf, (size_t)n, 0, (struct sockaddr *)&peer, peer_len);
    buf[0] ^= 0xff;
    buf[2] |= 0x02; /* TC */
    sendto(s->udp, buf, (size_t)n, 0, (struct sockaddr *)&peer, peer_len);
    /* The TCP retry: the same message, without TC, with an answer count of 0. */
    int conn = accept(s->tcp, NULL, NULL);
    if (conn < 0) return NULL;
    uint8_t prefix[2];
    uint8_t query[512];
    if (recv(conn, prefix, 2, MSG_WAITALL) != 2) { close(conn); return NULL; }
    size_t len = ((size_t)prefix[0] << 8) | prefix[1];
    if (len > sizeof query || recv(conn, query, len, MSG_WAITALL) != (ssize_t)len) { close(conn); return NULL; }
    query[2] |= 0x80;
    send(conn, prefix, 2, 0);
    send(conn, query, len, 0);
    close(conn);
    return NULL;
}

static void test_truncation_and_foreign_ids(void) {
    uint16_t port = 0, tcp_port = 0;
    servers s = {.udp = bound_socket(SOCK_DGRAM, &port)};
    /* The TCP listener must be on the same port as the UDP server. */
    s.tcp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int on = 1;
    setsockopt(s.tcp, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(s.tcp, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(s.tcp, 1) < 0) {
        char why[64];
        snprintf(why, sizeof why, "TCP port %u busy", port);
        skip(why);
        close(s.udp);
        close(s.tcp);
        return;
    }
    (void)tcp_port;
    pthread_t thread;
    pthread_create(&thread, NULL, serve, &s);
    uint8_t query[512], response[4096];
    size_t query_len = 0, response_len = 0;
    CHECK(cs_dns_build_query("example.net", 1, 0x4242, 1232, 1, query, sizeof query, &query_len) == 0);
    cs_dns_exchange_info info;
    int rc = cs_dns_exchange("127.0.0.1", port, query, query_len, 2000, -1, response, sizeof response, &response_len, &info);
    CHECK(rc == 0);
    CHECK(info.ignored_responses == 1);
    CHECK(info.truncated == 1);
    CHECK(info.used_tcp == 1);
    CHECK(response_len == query_len);
    CHECK(response[0] == 0x42 && response[1] == 0x42);
    CHECK(info.latency_ns > 0);
    cs_dns_response_info parsed;
    char records[256];
    size_t used = 0;
    CHECK(cs_dns_parse_response(response, response_len, "example.net", 1, &parsed, records, sizeof records, &used) == 0);
    CHECK(parsed.question_matches == 1);
    CHECK(parsed.rcode == 0);
    pthread_join(thread, NULL);
    close(s.udp);
    close(s.tcp);
}

static void test_silence_refusal_and_cancel(void) {
    uint16_t port = 0;
    int silent = bound_socket(SOCK_DGRAM, &port);
    uint8_t query[512], response[512];
    size_t query_len = 0, response_len = 0;
    cs_dns_exchange_info info;
    CHECK(cs_dns_build_query("example.net", 1, 1, 0, 1, query, sizeof query, &query_len) == 0);
    CHECK(cs_dns_exchange("127.0.0.1", port, query, query_len, 100, -1, response, sizeof response, &response_len, &info) == -ETIMEDOUT);

    int cancel = cs_cancel_open();
    CHECK(cancel >= 0);
    CHECK(cs_cancel_fire(cancel) == 0);
    CHECK(cs_dns_exchange("127.0.0.1", port, query, query_len, 5000, cancel, response, sizeof response, &response_len, &info) == -ECANCELED);
    close(silent);

    /* The port is closed now: ICMP port unreachable. */
    CHECK(cs_dns_exchange("127.0.0.1", port, query, query_len, 1000, -1, response, sizeof response, &response_len, &info) == -ECONNREFUSED);
    CHECK(cs_dns_exchange("not-an-ip", 53, query, query_len, 1000, -1, response, sizeof response, &response_len, &info) == -EINVAL);
    close(cancel);
}

/* A server that drops the first copy of a query (a lost datagram) and answers the second. */
static void *answer_second_copy(void *context) {
    int fd = *(int *)context;
    uint8_t buf[512];
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
    if (n < 12) return NULL;
    peer_len = sizeof peer;
    n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &peer_len);
    if (n < 12) return NULL;
    buf[2] |= 0x80;
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, peer_len);
    return NULL;
}

static void test_a_lost_datagram_is_sent_again(void) {
    uint16_t port = 0;
    int fd = bound_socket(SOCK_DGRAM, &port);
    pthread_t thread;
    pthread_create(&thread, NULL, answer_second_copy, &fd);
    uint8_t query[512], response[512];
    size_t query_len = 0, response_len = 0;
    cs_dns_exchange_info info;
    CHECK(cs_dns_build_query("example.net", 1, 0x1234, 0, 1, query, sizeof query, &query_len) == 0);
    CHECK(cs_dns_exchange("127.0.0.1", port, query, query_len, 900, -1, response, sizeof response, &response_len, &info) == 0);
    CHECK(info.udp_sends == 2);
    /* The second copy leaves a third of the timeout after the first. */
    CHECK(info.latency_ns >= 290000000LL && info.latency_ns < 600000000LL);
    pthread_join(thread, NULL);
    close(fd);

    /* Nobody answers: three copies, then the timeout. */
    int silent = bound_socket(SOCK_DGRAM, &port);
    CHECK(cs_dns_exchange("127.0.0.1", port, query, query_len, 150, -1, response, sizeof response, &response_len, &info) == -ETIMEDOUT);
    CHECK(info.udp_sends == 3);
    close(silent);
}

static void test_tcp_connect(void) {
    uint16_t port = 0;
    int listener = bound_socket(SOCK_STREAM, &port);
    listen(listener, 1);
    int64_t ns = 0;
    CHECK(cs_tcp_connect("127.0.0.1", port, 1000, -1, &ns) == 0);
    CHECK(ns > 0);
    close(listener);
    CHECK(cs_tcp_connect("127.0.0.1", port, 1000, -1, &ns) == -ECONNREFUSED);
    CHECK(cs_tcp_connect("::1x", port, 1000, -1, &ns) == -EINVAL);
    CHECK(cs_tcp_connect("127.0.0.1", port, 0, -1, &ns) == -EINVAL);
}

/* A loopback bulk server: accepts one connection, then reads and discards (sink) or sends
 * zeros (source) until the client closes. Counts what it read. */
typedef struct { int listener; int source; uint64_t read; } bulk_server;

static void *serve_bulk(void *context) {
    bulk_server *b = context;
    static const uint8_t zeros[16384];
    uint8_t buf[16384];
    int fd = accept(b->listener, NULL, NULL);
    if (fd < 0) return NULL;
    for (;;) {
        ssize_t n = b->source ? send(fd, zeros, sizeof zeros, MSG_NOSIGNAL) : recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        if (!b->source) b->read += (uint64_t)n;
    }
    close(fd);
    return NULL;
}

static void test_tcp_bulk(void) {
    for (int source = 0; source <= 1; source++) {
        bulk_server b = {.source = source};
        uint16_t port = 0;
        b.listener = bound_socket(SOCK_STREAM, &port);
        listen(b.listener, 1);
        pthread_t thread;
        pthread_create(&thread, NULL, serve_bulk, &b);
        uint64_t bytes = 0;
        int64_t ns = 0;
        /* source 1: the client downloads; 0: it uploads. 200 ms on loopback moves megabytes. */
        CHECK(cs_tcp_bulk("127.0.0.1", port, source, 1000, 200, -1, &bytes, &ns) == 0);
        CHECK(bytes > 1000000);
        CHECK(ns >= 200000000LL);
        pthread_join(thread, NULL);
        /* An upload counts only what the server acknowledged, never more than it read. */
        if (!source) CHECK(bytes <= b.read);
        close(b.listener);
        CHECK(cs_tcp_bulk("127.0.0.1", port, source, 1000, 200, -1, &bytes, &ns) == -ECONNREFUSED);
        CHECK(bytes == 0);
    }
    uint64_t bytes = 0;
    int64_t ns = 0;
    CHECK(cs_tcp_bulk("127.0.0.1", 9, 0, 1000, 0, -1, &bytes, &ns) == -EINVAL);
    CHECK(cs_tcp_bulk("not-an-ip", 9, 0, 1000, 100, -1, &bytes, &ns) == -EINVAL);
}

/* What fuzz_dns_parse found: two TSIG records, then a truncated one. ldns leaked the TSIG
 * records when it failed on the rest; a signed response is refused before ldns sees it. */
static void test_a_signed_response_is_refused(void) {
    static const uint8_t found[] = {
        0x03, 0x2f, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18,
        0x00, 0x00, 0x00, 0x00, 0x12, 0x2f, 0x00, 0x24, 0x2f, 0x00, 0x00,
        0x00, 0x00, 0xfa, 0x00, 0x00, 0x2f, 0x00, 0x24, 0x2f, 0x00, 0x00,
        0x00, 0x00, 0xfa, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    cs_dns_response_info info;
    char records[256];
    size_t used = 1;
    CHECK(cs_dns_parse_response(found, sizeof found, "example.net", 1, &info, records, sizeof records, &used) == -EBADMSG);
    CHECK(used == 0);
    /* One well-formed TSIG record (root owner, empty rdata) in the additional section. */
    static const uint8_t signed_reply[] = {
        0x12, 0x34, 0x81, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(cs_dns_parse_response(signed_reply, sizeof signed_reply, NULL, 1, &info, records, sizeof records, &used) == -EBADMSG);
    /* The same without the record parses. */
    static const uint8_t unsigned_reply[] = {0x12, 0x34, 0x81, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(cs_dns_parse_response(unsigned_reply, sizeof unsigned_reply, NULL, 1, &info, records, sizeof records, &used) == 0);
    CHECK(info.id == 0x1234);
}

/* Builds a response with one answer record of `type` (root owner, class IN, TTL 60) and the
 * given rdata; returns its length. */
static size_t answer_message(uint8_t *out, uint16_t type, const uint8_t *rdata, uint16_t rdlen) {
    static const uint8_t header[] = {0x12, 0x34, 0x81, 0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
    size_t n = 0;
    memcpy(out, header, sizeof header);
    n += sizeof header;
    const uint8_t fixed[] = {0x00, (uint8_t)(type >> 8), (uint8_t)type, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c,
                             (uint8_t)(rdlen >> 8), (uint8_t)rdlen};
    memcpy(out + n, fixed, sizeof fixed);
    n += sizeof fixed;
    memcpy(out + n, rdata, rdlen);
    return n + rdlen;
}

/* What fuzz_dns_parse found next: an SVCB/HTTPS record whose "mandatory" parameter lists key 0
 * (itself) 32 times. ldns_wire2pkt accepts it, and ldns 1.8's printer for SVCB parameters then
 * fails an assertion (the process aborts). Fields of that kind are shown in RFC 3597's generic
 * form instead; the kinds of everyday records keep ldns's presentation format. */
static void test_record_fields_ldns_cannot_print_are_shown_generically(void) {
    uint8_t rdata[3 + 4 + 64] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x40};
    uint8_t message[256];
    size_t len = answer_message(message, 65, rdata, sizeof rdata);
    cs_dns_response_info info;
    char records[1024];
    size_t used = 0;
    CHECK(cs_dns_parse_response(message, len, NULL, 65, &info, records, sizeof records, &used) == 0);
    CHECK(info.answer_count == 1 && used > 0);
    CHECK(strncmp(records, ".\tHTTPS\t60\t1 . \\# 68 00000040", strlen(".\tHTTPS\t60\t1 . \\# 68 00000040")) == 0);
    /* An MX record still reads as a zone file does. */
    static const uint8_t mx[] = {0x00, 0x0a, 0x02, 'm', 'x', 0x00};
    len = answer_message(message, 15, mx, sizeof mx);
    CHECK(cs_dns_parse_response(message, len, NULL, 15, &info, records, sizeof records, &used) == 0);
    CHECK(strcmp(records, ".\tMX\t60\t10 mx.") == 0);
}

static void test_wire_limits(void) {
    uint8_t small[16];
    size_t len = 0;
    CHECK(cs_dns_build_query("example.net", 1, 1, 0, 1, small, sizeof small, &len) == -EINVAL);
    CHECK(cs_dns_build_query("", 1, 1, 0, 1, small, sizeof small, &len) == -EINVAL);
    uint8_t query[512];
    CHECK(cs_dns_build_query("example.net", 1, 1, 0, 1, query, sizeof query, &len) == 0);
    cs_dns_response_info info;
    size_t used = 0;
    CHECK(cs_dns_parse_response(query, len, "example.net", 1, &info, NULL, 0, &used) == 0);
}

/* id.server is asked in class CH (RFC 4892): the question check compares the class too. */
static void test_chaos_class_questions(void) {
    uint8_t query[512];
    size_t len = 0;
    CHECK(cs_dns_build_query_class("id.server", 16, CS_DNS_CLASS_CH, 7, 0, 1, query, sizeof query, &len) == 0);
    CHECK(len >= 4 && query[len - 2] == 0 && query[len - 1] == CS_DNS_CLASS_CH);
    cs_dns_response_info info;
    size_t used = 0;
    CHECK(cs_dns_parse_response_class(query, len, "id.server", 16, CS_DNS_CLASS_CH, &info, NULL, 0, &used) == 0);
    CHECK(info.question_matches == 1);
    CHECK(cs_dns_parse_response(query, len, "id.server", 16, &info, NULL, 0, &used) == 0);
    CHECK(info.question_matches == 0);
    int hops = -1;
    CHECK(cs_dns_nearest_answer("127.0.0.1", 53, query, len, 0, 100, -1, &hops) == -EINVAL);
    CHECK(cs_dns_nearest_answer("127.0.0.1", 53, query, len, CS_DNS_MAX_HOPS + 1, 100, -1, &hops) == -EINVAL);
    CHECK(cs_dns_nearest_answer("not an address", 53, query, len, 4, 100, -1, &hops) == -EINVAL);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(test_wire_limits);
    RUN(test_chaos_class_questions);
    RUN(test_a_signed_response_is_refused);
    RUN(test_record_fields_ldns_cannot_print_are_shown_generically);
    RUN(test_a_lost_datagram_is_sent_again);
    RUN(test_tcp_connect);
    RUN(test_tcp_bulk);
    RUN(test_silence_refusal_and_cancel);
    RUN(test_truncation_and_foreign_ids);
    return check_summary();
}
