/*
 * acme-tls-alpn-01 certificate rules (RFC 8737 §3, RFC 8738 §6, BR 3.2.2.4.20): the leaf must
 * carry exactly one SAN entry naming the validated identifier and nothing else, and a critical
 * id-pe-acmeIdentifier whose extnValue is exactly DER OCTET STRING (SIZE (32)) equal to the
 * expected digest (compared in constant time); it must be self-signed. Dates and chains are
 * not looked at (RFC 8737: the certificate is only a carrier).
 */
#include "acme_cert.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

#define ACME_CERT_ERR "mpic_error:dcv_checker:tls_alpn:certificate:"

const char *acme_cert_error_type(enum acme_cert_verdict v)
{
    switch (v) {
    case ACME_CERT_OK: return "";
    case ACME_CERT_UNPARSEABLE: return ACME_CERT_ERR "unparseable";
    case ACME_CERT_DUPLICATE_EXTENSION: return ACME_CERT_ERR "duplicate_extension";
    case ACME_CERT_EXTENSION_MISSING: return ACME_CERT_ERR "extension_missing";
    case ACME_CERT_SAN_MALFORMED: return ACME_CERT_ERR "san_malformed";
    case ACME_CERT_NO_SINGLE_SAN: return ACME_CERT_ERR "no_single_san";
    case ACME_CERT_SAN_NOT_DNSNAME: return ACME_CERT_ERR "san_not_dnsname";
    case ACME_CERT_SAN_TYPE_NOT_MATCH: return ACME_CERT_ERR "san_type_not_match";
    case ACME_CERT_SAN_NOT_HOSTNAME: return ACME_CERT_ERR "san_not_hostname";
    case ACME_CERT_NONCRITICAL: return ACME_CERT_ERR "noncritical_alpn_extension";
    case ACME_CERT_ID_MALFORMED: return ACME_CERT_ERR "acme_identifier_malformed";
    case ACME_CERT_ID_WRONG_LENGTH: return ACME_CERT_ERR "acme_identifier_wrong_length";
    case ACME_CERT_ID_MISMATCH: return ACME_CERT_ERR "acme_identifier_mismatch";
    case ACME_CERT_NOT_SELF_SIGNED: return ACME_CERT_ERR "not_self_signed";
    }
    return ACME_CERT_ERR "unknown";
}

static int acme_cert_hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

int acme_cert_parse_hash(const char *hex, unsigned char out[ACME_CERT_HASH_LEN])
{
    if (hex == NULL || strlen(hex) != 2 * ACME_CERT_HASH_LEN) return -1;
    for (size_t i = 0; i < ACME_CERT_HASH_LEN; i++) {
        int hi = acme_cert_hexval(hex[2 * i]);
        int lo = acme_cert_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static enum acme_cert_verdict acme_cert_fail(enum acme_cert_verdict v, char *why, size_t whylen,
                                             const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum acme_cert_verdict acme_cert_fail(enum acme_cert_verdict v, char *why, size_t whylen,
                                             const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return v;
}

/* The subject CN as UTF-8 without NUL or control bytes, "" otherwise. */
static void acme_cert_common_name(X509 *cert, char *cn, size_t cnlen)
{
    X509_NAME *subject = X509_get_subject_name(cert);
    unsigned char *utf8 = NULL;
    int idx, n;

    cn[0] = '\0';
    if (subject == NULL) return;
    idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0) return;
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
    if (n < 0) return;
    if ((size_t)n < cnlen) {
        bool ok = true;
        for (int i = 0; i < n; i++) {
            if (utf8[i] < 0x20 || utf8[i] == 0x7f) ok = false;
        }
        if (ok) {
            memcpy(cn, utf8, (size_t)n);
            cn[n] = '\0';
        }
    }
    OPENSSL_free(utf8);
}

/* Printable-ASCII form of at most 100 bytes of a certificate string, for messages. */
static void acme_cert_shown(const unsigned char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < n && i < 100 && o + 5 < outlen; i++) {
        if (s[i] >= 0x21 && s[i] <= 0x7e && s[i] != '\\') {
            out[o++] = (char)s[i];
        } else {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", s[i]);
        }
    }
    if (n > 100 && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* ASCII case-insensitive equality of a dNSName's bytes with the expected name. */
static bool acme_cert_name_equal(const unsigned char *s, size_t n, const char *name)
{
    if (n != strlen(name)) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = s[i], b = (unsigned char)name[i];
        if (a >= 'A' && a <= 'Z') a = (unsigned char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = (unsigned char)(b - 'A' + 'a');
        if (a != b) return false;
    }
    return true;
}

/* Finds the only extension with obj; -1 when absent, -2 when it appears more than once. */
static int acme_cert_find_ext(X509 *cert, const ASN1_OBJECT *obj)
{
    int first = X509_get_ext_by_OBJ(cert, obj, -1);

    if (first < 0) return -1;
    if (X509_get_ext_by_OBJ(cert, obj, first) >= 0) return -2;
    return first;
}

/* The SAN rules: one GeneralName, of the target's kind, naming the target. */
static enum acme_cert_verdict acme_cert_check_san(X509_EXTENSION *ext,
                                                  const struct acme_cert_expect *e, char *why,
                                                  size_t whylen)
{
    const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
    const unsigned char *p = ASN1_STRING_get0_data(data);
    const unsigned char *end = p + ASN1_STRING_length(data);
    GENERAL_NAMES *names = d2i_GENERAL_NAMES(NULL, &p, ASN1_STRING_length(data));
    enum acme_cert_verdict v = ACME_CERT_OK;
    const GENERAL_NAME *gn;
    int count;

    if (names == NULL || p != end) {
        v = acme_cert_fail(ACME_CERT_SAN_MALFORMED, why, whylen,
                           "the subjectAltName extension is not one DER GeneralNames sequence");
        goto done;
    }
    count = sk_GENERAL_NAME_num(names);
    if (count != 1) {
        v = acme_cert_fail(ACME_CERT_NO_SINGLE_SAN, why, whylen,
                           "the subjectAltName extension has %d entries, not exactly one", count);
        goto done;
    }
    gn = sk_GENERAL_NAME_value(names, 0);
    if (e->af == 0) {
        const ASN1_IA5STRING *dns;
        if (gn->type != GEN_DNS) {
            v = acme_cert_fail(ACME_CERT_SAN_NOT_DNSNAME, why, whylen,
                               "the target is a domain name but the only SAN entry is not a "
                               "dNSName (GeneralName type %d)",
                               gn->type);
            goto done;
        }
        dns = gn->d.dNSName;
        if (!acme_cert_name_equal(ASN1_STRING_get0_data(dns), (size_t)ASN1_STRING_length(dns),
                                  e->name)) {
            char shown[512];
            acme_cert_shown(ASN1_STRING_get0_data(dns), (size_t)ASN1_STRING_length(dns), shown,
                            sizeof(shown));
            v = acme_cert_fail(ACME_CERT_SAN_NOT_HOSTNAME, why, whylen,
                               "the SAN dNSName \"%s\" is not the name being validated",
                               shown);
        }
    } else {
        size_t want = e->af == AF_INET6 ? 16 : 4;
        const ASN1_OCTET_STRING *ip;
        if (gn->type != GEN_IPADD) {
            v = acme_cert_fail(ACME_CERT_SAN_TYPE_NOT_MATCH, why, whylen,
                               "the target is an IP address but the only SAN entry is not an "
                               "iPAddress (GeneralName type %d)",
                               gn->type);
            goto done;
        }
        ip = gn->d.iPAddress;
        if ((size_t)ASN1_STRING_length(ip) != want ||
            memcmp(ASN1_STRING_get0_data(ip), e->ip, want) != 0) {
            v = acme_cert_fail(ACME_CERT_SAN_NOT_HOSTNAME, why, whylen,
                               "the SAN iPAddress is not the IP address being validated");
        }
    }
done:
    GENERAL_NAMES_free(names);
    return v;
}

/* The acmeIdentifier rules: critical, extnValue == 04 20 <32 bytes>, bytes == hash. */
static enum acme_cert_verdict acme_cert_check_id(X509_EXTENSION *ext,
                                                 const struct acme_cert_expect *e, char *why,
                                                 size_t whylen)
{
    const ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(ext);
    const unsigned char *p = ASN1_STRING_get0_data(data);
    size_t n = (size_t)ASN1_STRING_length(data);
    size_t hdr, len;

    if (!X509_EXTENSION_get_critical(ext)) {
        return acme_cert_fail(ACME_CERT_NONCRITICAL, why, whylen,
                              "the id-pe-acmeIdentifier extension is not critical");
    }
    /* DER OCTET STRING: primitive tag 0x04, definite minimal length, nothing after it */
    if (n < 2 || p[0] != 0x04) goto malformed;
    if (p[1] < 0x80) {
        hdr = 2;
        len = p[1];
    } else if (p[1] == 0x81 && n >= 3 && p[2] >= 0x80) {
        hdr = 3;
        len = p[2];
    } else if (p[1] == 0x82 && n >= 4 && p[2] != 0) {
        hdr = 4;
        len = (size_t)p[2] << 8 | p[3];
    } else {
        goto malformed;
    }
    if (hdr + len != n) goto malformed;
    if (len != ACME_CERT_HASH_LEN) {
        return acme_cert_fail(ACME_CERT_ID_WRONG_LENGTH, why, whylen,
                              "the id-pe-acmeIdentifier value is %zu bytes long, not %d", len,
                              ACME_CERT_HASH_LEN);
    }
    if (CRYPTO_memcmp(p + hdr, e->hash, ACME_CERT_HASH_LEN) != 0) {
        char seen[2 * ACME_CERT_HASH_LEN + 1];

        for (size_t i = 0; i < ACME_CERT_HASH_LEN; i++) {
            snprintf(seen + 2 * i, 3, "%02x", p[hdr + i]);
        }
        return acme_cert_fail(ACME_CERT_ID_MISMATCH, why, whylen,
                              "the id-pe-acmeIdentifier value %s does not match the expected "
                              "key authorization digest",
                              seen);
    }
    return ACME_CERT_OK;
malformed:
    return acme_cert_fail(ACME_CERT_ID_MALFORMED, why, whylen,
                          "the id-pe-acmeIdentifier value is not one DER OCTET STRING");
}

/* Subject == issuer (DER) and the signature verifies with the certificate's own key. */
static bool acme_cert_self_signed(X509 *cert)
{
    const unsigned char *sder = NULL, *ider = NULL;
    size_t slen = 0, ilen = 0;
    EVP_PKEY *key = X509_get0_pubkey(cert);

    if (key == NULL) return false;
    if (!X509_NAME_get0_der(X509_get_subject_name(cert), &sder, &slen) ||
        !X509_NAME_get0_der(X509_get_issuer_name(cert), &ider, &ilen)) {
        return false;
    }
    if (slen != ilen || memcmp(sder, ider, slen) != 0) return false;
    return X509_verify(cert, key) == 1;
}

enum acme_cert_verdict acme_cert_check(X509 *cert, const struct acme_cert_expect *e, char *cn,
                                       size_t cnlen, char *why, size_t whylen)
{
    ASN1_OBJECT *id_obj = OBJ_txt2obj(ACME_CERT_OID, 1);
    ASN1_OBJECT *san_obj = OBJ_nid2obj(NID_subject_alt_name);
    enum acme_cert_verdict v;
    int san, id;

    if (cnlen > 0) cn[0] = '\0';
    if (whylen > 0) why[0] = '\0';
    if (id_obj == NULL) abort(); /* out of memory for a constant */
    if (cert == NULL) {
        v = acme_cert_fail(ACME_CERT_UNPARSEABLE, why, whylen, "no certificate");
        goto done;
    }
    if (cnlen > 0) acme_cert_common_name(cert, cn, cnlen);
    san = acme_cert_find_ext(cert, san_obj);
    id = acme_cert_find_ext(cert, id_obj);
    if (san == -2 || id == -2) {
        v = acme_cert_fail(ACME_CERT_DUPLICATE_EXTENSION, why, whylen,
                           "the %s extension appears more than once",
                           san == -2 ? "subjectAltName" : "id-pe-acmeIdentifier");
        goto done;
    }
    if (san < 0 || id < 0) {
        v = acme_cert_fail(ACME_CERT_EXTENSION_MISSING, why, whylen,
                           "the certificate has no %s extension",
                           san < 0 ? "subjectAltName" : "id-pe-acmeIdentifier");
        goto done;
    }
    v = acme_cert_check_san(X509_get_ext(cert, san), e, why, whylen);
    if (v != ACME_CERT_OK) goto done;
    v = acme_cert_check_id(X509_get_ext(cert, id), e, why, whylen);
    if (v != ACME_CERT_OK) goto done;
    if (!acme_cert_self_signed(cert)) {
        v = acme_cert_fail(ACME_CERT_NOT_SELF_SIGNED, why, whylen,
                           "the certificate is not self-signed (issuer differs from subject or "
                           "the signature does not verify with its own key)");
    }
done:
    ASN1_OBJECT_free(id_obj);
    return v;
}

enum acme_cert_verdict acme_cert_check_der(const unsigned char *der, size_t len,
                                           const struct acme_cert_expect *e, char *cn,
                                           size_t cnlen, char *why, size_t whylen)
{
    const unsigned char *p = der;
    X509 *cert;
    enum acme_cert_verdict v;

    if (len > (size_t)INT32_MAX) len = 0;
    cert = d2i_X509(NULL, &p, (long)len);
    if (cert == NULL || p != der + len) {
        X509_free(cert);
        if (cnlen > 0) cn[0] = '\0';
        return acme_cert_fail(ACME_CERT_UNPARSEABLE, why, whylen,
                              "the certificate is not one DER X.509 certificate");
    }
    v = acme_cert_check(cert, e, cn, cnlen, why, whylen);
    X509_free(cert);
    return v;
}
