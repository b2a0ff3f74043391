/*
 * Small helpers shared by every module: checked number parsing (instead of atoi), bounded
 * string copies (instead of strcpy), address parsing, hex encoding and allocation that aborts
 * on out-of-memory for small control structures.
 */
#ifndef MPIC_UTIL_H
#define MPIC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#define MPIC_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MPIC_MUSTCHECK __attribute__((warn_unused_result))

/** Parses a whole string as a base-10 integer in [min, max]. Returns 0, or -1 on any error. */
int util_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out) MPIC_MUSTCHECK;
/** Parses a whole string as a finite double. */
int util_parse_double(const char *s, double *out) MPIC_MUSTCHECK;
/**
 * Splits "IP:PORT", "[IPv6]:PORT" or "IP" (with default_port) into host and port.
 * The host must be a numeric IPv4/IPv6 address. Returns 0 or -1.
 */
int util_parse_hostport(const char *s, int default_port, char *host, size_t hostlen,
                        int *port) MPIC_MUSTCHECK;
/** Copies at most dstlen-1 bytes and always terminates; returns false when truncated. */
bool util_strlcpy(char *dst, const char *src, size_t dstlen);
/** Lowercase hex of `len` bytes into out (2*len+1 bytes). */
void util_hex_encode(const unsigned char *in, size_t len, char *out);
/** malloc/calloc/strdup that abort on out-of-memory (control structures only). */
void *util_xmalloc(size_t n);
void *util_xcalloc(size_t n, size_t size);
char *util_xstrdup(const char *s);
char *util_xstrndup(const char *s, size_t n);
/** vsnprintf into err when err is non-NULL and errlen > 0 (error-message out-parameters). */
void util_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/**
 * Fills buf with cryptographically random bytes (OpenSSL RAND_bytes, buffered per thread:
 * never the same bytes twice, and a forked child never reuses its parent's); aborts on failure.
 */
void util_random_bytes(unsigned char *buf, size_t len);
/** A duration in milliseconds as a struct timeval for event_add(); a negative one is 0. */
struct timeval util_ms_timeval(int64_t ms);

#endif
