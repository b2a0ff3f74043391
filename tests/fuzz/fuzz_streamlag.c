/*
 * libFuzzer target for the stream gauges' arithmetic (coordinator/streamlag.c), which reads
 * ids and counts from Redis replies: six lines (the group's last delivered id, the stream's
 * last generated and first ids, its length, Redis' lag, a trimmed count learned before). An
 * id accepted must be what its digits say; the undelivered count stays within [0, length].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "streamlag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 6

/* an id read a second, simpler way: decimal digits, optionally '-' and decimal digits */
static int reference_id(const char *s, struct streamlag_id *out)
{
    const char *p = s;
    unsigned __int128 v = 0;

    out->ms = out->seq = 0;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > INT64_MAX) return -1;
    }
    out->ms = (uint64_t)v;
    if (*p == '\0') return 0;
    if (*p++ != '-') return -1;
    if (*p < '0' || *p > '9') return -1;
    for (v = 0; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > INT64_MAX) return -1;
    }
    out->seq = (uint64_t)v;
    return *p == '\0' ? 0 : -1;
}

static long long number(const char *s)
{
    return strtoll(s, NULL, 10);
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *field[FIELDS];
    struct streamlag_id ids[3], ref;
    struct streamlag_stream s;
    struct streamlag_state st = {0};
    int nf = 0;

    if (buf == NULL) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (char *p = buf; nf < FIELDS; nf++) {
        field[nf] = p;
        p = strchr(p, '\n');
        if (p == NULL) {
            nf++;
            break;
        }
        *p++ = '\0';
    }
    for (int i = 0; i < nf && i < 3; i++) {
        int got = streamlag_parse_id(field[i], &ids[i]);
        int want = reference_id(field[i], &ref);
        /* the parser may refuse more (leading '+' or spaces strtoll takes); never accept
         * what the reference refuses, nor read other digits */
        if (got == 0 && (want != 0 || ref.ms != ids[i].ms || ref.seq != ids[i].seq)) abort();
    }
    if (nf == FIELDS && streamlag_parse_id(field[0], &ids[0]) == 0 &&
        streamlag_parse_id(field[1], &ids[1]) == 0 && streamlag_parse_id(field[2], &ids[2]) == 0) {
        long long lag = number(field[4]), n;
        s.last_generated = ids[1];
        s.first = ids[2];
        s.length = number(field[3]);
        if (s.length < 0) s.length = 0; /* XINFO STREAM never gives less */
        st.trimmed = number(field[5]);
        st.trimmed_known = st.trimmed >= 0;
        n = streamlag_undelivered(&s, &ids[0], lag >= 0, lag, &st);
        if (n < 0 || n > s.length) abort();
        bool caught_up = streamlag_cmp(&ids[0], &ids[1]) >= 0 || s.length == 0;
        if (caught_up != (n == 0)) abort();
        if (caught_up && lag >= 0 && (!st.trimmed_known || st.trimmed != lag)) abort();
        if (!caught_up && streamlag_cmp(&ids[0], &ids[2]) < 0 && n != s.length) abort();
    }
    free(buf);
    return 0;
}
