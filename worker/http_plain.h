/*
 * The worker's own HTTP/1.1 client for http:// and https:// fetches pinned to an address
 * (http_client.c hands them here): one non-blocking socket per fetch on libevent, TLS on one
 * shared SSL_CTX, one GET written as libcurl writes it, the response read by http_resp. An
 * http:// fetch in flight holds about 1 KB besides its body (libcurl: ~12 KB), an https:// one
 * ~22 KB (libcurl: ~53 KB). Same contract as http_client_fetch: one callback, never inline.
 */
#ifndef MPIC_HTTP_PLAIN_H
#define MPIC_HTTP_PLAIN_H

#include <event2/event.h>
#include <stdbool.h>

#include "http_client.h"

struct http_plain;

struct http_plain *http_plain_new(struct event_base *base);
/** Completes every pending fetch with CURLE_ABORTED_BY_CALLBACK (callbacks run from inside
 * this call), then frees. Must not be called from a fetch callback. NULL is a no-op. */
void http_plain_free(struct http_plain *p);
/**
 * Starts one fetch when it suits this client (an http:// or https:// URL and a connect_to of
 * the form "::IP:PORT" or "::[IPv6]:PORT"): returns 0 and cb runs later, exactly once.
 * Returns -1, having done nothing, when it does not suit (the caller uses libcurl).
 */
int http_plain_fetch(struct http_plain *p, const struct http_fetch_opts *opts,
                     http_fetch_cb cb, void *arg);
/** Fetches in flight. */
int http_plain_pending(const struct http_plain *p);

#endif
