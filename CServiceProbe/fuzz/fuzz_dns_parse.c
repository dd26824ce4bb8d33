/* libFuzzer target: cs_dns_parse_response on arbitrary bytes, with a roomy and a tiny record buffer. */
#include "cservice_probe.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char records[64 * 1024];
    char tiny[8];
    cs_dns_response_info info;
    size_t used = 0;
    cs_dns_parse_response(data, size, "example.net", 1, &info, records, sizeof records, &used);
    if (used > sizeof records) __builtin_trap();
    cs_dns_parse_response(data, size, "example.net", 28, &info, tiny, sizeof tiny, &used);
    if (used > sizeof tiny) __builtin_trap();
    return 0;
}
