/*
 * What the worker's two TLS clients share (tls_alpn_check.c for acme-tls-alpn-01, http_plain.c
 * for https:// hops): the client context every check may use (TLS >= 1.2, no verification, a
 * capped chain, no resumption, no renegotiation) and the text of a failed OpenSSL call.
 */
#ifndef MPIC_TLSCLIENT_H
#define MPIC_TLSCLIENT_H

#include <openssl/ssl.h>
#include <stddef.h>

/** A new client context, max_cert_list bytes of peer chain at most; NULL on failure. */
SSL_CTX *tlsclient_ctx_new(long max_cert_list);
/**
 * "what: reason" in buf for an OpenSSL call on ssl that returned rc (callers set errno to 0
 * before the call, so a stale errno is not reported); clears OpenSSL's error queue.
 */
void tlsclient_error(SSL *ssl, int rc, const char *what, char *buf, size_t len);

#endif
