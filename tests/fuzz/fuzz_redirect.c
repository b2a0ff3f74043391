/*
 * libFuzzer target for redirect URL handling (worker/http_walk.c): the first input byte picks
 * the status, a NUL splits the current URL from the Location value. Any bytes must be accepted
 * or refused without crashing; an accepted next URL is http(s), NUL-terminated and within the
 * buffer, and going through the rules again from itself is stable (same answer twice).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const long statuses[] = {301, 302, 303, 307, 308, 300, 200, 399};

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char current[2048], location[4096], next[4096], again[4096], err[256];
    const uint8_t *nul;
    size_t clen, llen;
    long status;

    if (size < 1) return 0;
    status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    data++;
    size--;
    nul = memchr(data, 0, size);
    clen = nul ? (size_t)(nul - data) : 0;
    llen = nul ? size - clen - 1 : size;
    if (clen >= sizeof(current) || llen >= sizeof(location)) return 0;
    if (clen == 0) {
        memcpy(current, "http://example.com/.well-known/acme-challenge/t", 48);
    } else {
        memcpy(current, data, clen);
        current[clen] = '\0';
    }
    memcpy(location, nul ? nul + 1 : data, llen);
    location[llen] = '\0';
    if (memchr(location, 0, llen) != NULL) return 0; /* C strings only */
    if (http_walk_redirect_check(current, status, location, next, sizeof(next), err,
                                 sizeof(err)) != 0)
        return 0;
    if (strnlen(next, sizeof(next)) >= sizeof(next)) abort();
    if (strncmp(next, "http://", 7) != 0 && strncmp(next, "https://", 8) != 0) abort();
    /* an absolute URL redirecting to itself resolves to the same URL */
    if (http_walk_redirect_check(next, 302, next, again, sizeof(again), err, sizeof(err)) == 0 &&
        strcmp(next, again) != 0)
        abort();
    return 0;
}
