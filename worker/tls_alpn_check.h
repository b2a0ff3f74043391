/*
 * ACME tls-alpn-01 validation (BR 3.2.2.4.20 / 3.2.2.5.7, RFC 8737, RFC 8738) from one
 * perspective: resolve the name with the perspective's resolver, connect to port 443 (IPv6
 * first, IPv4 on failure), run a TLS >= 1.2 handshake offering only ALPN "acme-tls/1" with
 * SNI = the name (the reverse-DNS name for IP targets), require that ALPN was negotiated,
 * and judge the peer's certificate with acme_cert.
 */
#ifndef MPIC_TLS_ALPN_CHECK_H
#define MPIC_TLS_ALPN_CHECK_H

#include <stddef.h>

#include "check.h"

#define TLS_ALPN_PROTOCOL "acme-tls/1"
#define TLS_ALPN_MAX_CERT_LIST (32 * 1024) /* bytes of peer certificate chain accepted */
#define TLS_ALPN_DEFAULT_CONNECT_MS 10000  /* when worker.http_connect_timeout_ms is 0 */
#define TLS_ALPN_DEFAULT_HANDSHAKE_MS 10000 /* when worker.http_timeout_ms is 0 */

/** Starts an acme-tls-alpn-01 check; cb runs exactly once, never from inside this call. */
void tls_alpn_check_start(const struct check_env *env, const struct check_request *req,
                          check_done_cb cb, void *arg);

/** Drops the process's shared TLS client context (checks in flight keep their reference). */
void tls_alpn_check_shutdown(void);

/**
 * The RFC 8738 §6 SNI name of an IP literal ("192.0.2.1" -> "1.2.0.192.in-addr.arpa",
 * IPv6 -> 32 nibbles + ".ip6.arpa"). Returns 0, or -1 when ip is not a literal or out is short.
 */
int tls_alpn_reverse_name(const char *ip, char *out, size_t outlen);

#endif
