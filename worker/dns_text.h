/*
 * Record values as text for messages and details: bytes escaped into printable ASCII
 * ('"' and '\' with a backslash, others as \DDD) and values as JSON strings (as-is when valid
 * UTF-8, else escaped). Shared by the DNS checks.
 */
#ifndef MPIC_DNS_TEXT_H
#define MPIC_DNS_TEXT_H

#include <jansson.h>
#include <stddef.h>

/** Escapes at most `cap` bytes of v[0..n) into out (always terminated, truncated to outlen). */
void dns_text_escape(const unsigned char *v, size_t n, size_t cap, char *out, size_t outlen);
/** A new JSON string of the value: as-is when valid UTF-8, else the escaped form. */
json_t *dns_text_json(const unsigned char *v, size_t n);

#endif
