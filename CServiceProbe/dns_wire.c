/* DNS messages through ldns: query building and response parsing (RFC 1035, RFC 6891). */
#define _GNU_SOURCE
#include "cservice_probe.h"

#include <errno.h>
#include "cs_libs.h"
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cs_dns_build_query(const char *name, uint16_t qtype, uint16_t id, uint16_t edns_udp_size, int rd,
                       uint8_t *out, size_t cap, size_t *len) {
    return cs_dns_build_query_class(name, qtype, LDNS_RR_CLASS_IN, id, edns_udp_size, rd, out, cap, len);
}

int cs_dns_build_query_class(const char *name, uint16_t qtype, uint16_t qclass, uint16_t id, uint16_t edns_udp_size,
                             int rd, uint8_t *out, size_t cap, size_t *len) {
    if (name == NULL || out == NULL || len == NULL || name[0] == '\0') return -EINVAL;
    int loaded = cs_ldns_load();
    if (loaded != 0) return loaded;
    ldns_rdf *owner = cs_ldns.dname_new_frm_str(name);
    if (owner == NULL) return -EINVAL;
    ldns_pkt *pkt = cs_ldns.pkt_query_new(owner, (ldns_rr_type)qtype, (ldns_rr_class)qclass, rd ? LDNS_RD : 0);
    if (pkt == NULL) {
        cs_ldns.rdf_deep_free(owner);
        return -ENOMEM;
    }
    cs_ldns.pkt_set_id(pkt, id);
    if (edns_udp_size > 0) cs_ldns.pkt_set_edns_udp_size(pkt, edns_udp_size);
    uint8_t *wire = NULL;
    size_t size = 0;
    ldns_status status = cs_ldns.pkt2wire(&wire, pkt, &size);
    cs_ldns.pkt_free(pkt);
    if (status != LDNS_STATUS_OK || wire == NULL) {
        free(wire);
        return status == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
    }
    int rc = 0;
    if (size > cap) {
        rc = -EINVAL;
    } else {
        memcpy(out, wire, size);
        *len = size;
    }
    free(wire);
    return rc;
}

/* Appends text and a NUL to records[*used..cap). 0 or -ENOBUFS. */
static int append(char *records, size_t cap, size_t *used, const char *text) {
    size_t n = strlen(text);
    if (n + 1 > cap - *used) return -ENOBUFS;
    memcpy(records + *used, text, n + 1);
    *used += n + 1;
    return 0;
}

/* Whether ldns's presentation format of this kind of rdata field is used. Its printers for
 * the rest are a larger surface than our answers need: fuzz_dns_parse found ldns 1.8's
 * SVCB/HTTPS parameter printer failing an assertion (an abort) on a malformed field of a
 * record ldns_wire2pkt had accepted. The fields of A, AAAA, CNAME, NS, PTR, MX, TXT, SOA,
 * SRV and CAA records are all in this list. */
static int printable_kind(ldns_rdf_type kind) {
    switch (kind) {
    case LDNS_RDF_TYPE_DNAME:
    case LDNS_RDF_TYPE_INT8:
    case LDNS_RDF_TYPE_INT16:
    case LDNS_RDF_TYPE_INT32:
    case LDNS_RDF_TYPE_A:
    case LDNS_RDF_TYPE_AAAA:
    case LDNS_RDF_TYPE_STR:
    case LDNS_RDF_TYPE_LONG_STR:
    case LDNS_RDF_TYPE_TAG:
    case LDNS_RDF_TYPE_TYPE:
    case LDNS_RDF_TYPE_CLASS:
    case LDNS_RDF_TYPE_PERIOD:
    case LDNS_RDF_TYPE_ALG:
    case LDNS_RDF_TYPE_HEX:
    case LDNS_RDF_TYPE_B64:
        return 1;
    default:
        return 0;
    }
}

/* One rdata field: ldns's presentation format for the kinds above, else RFC 3597's generic
 * "\# length hex" of its bytes. */
static void rdf_text(ldns_buffer *out, const ldns_rdf *rdf) {
    if (printable_kind(cs_ldns.rdf_get_type(rdf))) {
        cs_ldns.rdf2buffer_str(out, rdf);
        return;
    }
    size_t size = cs_ldns.rdf_size(rdf);
    const uint8_t *data = cs_ldns.rdf_data(rdf);
    cs_ldns.buffer_printf(out, "\\# %zu", size);
    if (size > 0) cs_ldns.buffer_printf(out, " ");
    for (size_t i = 0; i < size && data != NULL; i++) cs_ldns.buffer_printf(out, "%02x", data[i]);
}

/* "owner\tTYPE\tTTL\trdata" of one record, malloc'd, or NULL. */
static char *record_line(const ldns_rr *rr) {
    char *owner = cs_ldns.rdf2str(cs_ldns.rr_owner(rr));
    char *type = cs_ldns.rr_type2str(cs_ldns.rr_get_type(rr));
    ldns_buffer *rdata = cs_ldns.buffer_new(256);
    char *line = NULL;
    if (owner != NULL && type != NULL && rdata != NULL) {
        for (size_t i = 0; i < cs_ldns.rr_rd_count(rr); i++) {
            if (i > 0) cs_ldns.buffer_printf(rdata, " ");
            rdf_text(rdata, cs_ldns.rr_rdf(rr, i));
        }
        char *data = cs_ldns.buffer_export2str(rdata);
        if (data != NULL && asprintf(&line, "%s\t%s\t%u\t%s", owner, type, (unsigned)cs_ldns.rr_ttl(rr), data) < 0) line = NULL;
        free(data);
    }
    free(owner);
    free(type);
    if (rdata != NULL) cs_ldns.buffer_free(rdata);
    return line;
}

/* Skips the domain name at *pos (labels, or a compression pointer ending it). 0, or -1 when
 * the name runs past len or is malformed. */
static int skip_name(const uint8_t *buf, size_t len, size_t *pos) {
    size_t p = *pos;
    for (int labels = 0; labels < 128; labels++) {
        if (p >= len) return -1;
        uint8_t c = buf[p];
        if (c == 0) {
            *pos = p + 1;
            return 0;
        }
        if ((c & 0xC0) == 0xC0) {
            if (len - p < 2) return -1;
            *pos = p + 2;
            return 0;
        }
        if ((c & 0xC0) != 0) return -1;
        p += 1 + (size_t)c;
    }
    return -1;
}

/* Whether a record of the message, before its end or its first malformed part, is a TSIG
 * (type 250). Our queries are never signed, so a signed response is not an answer to one of
 * them (RFC 8945 5.3); and ldns_wire2pkt leaks the TSIG record when parsing fails after it
 * (found by fuzz_dns_parse with ldns 1.8), so such a message never reaches ldns. */
static int carries_tsig(const uint8_t *buf, size_t len) {
    if (len < 12) return 0;
    unsigned questions = (unsigned)buf[4] << 8 | buf[5];
    unsigned long records = ((unsigned long)buf[6] << 8 | buf[7]) + ((unsigned long)buf[8] << 8 | buf[9]) +
                            ((unsigned long)buf[10] << 8 | buf[11]);
    size_t pos = 12;
    for (unsigned i = 0; i < questions; i++) {
        if (skip_name(buf, len, &pos) != 0 || len - pos < 4) return 0;
        pos += 4;
    }
    for (unsigned long i = 0; i < records; i++) {
        if (skip_name(buf, len, &pos) != 0 || len - pos < 10) return 0;
        unsigned type = (unsigned)buf[pos] << 8 | buf[pos + 1];
        if (type == 250) return 1;
        size_t rdlength = (size_t)buf[pos + 8] << 8 | buf[pos + 9];
        pos += 10;
        if (len - pos < rdlength) return 0;
        pos += rdlength;
    }
    return 0;
}

int cs_dns_parse_response(const uint8_t *buf, size_t len, const char *expect_name, uint16_t expect_qtype,
                          cs_dns_response_info *info, char *records, size_t records_cap, size_t *records_len) {
    return cs_dns_parse_response_class(buf, len, expect_name, expect_qtype, LDNS_RR_CLASS_IN, info, records, records_cap,
                                       records_len);
}

int cs_dns_parse_response_class(const uint8_t *buf, size_t len, const char *expect_name, uint16_t expect_qtype,
                                uint16_t expect_qclass, cs_dns_response_info *info, char *records, size_t records_cap,
                                size_t *records_len) {
    if (buf == NULL || info == NULL || records_len == NULL || (records == NULL && records_cap > 0)) return -EINVAL;
    memset(info, 0, sizeof *info);
    *records_len = 0;
    int loaded = cs_ldns_load();
    if (loaded != 0) return loaded;
    if (carries_tsig(buf, len)) return -EBADMSG;
    ldns_pkt *pkt = NULL;
    if (cs_ldns.wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK || pkt == NULL) return -EBADMSG;
    info->id = cs_ldns.pkt_id(pkt);
    info->rcode = (uint16_t)(((unsigned)cs_ldns.pkt_edns_extended_rcode(pkt) << 4) | (cs_ldns.pkt_get_rcode(pkt) & 0x0f));
    info->truncated = cs_ldns.pkt_tc(pkt);
    info->authoritative = cs_ldns.pkt_aa(pkt);
    info->recursion_available = cs_ldns.pkt_ra(pkt);
    info->answer_count = cs_ldns.pkt_ancount(pkt);
    info->authority_count = cs_ldns.pkt_nscount(pkt);
    info->additional_count = cs_ldns.pkt_arcount(pkt);

    ldns_rr_list *question = cs_ldns.pkt_question(pkt);
    if (expect_name != NULL && question != NULL && cs_ldns.rr_list_rr_count(question) == 1) {
        ldns_rdf *expected = cs_ldns.dname_new_frm_str(expect_name);
        ldns_rr *q = cs_ldns.rr_list_rr(question, 0);
        info->question_matches = expected != NULL && cs_ldns.dname_compare(cs_ldns.rr_owner(q), expected) == 0 &&
                                 cs_ldns.rr_get_type(q) == (ldns_rr_type)expect_qtype &&
                                 cs_ldns.rr_get_class(q) == (ldns_rr_class)expect_qclass;
        if (expected != NULL) cs_ldns.rdf_deep_free(expected);
    }

    int rc = 0;
    size_t used = 0;
    ldns_rr_list *answer = cs_ldns.pkt_answer(pkt);
    for (size_t i = 0; answer != NULL && i < cs_ldns.rr_list_rr_count(answer) && rc == 0; i++) {
        char *line = record_line(cs_ldns.rr_list_rr(answer, i));
        if (line == NULL) {
            rc = -ENOMEM;
            break;
        }
        rc = append(records, records_cap, &used, line);
        free(line);
    }
    *records_len = used;
    cs_ldns.pkt_free(pkt);
    return rc;
}
