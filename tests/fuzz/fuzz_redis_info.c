/*
 * libFuzzer target for the INFO reply reader (common/redis_client.c, redis_client_info_int,
 * which the coordinator's metrics sampler runs on every INFO memory reply): any bytes must be
 * read only within the given length, and a value it finds must be what its line says.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the value written on the field's first line, by a second, simpler reading */
static int reference(const char *in, size_t size, const char *field, int64_t *out)
{
    size_t flen = strlen(field);
    size_t i = 0;

    while (i < size) {
        size_t end = i;
        while (end < size && in[end] != '\n') end++;
        size_t stop = (end > i && in[end - 1] == '\r') ? end - 1 : end;
        if (stop - i > flen && memcmp(in + i, field, flen) == 0 && in[i + flen] == ':') {
            char buf[32];
            char *e;
            size_t n = stop - i - flen - 1;
            long long v;
            if (n == 0 || n >= 24) return -1;
            memcpy(buf, in + i + flen + 1, n);
            buf[n] = '\0';
            if (memchr(buf, '\0', n) != NULL) return -1;
            v = strtoll(buf, &e, 10);
            *out = v;
            return 0; /* found: the caller compares only when both accept */
        }
        i = end + 1;
    }
    return -1;
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fields[] = {"used_memory", "maxmemory", "a", "used"};
    /* a private copy of exactly size bytes, so ASan sees any read past the end */
    char *in = malloc(size ? size : 1);
    int64_t got, want;

    if (in == NULL) return 0;
    if (size) memcpy(in, data, size);
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        if (redis_client_info_int(in, size, fields[f], &got) != 0) continue;
        /* accepted: the reference reading must find the same line and value */
        if (reference(in, size, fields[f], &want) != 0 || want != got) abort();
    }
    free(in);
    return 0;
}
