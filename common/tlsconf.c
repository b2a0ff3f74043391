/*
 * coordinator.tls parsing and the listener's SSL_CTX (see tlsconf.h). The key is read once
 * through the descriptor whose permissions were checked (no TOCTOU) and wiped afterwards.
 */
#include "tlsconf.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define TLSCONF_KEY_MAX (64 * 1024) /* a PEM private key is a few KiB at most */

static int tlsconf_path(const json_t *obj, const char *name, bool required, char *out,
                        char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, name);
    const char *s = json_string_value(v);

    out[0] = '\0';
    if ((v == NULL || json_is_null(v)) && !required) return 0;
    if (s == NULL || *s == '\0' || strlen(s) >= TLSCONF_PATH_MAX) {
        util_set_err(err, errlen, "coordinator.tls.%s: a file path shorter than %d bytes is "
                     "required", name, TLSCONF_PATH_MAX);
        return -1;
    }
    util_strlcpy(out, s, TLSCONF_PATH_MAX);
    return 0;
}

int tlsconf_parse(struct tlsconf *tc, const json_t *v, char *err, size_t errlen)
{
    static const char *const allowed[] = {"cert_file", "key_file", "client_ca_file",
                                          "require_client_cert", NULL};
    const json_t *req, *val;
    const char *key;

    memset(tc, 0, sizeof(*tc));
    if (json_is_null(v)) return 0;
    if (!json_is_object(v)) {
        util_set_err(err, errlen, "coordinator.tls: must be an object or null");
        return -1;
    }
    json_object_foreach((json_t *)v, key, val) {
        bool ok = false;
        for (int i = 0; allowed[i] != NULL; i++)
            if (strcmp(key, allowed[i]) == 0) ok = true;
        if (!ok) {
            util_set_err(err, errlen, "coordinator.tls.%s: unknown configuration key", key);
            return -1;
        }
    }
    if (tlsconf_path(v, "cert_file", true, tc->cert_file, err, errlen) != 0 ||
        tlsconf_path(v, "key_file", true, tc->key_file, err, errlen) != 0 ||
        tlsconf_path(v, "client_ca_file", false, tc->client_ca_file, err, errlen) != 0)
        return -1;
    req = json_object_get(v, "require_client_cert");
    if (req != NULL && !json_is_boolean(req)) {
        util_set_err(err, errlen, "coordinator.tls.require_client_cert: must be true or false");
        return -1;
    }
    tc->require_client_cert = json_is_true(req);
    if (tc->require_client_cert && tc->client_ca_file[0] == '\0') {
        util_set_err(err, errlen, "coordinator.tls.require_client_cert: true needs "
                     "coordinator.tls.client_ca_file (the CA that signs client certificates)");
        return -1;
    }
    tc->enabled = true;
    return 0;
}

/* Appends OpenSSL's first queued error to a message (and clears the queue). */
static void tlsconf_ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
    char ebuf[256];
    unsigned long e = ERR_get_error();

    ERR_error_string_n(e, ebuf, sizeof(ebuf));
    ERR_clear_error();
    util_set_err(err, errlen, "%s: %s: %s", what, path, e != 0 ? ebuf : "unreadable");
}

/* Loads the private key with the seal-key permission rules. */
static int tlsconf_load_key(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
    static const char *const what = "coordinator.tls.key_file";
    char *buf = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    struct stat st;
    ssize_t n = 0;
    int rc = -1, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        util_set_err(err, errlen, "%s: %s: %s", what, path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        util_set_err(err, errlen, "%s: %s: not a regular file", what, path);
        goto done;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        util_set_err(err, errlen, "%s: %s: mode %04o gives group/other access; chmod 600 it",
                     what, path, (unsigned)(st.st_mode & 07777));
        goto done;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        util_set_err(err, errlen, "%s: %s: owned by uid %u, neither this user nor root", what,
                     path, (unsigned)st.st_uid);
        goto done;
    }
    buf = util_xcalloc(1, TLSCONF_KEY_MAX);
    n = read(fd, buf, TLSCONF_KEY_MAX);
    if (n <= 0 || n >= TLSCONF_KEY_MAX) {
        util_set_err(err, errlen, "%s: %s: empty, unreadable or larger than %d bytes", what,
                     path, TLSCONF_KEY_MAX - 1);
        goto done;
    }
    bio = BIO_new_mem_buf(buf, (int)n);
    pkey = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    if (pkey == NULL || SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
        tlsconf_ssl_err(err, errlen, what, path);
        goto done;
    }
    rc = 0;
done:
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    if (buf != NULL) OPENSSL_cleanse(buf, TLSCONF_KEY_MAX);
    free(buf);
    close(fd);
    return rc;
}

SSL_CTX *tlsconf_server_ctx(const struct tlsconf *tc, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        util_set_err(err, errlen, "coordinator.tls: cannot create an SSL context");
        return NULL;
    }
    ERR_clear_error();
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        util_set_err(err, errlen, "coordinator.tls: cannot require TLS 1.2");
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, tc->cert_file) != 1) {
        tlsconf_ssl_err(err, errlen, "coordinator.tls.cert_file", tc->cert_file);
        goto fail;
    }
    if (tlsconf_load_key(ctx, tc->key_file, err, errlen) != 0) goto fail;
    if (SSL_CTX_check_private_key(ctx) != 1) {
        util_set_err(err, errlen, "coordinator.tls.key_file: %s does not match the certificate "
                     "in %s", tc->key_file, tc->cert_file);
        goto fail;
    }
    if (tc->client_ca_file[0] != '\0') {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(tc->client_ca_file);
        if (names == NULL ||
            SSL_CTX_load_verify_locations(ctx, tc->client_ca_file, NULL) != 1) {
            if (names != NULL) sk_X509_NAME_pop_free(names, X509_NAME_free);
            tlsconf_ssl_err(err, errlen, "coordinator.tls.client_ca_file", tc->client_ca_file);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(ctx, names); /* takes ownership */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (tc->require_client_cert
                                                       ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                       : 0), NULL);
        SSL_CTX_set_verify_depth(ctx, 4);
    }
    /* OpenSSL refuses to resume sessions with verified peers without a context id */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"mpic-coordinator", 16);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
