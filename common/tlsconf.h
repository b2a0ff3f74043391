/*
 * TLS of the coordinator's HTTP listener (`coordinator.tls`): strict parsing of the section
 * (cert_file, key_file, client_ca_file, require_client_cert) and building the server SSL_CTX
 * (TLS >= 1.2, key file with seal-key permissions, optional verified client certificates).
 */
#ifndef MPIC_TLSCONF_H
#define MPIC_TLSCONF_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#define TLSCONF_PATH_MAX 256

struct tlsconf {
    bool enabled;                          /* the section is present and not null */
    char cert_file[TLSCONF_PATH_MAX];      /* PEM: server certificate, then its chain */
    char key_file[TLSCONF_PATH_MAX];       /* PEM private key, mode 0600/0400 */
    char client_ca_file[TLSCONF_PATH_MAX]; /* "": client certificates are not asked for */
    bool require_client_cert;              /* handshake fails without a valid client cert */
};

/** Parses "coordinator.tls" (null disables). 0, or -1 with a message naming the key. */
int tlsconf_parse(struct tlsconf *tc, const json_t *v, char *err, size_t errlen);

/**
 * Builds the server context: loads the certificate chain and the key (refused unless a
 * regular file of this user or root without group/other access), checks they match, sets
 * TLS 1.2 as the minimum and the client-certificate policy. NULL with a message on error.
 */
SSL_CTX *tlsconf_server_ctx(const struct tlsconf *tc, char *err, size_t errlen);

#endif
