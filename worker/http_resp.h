/*
 * Incremental parser of one HTTP/1.x response to a GET (worker/http_plain.c feeds it the
 * bytes of a connection): status line, header section, then the body framed by
 * Content-Length, chunked transfer coding, or the end of the connection. Interim 1xx
 * responses are skipped. Every line and the header section are size-capped; it keeps only
 * the status, the first Location and the framing, and hands body bytes to a callback.
 */
#ifndef MPIC_HTTP_RESP_H
#define MPIC_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_RESP_MAX_HEAD (64 * 1024) /* header section of one response, status line included */
#define HTTP_RESP_MAX_LINE 16384       /* one status, header, chunk-size or trailer line */
#define HTTP_RESP_MAX_LOCATION 8192    /* longer Location values are dropped (location NULL) */

enum http_resp_state {
    HTTP_RESP_STATUS = 0,     /* reading a status line */
    HTTP_RESP_HEADERS,        /* reading header lines */
    HTTP_RESP_BODY_LENGTH,    /* reading a Content-Length body */
    HTTP_RESP_BODY_CLOSE,     /* reading a body that ends with the connection */
    HTTP_RESP_CHUNK_SIZE,     /* reading a chunk-size line */
    HTTP_RESP_CHUNK_DATA,     /* reading chunk data */
    HTTP_RESP_CHUNK_END,      /* reading the line end after chunk data */
    HTTP_RESP_TRAILERS,       /* reading trailer lines after the last chunk */
    HTTP_RESP_DONE,           /* the response is complete */
    HTTP_RESP_FAILED,         /* malformed or oversized (error says why) */
};

/* What http_resp_feed and http_resp_eof return. */
enum http_resp_result {
    HTTP_RESP_MORE = 0,     /* more bytes are needed */
    HTTP_RESP_COMPLETE = 1, /* the response is complete (bytes after it are ignored) */
    HTTP_RESP_ERROR = -1,   /* malformed, oversized or cut short: error says why */
    HTTP_RESP_STOPPED = -2, /* the body callback refused more bytes */
};

/** Called with each run of body bytes (after de-chunking); false stops the parse. */
typedef bool (*http_resp_body_fn)(void *arg, const unsigned char *p, size_t n);

struct http_resp {
    enum http_resp_state state;
    long status;        /* of the final (non-1xx) response once its status line is read */
    bool head_done;     /* the final response's header section is complete */
    char *location;     /* its first Location value, trimmed; NULL when absent or too long */
    bool location_seen; /* a Location header was seen (kept or dropped) */
    bool te;            /* a Transfer-Encoding was given (Content-Length no longer counts) */
    bool chunked;       /* and it ends with chunked */
    bool have_length;   /* Content-Length given */
    uint64_t length;    /* its value */
    uint64_t left;      /* body or chunk bytes still to read */
    uint64_t body_bytes; /* body bytes handed to the callback */
    char *line;         /* the line being collected */
    size_t line_len, line_cap;
    size_t head_bytes;  /* bytes of the current response's header section */
    const char *error;  /* static text when FAILED or cut short */
    http_resp_body_fn body;
    void *arg;
};

void http_resp_init(struct http_resp *r, http_resp_body_fn body, void *arg);
/** Feeds the next n bytes of the connection. */
enum http_resp_result http_resp_feed(struct http_resp *r, const unsigned char *p, size_t n);
/** The peer closed the connection: COMPLETE when that ends the body, else ERROR. */
enum http_resp_result http_resp_eof(struct http_resp *r);
/** Frees what the parser holds (location included); r can be initialised again. */
void http_resp_free(struct http_resp *r);

#endif
