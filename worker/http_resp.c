/*
 * HTTP/1.x response parser (see http_resp.h). Lines end with CRLF or a bare LF; each is
 * collected in r->line (capped), then judged by the state it ends. Framing follows RFC 9112
 * §6.3: 204 and 304 have no body; a Transfer-Encoding wins over Content-Length and is read
 * in chunks when chunked is its last coding, else until the connection ends; then
 * Content-Length; else the body ends with the connection.
 */
#include "http_resp.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

void http_resp_init(struct http_resp *r, http_resp_body_fn body, void *arg)
{
    memset(r, 0, sizeof(*r));
    r->state = HTTP_RESP_STATUS;
    r->body = body;
    r->arg = arg;
}

void http_resp_free(struct http_resp *r)
{
    free(r->location);
    free(r->line);
    r->location = NULL;
    r->line = NULL;
    r->line_len = r->line_cap = 0;
}

static enum http_resp_result http_resp_fail(struct http_resp *r, const char *why)
{
    r->state = HTTP_RESP_FAILED;
    r->error = why;
    return HTTP_RESP_ERROR;
}

static bool http_resp_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* "HTTP/1.x NNN[ reason]": the status, or -1 */
static long http_resp_status_line(const char *s, size_t n)
{
    long code;

    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ')
        return -1;
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9') return -1;
    if (n > 12 && s[12] != ' ') return -1;
    code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    return code >= 100 ? code : -1;
}

/* A Content-Length value: digits only, no overflow; -1 when malformed */
static int http_resp_length(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;

    if (n == 0 || n > 18) return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* Whether a Transfer-Encoding list ends with the chunked coding. */
static bool http_resp_ends_chunked(const char *v, size_t n)
{
    size_t end = n, start;

    while (end > 0 && (http_resp_is_ows(v[end - 1]) || v[end - 1] == ',')) end--;
    start = end;
    while (start > 0 && v[start - 1] != ',' && !http_resp_is_ows(v[start - 1])) start--;
    return end - start == 7 && strncasecmp(v + start, "chunked", 7) == 0;
}

/* One header line of the final response (name: value). */
static enum http_resp_result http_resp_header(struct http_resp *r, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    const char *v;
    size_t name_len, vlen;
    uint64_t len;

    if (colon == NULL || colon == s) return http_resp_fail(r, "malformed header line");
    name_len = (size_t)(colon - s);
    for (size_t i = 0; i < name_len; i++)
        if (http_resp_is_ows(s[i]) || (unsigned char)s[i] < 0x21 || s[i] == 0x7f)
            return http_resp_fail(r, "malformed header name");
    v = colon + 1;
    vlen = n - name_len - 1;
    while (vlen > 0 && http_resp_is_ows(v[0])) v++, vlen--;
    while (vlen > 0 && http_resp_is_ows(v[vlen - 1])) vlen--;
    if (name_len == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
        if (http_resp_length(v, vlen, &len) != 0)
            return http_resp_fail(r, "malformed Content-Length");
        if (r->have_length && r->length != len)
            return http_resp_fail(r, "conflicting Content-Length values");
        r->have_length = true;
        r->length = len;
    } else if (name_len == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
        if (vlen > 0) {
            r->te = true;
            r->chunked = http_resp_ends_chunked(v, vlen);
        }
    } else if (name_len == 8 && strncasecmp(s, "Location", 8) == 0 && !r->location_seen) {
        r->location_seen = true;
        if (vlen <= HTTP_RESP_MAX_LOCATION) r->location = util_xstrndup(v, vlen);
    }
    return HTTP_RESP_MORE;
}

/* The empty line that ends the final response's header section: picks the body framing. */
static enum http_resp_result http_resp_head_end(struct http_resp *r)
{
    r->head_done = true;
    free(r->line); /* the body needs no line buffer (chunk lines get a small one again) */
    r->line = NULL;
    r->line_cap = 0;
    if (r->status == 204 || r->status == 304) {
        r->state = HTTP_RESP_DONE;
    } else if (r->chunked) {
        r->state = HTTP_RESP_CHUNK_SIZE;
    } else if (r->have_length && !r->te) {
        r->left = r->length;
        r->state = r->left == 0 ? HTTP_RESP_DONE : HTTP_RESP_BODY_LENGTH;
    } else {
        r->state = HTTP_RESP_BODY_CLOSE;
    }
    return r->state == HTTP_RESP_DONE ? HTTP_RESP_COMPLETE : HTTP_RESP_MORE;
}

/* A chunk-size line: hex digits, then optional whitespace and ;extensions. */
static enum http_resp_result http_resp_chunk_size(struct http_resp *r, const char *s, size_t n)
{
    uint64_t x = 0;
    size_t i = 0;

    for (; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) break;
        if (i >= 15) return http_resp_fail(r, "chunk size too large");
        x = x * 16 + (uint64_t)d;
    }
    if (i == 0) return http_resp_fail(r, "malformed chunk size");
    while (i < n && http_resp_is_ows(s[i])) i++;
    if (i < n && s[i] != ';') return http_resp_fail(r, "malformed chunk size");
    if (x == 0) {
        r->state = HTTP_RESP_TRAILERS;
    } else {
        r->left = x;
        r->state = HTTP_RESP_CHUNK_DATA;
    }
    return HTTP_RESP_MORE;
}

/* A complete line (without its line end) in a line state. */
static enum http_resp_result http_resp_line(struct http_resp *r, const char *s, size_t n)
{
    long code;

    switch (r->state) {
    case HTTP_RESP_STATUS:
        if (n == 0) return HTTP_RESP_MORE; /* blank lines before a status line are skipped */
        code = http_resp_status_line(s, n);
        if (code < 0) return http_resp_fail(r, "malformed HTTP/1.x status line");
        if (code == 101) return http_resp_fail(r, "unexpected 101 Switching Protocols");
        if (code >= 200) r->status = code;
        r->state = HTTP_RESP_HEADERS;
        return HTTP_RESP_MORE;
    case HTTP_RESP_HEADERS:
        if (n == 0) {
            if (r->status == 0) { /* the end of an interim (1xx) response */
                r->state = HTTP_RESP_STATUS;
                return HTTP_RESP_MORE;
            }
            return http_resp_head_end(r);
        }
        if (http_resp_is_ows(s[0])) return http_resp_fail(r, "folded header line");
        if (r->status == 0) return HTTP_RESP_MORE; /* an interim response's header */
        return http_resp_header(r, s, n);
    case HTTP_RESP_CHUNK_SIZE:
        return http_resp_chunk_size(r, s, n);
    case HTTP_RESP_CHUNK_END:
        if (n != 0) return http_resp_fail(r, "chunk data longer than its size");
        r->state = HTTP_RESP_CHUNK_SIZE;
        return HTTP_RESP_MORE;
    case HTTP_RESP_TRAILERS:
        if (n == 0) {
            r->state = HTTP_RESP_DONE;
            return HTTP_RESP_COMPLETE;
        }
        return HTTP_RESP_MORE; /* trailer fields are ignored */
    default:
        return http_resp_fail(r, "parser state");
    }
}

/* Collects line bytes from p (at most n); *used is what was consumed. */
static enum http_resp_result http_resp_collect(struct http_resp *r, const unsigned char *p,
                                               size_t n, size_t *used)
{
    const unsigned char *nl = memchr(p, '\n', n);
    size_t take = nl != NULL ? (size_t)(nl - p) + 1 : n;
    size_t keep = nl != NULL ? take - 1 : take; /* the LF is not kept */
    bool head = r->state == HTTP_RESP_STATUS || r->state == HTTP_RESP_HEADERS ||
                r->state == HTTP_RESP_TRAILERS;

    *used = take;
    if (head && (r->head_bytes += take) > HTTP_RESP_MAX_HEAD)
        return http_resp_fail(r, "response header section too large");
    if (r->line_len + keep > HTTP_RESP_MAX_LINE) return http_resp_fail(r, "line too long");
    if (r->line_len + keep > r->line_cap) {
        size_t cap = r->line_cap == 0 ? 128 : r->line_cap;
        while (cap < r->line_len + keep) cap *= 2;
        char *grown = realloc(r->line, cap);
        if (grown == NULL) return http_resp_fail(r, "out of memory");
        r->line = grown;
        r->line_cap = cap;
    }
    if (keep > 0) memcpy(r->line + r->line_len, p, keep);
    r->line_len += keep;
    if (nl == NULL) return HTTP_RESP_MORE;
    size_t len = r->line_len;
    if (len > 0 && r->line[len - 1] == '\r') len--;
    r->line_len = 0;
    return http_resp_line(r, r->line != NULL ? r->line : "", len);
}

/* Hands up to n body bytes to the callback; *used is what was consumed. */
static enum http_resp_result http_resp_body(struct http_resp *r, const unsigned char *p, size_t n,
                                            size_t *used)
{
    size_t take = n;

    if (r->state != HTTP_RESP_BODY_CLOSE && r->left < take) take = (size_t)r->left;
    *used = take;
    if (take > 0 && r->body != NULL && !r->body(r->arg, p, take)) return HTTP_RESP_STOPPED;
    r->body_bytes += take;
    if (r->state == HTTP_RESP_BODY_CLOSE) return HTTP_RESP_MORE;
    r->left -= take;
    if (r->left > 0) return HTTP_RESP_MORE;
    if (r->state == HTTP_RESP_CHUNK_DATA) {
        r->state = HTTP_RESP_CHUNK_END;
        return HTTP_RESP_MORE;
    }
    r->state = HTTP_RESP_DONE;
    return HTTP_RESP_COMPLETE;
}

enum http_resp_result http_resp_feed(struct http_resp *r, const unsigned char *p, size_t n)
{
    enum http_resp_result res = HTTP_RESP_MORE;

    if (r->state == HTTP_RESP_DONE) return HTTP_RESP_COMPLETE;
    if (r->state == HTTP_RESP_FAILED) return HTTP_RESP_ERROR;
    while (n > 0 && res == HTTP_RESP_MORE) {
        size_t used = 0;
        if (r->state == HTTP_RESP_BODY_LENGTH || r->state == HTTP_RESP_BODY_CLOSE ||
            r->state == HTTP_RESP_CHUNK_DATA)
            res = http_resp_body(r, p, n, &used);
        else
            res = http_resp_collect(r, p, n, &used);
        p += used;
        n -= used;
    }
    return res;
}

enum http_resp_result http_resp_eof(struct http_resp *r)
{
    switch (r->state) {
    case HTTP_RESP_DONE:
        return HTTP_RESP_COMPLETE;
    case HTTP_RESP_BODY_CLOSE:
        r->state = HTTP_RESP_DONE;
        return HTTP_RESP_COMPLETE;
    case HTTP_RESP_FAILED:
        return HTTP_RESP_ERROR;
    case HTTP_RESP_STATUS:
        if (r->head_bytes == 0) {
            r->error = "empty reply from server";
            return HTTP_RESP_ERROR;
        }
        /* fall through */
    case HTTP_RESP_HEADERS:
        r->error = "connection closed in the response header section";
        return HTTP_RESP_ERROR;
    default:
        r->error = "connection closed before the end of the response body";
        return HTTP_RESP_ERROR;
    }
}
