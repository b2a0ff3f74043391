/*
 * The RFC 8737 / RFC 8738 certificate rules of acme-tls-alpn-01, as a pure function of the
 * peer's leaf certificate: exactly one SAN naming the validated dNSName or iPAddress, a
 * critical id-pe-acmeIdentifier holding DER OCTET STRING (SIZE (32)) equal to the expected
 * digest, and a self-signed leaf. No network, no clock: unit-tested and fuzzed directly.
 */
#ifndef MPIC_ACME_CERT_H
#define MPIC_ACME_CERT_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#define ACME_CERT_HASH_LEN 32       /* SHA-256 digest of the key authorization */
#define ACME_CERT_CN_MAX 256        /* longest subject CN reported in details (bytes + NUL) */
#define ACME_CERT_OID "1.3.6.1.5.5.7.1.31" /* id-pe-acmeIdentifier (RFC 8737 §6.1) */

/** Outcome of acme_cert_check(); every value but OK is a definitive negative. */
enum acme_cert_verdict {
    ACME_CERT_OK = 0,
    ACME_CERT_UNPARSEABLE,         /* the DER is not one X.509 certificate */
    ACME_CERT_DUPLICATE_EXTENSION, /* SAN or acmeIdentifier appears more than once */
    ACME_CERT_EXTENSION_MISSING,   /* no SAN or no acmeIdentifier extension */
    ACME_CERT_SAN_MALFORMED,       /* SAN extnValue is not exactly one DER GeneralNames */
    ACME_CERT_NO_SINGLE_SAN,       /* SAN does not hold exactly one GeneralName */
    ACME_CERT_SAN_NOT_DNSNAME,     /* domain target, the SAN entry is not a dNSName */
    ACME_CERT_SAN_TYPE_NOT_MATCH,  /* IP target, the SAN entry is not an iPAddress */
    ACME_CERT_SAN_NOT_HOSTNAME,    /* the SAN entry names something else */
    ACME_CERT_NONCRITICAL,         /* acmeIdentifier is not marked critical */
    ACME_CERT_ID_MALFORMED,        /* acmeIdentifier extnValue is not one DER OCTET STRING */
    ACME_CERT_ID_WRONG_LENGTH,     /* the OCTET STRING is not 32 bytes long */
    ACME_CERT_ID_MISMATCH,         /* the 32 bytes differ from the expected digest */
    ACME_CERT_NOT_SELF_SIGNED,     /* issuer != subject or the signature does not verify */
};

/** What the certificate must show. */
struct acme_cert_expect {
    const char *name; /* domain target: lower-case A-label name without trailing dot */
    int af;           /* 0 for a domain target, AF_INET or AF_INET6 for an IP target */
    unsigned char ip[16];                    /* the IP target (4 or 16 bytes used) */
    unsigned char hash[ACME_CERT_HASH_LEN];  /* SHA-256 of the key authorization */
};

/**
 * Applies every rule to cert. Writes the subject CN (UTF-8, "" when absent or not printable)
 * to cn, and a human reason for a non-OK verdict to why. Never fails hard.
 */
enum acme_cert_verdict acme_cert_check(X509 *cert, const struct acme_cert_expect *e, char *cn,
                                       size_t cnlen, char *why, size_t whylen);
/** Same for a DER-encoded certificate (the fuzz entry point). */
enum acme_cert_verdict acme_cert_check_der(const unsigned char *der, size_t len,
                                           const struct acme_cert_expect *e, char *cn,
                                           size_t cnlen, char *why, size_t whylen);
/** The Open MPIC style error_type of a non-OK verdict. */
const char *acme_cert_error_type(enum acme_cert_verdict v);
/** Decodes a 64-digit hex SHA-256 (either case) into out. Returns 0 or -1. */
int acme_cert_parse_hash(const char *hex, unsigned char out[ACME_CERT_HASH_LEN]);

#endif
