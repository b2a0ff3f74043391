/*
 * Compact JSON serialization (see jsonout.h). One growable buffer; strings are scanned once,
 * copying runs of plain bytes and escaping exactly what jansson escapes (", \, control
 * characters; \u escapes in upper-case hex), with jansson's UTF-8 validation. Reals, which the
 * service never writes on its hot path, are formatted by jansson itself.
 */
#include "jsonout.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct jsonout_buf {
    char *p;
    size_t len, cap;
};

static void jsonout_reserve(struct jsonout_buf *b, size_t more)
{
    size_t need = b->len + more + 1; /* + the final NUL */
    size_t cap = b->cap;
    char *p;

    if (need <= cap) return;
    while (cap < need) cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL) {
        fputs("mpic: out of memory\n", stderr);
        abort();
    }
    b->p = p;
    b->cap = cap;
}

static void jsonout_put(struct jsonout_buf *b, const char *s, size_t n)
{
    jsonout_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void jsonout_putc(struct jsonout_buf *b, char c)
{
    jsonout_reserve(b, 1);
    b->p[b->len++] = c;
}

/* Length of the valid UTF-8 sequence at s (jansson's rules: no overlongs, no surrogates, at
 * most U+10FFFF), or 0 when it is invalid. s[0] >= 0x80. */
static size_t jsonout_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0; /* continuation byte, overlong lead 0xc0/0xc1, or beyond 0xf4 */
    }
    if (n > avail) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000)) return 0;
    return n;
}

/* Byte classes for the string scan: 0 copied as is, 1 escaped, 2 starts a UTF-8 sequence. */
static const unsigned char jsonout_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x00-0x1f: control characters */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80-0xff */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* Appends s as a JSON string; -1 when it is not valid UTF-8. */
static int jsonout_string(struct jsonout_buf *b, const char *str, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0, i = 0;

    jsonout_reserve(b, len + 2);
    b->p[b->len++] = '"';
    while (i < len) {
        unsigned char c;
        char esc[6];
        size_t elen = 2;

        while (i < len && jsonout_class[s[i]] == 0) i++;
        if (i == len) break;
        c = s[i];
        if (c >= 0x80) {
            size_t n = jsonout_utf8_len(s + i, len - i);
            if (n == 0) return -1;
            i += n;
            continue;
        }
        jsonout_put(b, str + run, i - run); /* the plain bytes before the escape */
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
            break;
        }
        jsonout_put(b, esc, elen);
        run = ++i;
    }
    jsonout_put(b, str + run, len - run);
    jsonout_putc(b, '"');
    return 0;
}

static void jsonout_integer(struct jsonout_buf *b, json_int_t v)
{
    char tmp[24];
    size_t n = sizeof(tmp);
    /* magnitude as unsigned, so INT64_MIN works */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

    do {
        tmp[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) tmp[--n] = '-';
    jsonout_put(b, tmp + n, sizeof(tmp) - n);
}

/* jansson's own text for a real (its precision and exponent rules); -1 if it fails. */
static int jsonout_real(struct jsonout_buf *b, const json_t *v)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

    if (text == NULL) return -1;
    jsonout_put(b, text, strlen(text));
    free(text);
    return 0;
}

static int jsonout_value(struct jsonout_buf *b, const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        bool first = true;
        void *it;

        if (depth >= JSONOUT_MAX_DEPTH) return -1;
        jsonout_putc(b, '{');
        for (it = json_object_iter((json_t *)v); it != NULL;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first) jsonout_putc(b, ',');
            first = false;
            if (jsonout_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) != 0)
                return -1;
            jsonout_putc(b, ':');
            if (jsonout_value(b, json_object_iter_value(it), depth + 1) != 0) return -1;
        }
        jsonout_putc(b, '}');
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);

        if (depth >= JSONOUT_MAX_DEPTH) return -1;
        jsonout_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i > 0) jsonout_putc(b, ',');
            if (jsonout_value(b, json_array_get(v, i), depth + 1) != 0) return -1;
        }
        jsonout_putc(b, ']');
        return 0;
    }
    case JSON_STRING:
        return jsonout_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        jsonout_integer(b, json_integer_value(v));
        return 0;
    case JSON_REAL:
        return jsonout_real(b, v);
    case JSON_TRUE:
        jsonout_put(b, "true", 4);
        return 0;
    case JSON_FALSE:
        jsonout_put(b, "false", 5);
        return 0;
    case JSON_NULL:
        jsonout_put(b, "null", 4);
        return 0;
    }
    return -1;
}

char *jsonout_dumps(const json_t *v, size_t *len)
{
    struct jsonout_buf b;

    if (!json_is_object(v) && !json_is_array(v)) return NULL;
    b.cap = 1024;
    b.len = 0;
    b.p = util_xmalloc(b.cap);
    if (jsonout_value(&b, v, 0) != 0) {
        free(b.p);
        return NULL;
    }
    b.p[b.len] = '\0';
    if (len != NULL) *len = b.len;
    return b.p;
}
