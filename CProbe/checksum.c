/*
 * checksum.c — the Internet checksum (RFC 1071) and the ICMPv6 checksum with
 * its pseudo-header (RFC 8200 §8.1, RFC 4443 §2.3).
 *
 * The sum is taken over 16-bit big-endian words, so the result is the value
 * to store big-endian at the checksum field (buf[2] = c >> 8, buf[3] = c).
 * Summing a packet that already carries a correct checksum yields 0.
 */
#include "cp_internal.h"

/* Adds the 16-bit big-endian words of buf to sum; an odd last byte is padded
 * with a zero byte on the right (RFC 1071 §4.1). A 64-bit accumulator cannot
 * overflow for any buffer that fits in memory. */
static uint64_t sum_words(const uint8_t *buf, size_t len, uint64_t sum)
{
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += cp_be16(buf + i);
    if (i < len)
        sum += (uint64_t)buf[i] << 8;
    return sum;
}

static uint16_t fold_complement(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t cp_inet_checksum(const uint8_t *buf, size_t len, uint32_t initial_sum)
{
    if (buf == NULL)
        len = 0;
    return fold_complement(sum_words(buf, len, initial_sum));
}

uint16_t cp_icmp6_checksum(const cp_addr *src, const cp_addr *dst,
                           const uint8_t *icmp, size_t len)
{
    /* Pseudo-header: source, destination, 32-bit upper-layer length, three
     * zero bytes and next header 58. */
    uint64_t sum = 0;
    if (src != NULL)
        sum = sum_words(src->bytes, 16, sum);
    if (dst != NULL)
        sum = sum_words(dst->bytes, 16, sum);
    sum += (uint64_t)((len >> 16) & 0xffffu) + (len & 0xffffu);
    sum += 58;
    if (icmp == NULL)
        len = 0;
    return fold_complement(sum_words(icmp, len, sum));
}
