/*
 * Small helpers: checked parsing, bounded copies, hex, aborting allocators, randomness
 * (served from a per-thread buffer of CSPRNG output, see util_random_bytes), and the
 * millisecond-to-timeval conversion every timer uses.
 */
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int util_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long v;

    /* strtoll would also skip leading white space and accept '+': not a "whole" number */
    if (s == NULL || !(*s == '-' || (*s >= '0' && *s <= '9'))) return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') return -1;
    if (v < min || v > max) return -1;
    *out = (int64_t)v;
    return 0;
}

int util_parse_double(const char *s, double *out)
{
    char *end = NULL;
    double v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

int util_parse_hostport(const char *s, int default_port, char *host, size_t hostlen, int *port)
{
    const char *colon;
    const char *hstart = s;
    size_t hlen;
    int64_t p = default_port;
    unsigned char tmp[16];
    char buf[64];

    if (s == NULL || *s == '\0') return -1;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL) return -1;
        hstart = s + 1;
        hlen = (size_t)(close - hstart);
        if (close[1] == ':') {
            if (util_parse_int64(close + 2, 1, 65535, &p) != 0) return -1;
        } else if (close[1] != '\0') {
            return -1;
        }
    } else {
        colon = strrchr(s, ':');
        if (colon != NULL && strchr(s, ':') == colon) { /* exactly one colon: IPv4:port */
            hlen = (size_t)(colon - s);
            if (util_parse_int64(colon + 1, 1, 65535, &p) != 0) return -1;
        } else {
            hlen = strlen(s); /* bare IPv4, or bare IPv6 without brackets */
        }
    }
    if (hlen == 0 || hlen >= sizeof(buf) || hlen >= hostlen) return -1;
    memcpy(buf, hstart, hlen);
    buf[hlen] = '\0';
    if (inet_pton(AF_INET, buf, tmp) != 1 && inet_pton(AF_INET6, buf, tmp) != 1) return -1;
    if (default_port <= 0 && p <= 0) return -1;
    memcpy(host, buf, hlen + 1);
    *port = (int)p;
    return 0;
}

bool util_strlcpy(char *dst, const char *src, size_t dstlen)
{
    size_t n = strlen(src);
    if (dstlen == 0) return false;
    if (n >= dstlen) {
        memcpy(dst, src, dstlen - 1);
        dst[dstlen - 1] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

void util_hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static void util_oom(void)
{
    fputs("mpic: out of memory\n", stderr);
    abort();
}

void *util_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) util_oom();
    return p;
}

void *util_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) util_oom();
    return p;
}

char *util_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL) util_oom();
    return p;
}

char *util_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL) util_oom();
    return p;
}

static void util_rand_direct(unsigned char *buf, size_t len)
{
    if (RAND_bytes(buf, (int)len) != 1) {
        fputs("mpic: RAND_bytes failed\n", stderr);
        abort();
    }
}

/*
 * RAND_bytes costs a getpid() system call per call (OpenSSL's fork check), and the hot path
 * asks for a few bytes at a time (request ids, 12-byte seal nonces). So random bytes come
 * from a per-thread pool refilled with one RAND_bytes of UTIL_RAND_POOL bytes: every byte is
 * handed out once, then wiped. A forked child must not hand out its parent's remaining bytes:
 * a pthread_atfork child handler empties the forking thread's pool (the only thread a child
 * has), so the child's next call refills from OpenSSL, which reseeds after a fork itself.
 */
#define UTIL_RAND_POOL 4096
#define UTIL_RAND_DIRECT_MIN 512 /* larger requests bypass the pool */

struct util_rand_pool {
    unsigned char buf[UTIL_RAND_POOL];
    size_t used; /* bytes already handed out (wiped); UTIL_RAND_POOL: empty */
};

static _Thread_local struct util_rand_pool util_rand = {.used = UTIL_RAND_POOL};
static pthread_once_t util_rand_once = PTHREAD_ONCE_INIT;

/* called by fork in the child: drop the bytes the parent may still hand out */
static void util_rand_atfork_child(void)
{
    OPENSSL_cleanse(util_rand.buf, sizeof(util_rand.buf));
    util_rand.used = UTIL_RAND_POOL;
}

/* called once by pthread_once before the first refill */
static void util_rand_register(void)
{
    if (pthread_atfork(NULL, NULL, util_rand_atfork_child) != 0) {
        fputs("mpic: pthread_atfork failed\n", stderr);
        abort();
    }
}

void util_random_bytes(unsigned char *buf, size_t len)
{
    struct util_rand_pool *p = &util_rand;

    if (len >= UTIL_RAND_DIRECT_MIN) {
        util_rand_direct(buf, len);
        return;
    }
    if (UTIL_RAND_POOL - p->used < len) {
        pthread_once(&util_rand_once, util_rand_register);
        util_rand_direct(p->buf, sizeof(p->buf));
        p->used = 0;
    }
    memcpy(buf, p->buf + p->used, len);
    OPENSSL_cleanse(p->buf + p->used, len);
    p->used += len;
}

void util_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

struct timeval util_ms_timeval(int64_t ms)
{
    struct timeval tv;

    if (ms < 0) ms = 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}
