/*
 * TLS client pieces shared by the worker's checks (see tlsclient.h). Checks share a context
 * for its configuration only: there is no session cache and no ticket, so nothing learned
 * from one server is reused with another.
 */
#include "tlsclient.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

SSL_CTX *tlsclient_ctx_new(long max_cert_list)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        SSL_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_max_cert_list(ctx, max_cert_list);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    return ctx;
}

void tlsclient_error(SSL *ssl, int rc, const char *what, char *buf, size_t len)
{
    int err = SSL_get_error(ssl, rc);
    unsigned long e = ERR_peek_last_error();
    char ebuf[256];

    if (e != 0) {
        ERR_error_string_n(e, ebuf, sizeof(ebuf));
        snprintf(buf, len, "%s: %s", what, ebuf);
    } else if (err == SSL_ERROR_SYSCALL && errno != 0) {
        snprintf(buf, len, "%s: %s", what, strerror(errno));
    } else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
        snprintf(buf, len, "%s: connection closed by the server", what);
    } else {
        snprintf(buf, len, "%s (SSL error %d)", what, err);
    }
    ERR_clear_error();
}
