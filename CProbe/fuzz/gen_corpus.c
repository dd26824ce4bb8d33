/*
 * gen_corpus.c — writes the seed corpus for fuzz_echo_parse into a directory:
 * valid echo requests/replies for every selector (see fuzz_echo_parse.c).
 * Usage: gen_corpus DIR   (built and run by hand; the files are committed)
 */
#include "test_addr.h"
#include "cprobe.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static void emit(const char *dir, const char *name, uint8_t selector, const uint8_t *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return;
    }
    fputc(selector, f);
    fwrite(buf, 1, len, f);
    fclose(f);
}

static size_t ipv4(const uint8_t *icmp, size_t n, int ihl, uint8_t *out)
{
    size_t hl = (size_t)ihl * 4;
    memset(out, 0, hl);
    out[0] = (uint8_t)(0x40 | ihl);
    put16(out + 2, (uint16_t)(hl + n));
    out[8] = 64;
    out[9] = 1;
    out[12] = 127, out[15] = 1, out[16] = 127, out[19] = 1;
    for (size_t i = 20; i < hl; i++)
        out[i] = 1;
    put16(out + 10, cp_inet_checksum(out, hl, 0));
    memcpy(out + hl, icmp, n);
    return hl + n;
}

static size_t ipv6(uint8_t *icmp, size_t n, uint8_t *out)
{
    cp_addr lo;
    cp_addr_parse("::1", &lo);
    put16(icmp + 2, cp_icmp6_checksum(&lo, &lo, icmp, n));
    memset(out, 0, 40);
    out[0] = 0x60;
    put16(out + 4, (uint16_t)n);
    out[6] = 58;
    out[7] = 64;
    memcpy(out + 8, lo.bytes, 16);
    memcpy(out + 24, lo.bytes, 16);
    memcpy(out + 40, icmp, n);
    return 40 + n;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *dir = argv[1];
    uint8_t icmp4[128], icmp6[128], p4[256], p4opt[256], p6[256], frame[512];
    size_t n4, n6;
    cp_echo_build(AF_INET, 0x1234, 1, 0x0102030405060708ull, 24, icmp4, sizeof icmp4, &n4);
    cp_echo_build(AF_INET6, 0x1234, 1, 0x0102030405060708ull, 24, icmp6, sizeof icmp6, &n6);
    size_t l4 = ipv4(icmp4, n4, 5, p4), l4opt = ipv4(icmp4, n4, 8, p4opt);
    size_t l6 = ipv6(icmp6, n6, p6);

    emit(dir, "v4-icmp", 0, icmp4, n4);
    emit(dir, "v4-ip", 1, p4, l4);
    emit(dir, "v4-ip-options", 1, p4opt, l4opt);
    emit(dir, "v6-icmp", 2, icmp6, n6);
    cp_addr lo;
    cp_addr_parse("::1", &lo);
    memcpy(frame, lo.bytes, 16);
    memcpy(frame + 16, lo.bytes, 16);
    memcpy(frame + 32, p6 + 40, n6);
    emit(dir, "v6-icmp-addrs", 3, frame, 32 + n6);
    emit(dir, "v6-ip", 4, p6, l6);

    /* Ethernet with an 802.1Q tag. */
    memset(frame, 0, 12);
    put16(frame + 12, 0x8100);
    put16(frame + 14, 42);
    put16(frame + 16, 0x0800);
    memcpy(frame + 18, p4, l4);
    emit(dir, "en10mb-vlan-v4", 5, frame, 18 + l4);
    memset(frame, 0, 16);
    put16(frame, 4);
    put16(frame + 14, 0x86dd);
    memcpy(frame + 16, p6, l6);
    emit(dir, "sll-out-v6", 6, frame, 16 + l6);
    memset(frame, 0, 20);
    put16(frame, 0x0800);
    frame[7] = 1;
    memcpy(frame + 20, p4, l4);
    emit(dir, "sll2-in-v4", 7, frame, 20 + l4);
    emit(dir, "raw-v6", 8, p6, l6);
    emit(dir, "ipv4-v4", 9, p4, l4);
    emit(dir, "ipv6-v6", 10, p6, l6);
    uint32_t af = AF_INET;
    memcpy(frame, &af, 4);
    memcpy(frame + 4, p4, l4);
    emit(dir, "null-v4", 11, frame, 4 + l4);
    emit(dir, "addr-v6-zone", 12, (const uint8_t *)"fe80::1%lo", 10);
    emit(dir, "addr-v4", 12, (const uint8_t *)"192.0.2.1", 9);
    return 0;
}
