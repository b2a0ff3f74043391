/*
 * DNS name handling: normalization of API targets (wildcard prefix, trailing dot, IDNA2008
 * U-label to A-label conversion with libidn2, A-label validation, LDH syntax, lengths, IP
 * literals in canonical form) and small helpers for the CAA tree climb (parent, labels, equal).
 */
#include "dnsname.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define DNSNAME_INPUT_MAX 1024 /* longer inputs are rejected before any processing */
#define DNSNAME_LABEL_MAX 63
#define DNSNAME_NAME_MAX 253


static bool has_non_ascii(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80) return true;
    }
    return false;
}

static void ascii_lower(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    }
}

static bool is_ldh(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* True when the (lower-case) label starts with the ACE prefix "xn--". */
static bool is_alabel(const char *label, size_t len)
{
    return len >= 4 && strncmp(label, "xn--", 4) == 0;
}

/*
 * Checks that one lower-case "xn--" label is a valid IDNA2008 A-label: it decodes, the
 * decoded form contains non-ASCII, and encoding it again gives the same label.
 */
static int check_alabel(const char *label, size_t len, char *err, size_t errlen)
{
    char buf[DNSNAME_LABEL_MAX + 1];
    char *uni = NULL;
    char *back = NULL;
    int rc = -1;
    int irc;

    memcpy(buf, label, len);
    buf[len] = '\0';
    irc = idn2_to_unicode_8z8z(buf, &uni, 0);
    if (irc != IDN2_OK) {
        util_set_err(err, errlen, "label \"%s\" is not a valid A-label: %s", buf, idn2_strerror(irc));
        goto done;
    }
    if (!has_non_ascii(uni)) {
        util_set_err(err, errlen, "label \"%s\" is not a valid A-label: decodes to ASCII", buf);
        goto done;
    }
    irc = idn2_to_ascii_8z(uni, &back, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (irc != IDN2_OK) {
        util_set_err(err, errlen, "label \"%s\" is not a valid A-label: %s", buf, idn2_strerror(irc));
        goto done;
    }
    ascii_lower(back);
    if (strcmp(back, buf) != 0) {
        util_set_err(err, errlen, "label \"%s\" is not a valid A-label (not in canonical form)", buf);
        goto done;
    }
    rc = 0;
done:
    idn2_free(uni);
    idn2_free(back);
    return rc;
}

/* Validates a lower-case ASCII domain name without trailing dot: labels, LDH, lengths. */
static int check_domain(const char *name, char *err, size_t errlen)
{
    size_t total = strlen(name);
    int labels = 0;
    const char *p = name;
    const char *last = name;
    size_t lastlen = 0;

    if (total == 0) {
        util_set_err(err, errlen, "empty domain name");
        return -1;
    }
    if (total > DNSNAME_NAME_MAX) {
        util_set_err(err, errlen, "domain name is %zu bytes long (maximum %d)", total, DNSNAME_NAME_MAX);
        return -1;
    }
    while (true) {
        const char *dot = strchr(p, '.');
        size_t len = dot != NULL ? (size_t)(dot - p) : strlen(p);

        if (len == 0) {
            util_set_err(err, errlen, "domain name has an empty label");
            return -1;
        }
        if (len > DNSNAME_LABEL_MAX) {
            util_set_err(err, errlen, "label %d is %zu bytes long (maximum %d)", labels + 1, len,
                    DNSNAME_LABEL_MAX);
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '*') {
                util_set_err(err, errlen, "\"*\" is only allowed as a leading \"*.\" wildcard label");
                return -1;
            }
            if (!is_ldh(p[i])) {
                util_set_err(err, errlen, "label %d contains an invalid character (only letters, "
                        "digits and '-' are allowed)", labels + 1);
                return -1;
            }
        }
        if (p[0] == '-' || p[len - 1] == '-') {
            util_set_err(err, errlen, "label %d starts or ends with '-'", labels + 1);
            return -1;
        }
        if (len >= 4 && p[2] == '-' && p[3] == '-') {
            if (!is_alabel(p, len)) {
                util_set_err(err, errlen, "label %d has '-' in the third and fourth positions "
                        "(reserved)", labels + 1);
                return -1;
            }
            if (check_alabel(p, len, err, errlen) != 0) return -1;
        }
        labels++;
        last = p;
        lastlen = len;
        if (dot == NULL) break;
        p = dot + 1;
    }
    if (labels < 2) {
        util_set_err(err, errlen, "domain name must have at least two labels");
        return -1;
    }
    bool numeric = true;
    for (size_t i = 0; i < lastlen; i++) {
        if (last[i] < '0' || last[i] > '9') numeric = false;
    }
    if (numeric) {
        util_set_err(err, errlen, "the top-level label is all-numeric (not a domain name or IP)");
        return -1;
    }
    return 0;
}

/* Tries the IP forms: "1.2.3.4", "::1", "[::1]". Returns 1 when it is an IP, 0 when not, -1 bad. */
static int try_ip(const char *s, char *out, size_t outlen, enum dnsname_kind *kind, char *err,
                  size_t errlen)
{
    unsigned char addr[16];
    char tmp[INET6_ADDRSTRLEN + 2];
    char text[INET6_ADDRSTRLEN];
    size_t len = strlen(s);

    if (len > 0 && s[0] == '[') {
        if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(tmp)) {
            util_set_err(err, errlen, "invalid bracketed IPv6 address");
            return -1;
        }
        memcpy(tmp, s + 1, len - 2);
        tmp[len - 2] = '\0';
        if (inet_pton(AF_INET6, tmp, addr) != 1) {
            util_set_err(err, errlen, "invalid bracketed IPv6 address");
            return -1;
        }
        if (inet_ntop(AF_INET6, addr, text, sizeof(text)) == NULL) return -1;
        *kind = DNSNAME_IPV6;
    } else if (strchr(s, ':') != NULL) {
        if (inet_pton(AF_INET6, s, addr) != 1) {
            util_set_err(err, errlen, "invalid IPv6 address");
            return -1;
        }
        if (inet_ntop(AF_INET6, addr, text, sizeof(text)) == NULL) return -1;
        *kind = DNSNAME_IPV6;
    } else if (inet_pton(AF_INET, s, addr) == 1) {
        if (inet_ntop(AF_INET, addr, text, sizeof(text)) == NULL) return -1;
        *kind = DNSNAME_IPV4;
    } else {
        return 0;
    }
    if (!util_strlcpy(out, text, outlen)) {
        util_set_err(err, errlen, "output buffer too small");
        return -1;
    }
    return 1;
}

int dnsname_normalize_target(const char *in, char *out, size_t outlen, enum dnsname_kind *kind,
                             bool *wildcard, char *err, size_t errlen)
{
    const char *s = in;
    char buf[DNSNAME_INPUT_MAX + 1];
    char *ascii = NULL;
    bool wild = false;
    enum dnsname_kind k = DNSNAME_DOMAIN;
    size_t len;
    int rc = -1;
    int irc;

    if (in == NULL || *in == '\0') {
        util_set_err(err, errlen, "target is empty");
        goto done;
    }
    if (strlen(in) > DNSNAME_INPUT_MAX) {
        util_set_err(err, errlen, "target is longer than %d bytes", DNSNAME_INPUT_MAX);
        goto done;
    }
    if (strncmp(s, "*.", 2) == 0) {
        wild = true;
        s += 2;
    }
    irc = try_ip(s, out, outlen, &k, err, errlen);
    if (irc < 0) goto done;
    if (irc > 0) {
        if (wild) {
            util_set_err(err, errlen, "a wildcard is not allowed with an IP address");
            goto done;
        }
        rc = 0;
        goto done;
    }
    len = strlen(s);
    memcpy(buf, s, len + 1);
    if (len > 0 && buf[len - 1] == '.') buf[--len] = '\0';
    if (len == 0) {
        util_set_err(err, errlen, "target has no domain name");
        goto done;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x21 || c == 0x7f) {
            util_set_err(err, errlen, "target contains whitespace or a control character");
            goto done;
        }
    }
    if (has_non_ascii(buf)) {
        irc = idn2_to_ascii_8z(buf, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        if (irc != IDN2_OK) {
            util_set_err(err, errlen, "invalid internationalized domain name: %s",
                    idn2_strerror(irc));
            goto done;
        }
        if (strlen(ascii) > DNSNAME_INPUT_MAX) {
            util_set_err(err, errlen, "domain name is too long");
            goto done;
        }
        memcpy(buf, ascii, strlen(ascii) + 1);
    }
    ascii_lower(buf);
    if (check_domain(buf, err, errlen) != 0) goto done;
    if (!util_strlcpy(out, buf, outlen)) {
        util_set_err(err, errlen, "output buffer too small");
        goto done;
    }
    k = DNSNAME_DOMAIN;
    rc = 0;
done:
    idn2_free(ascii);
    if (kind != NULL && rc == 0) *kind = k;
    if (wildcard != NULL) *wildcard = rc == 0 ? wild : false;
    if (rc != 0 && out != NULL && outlen > 0) out[0] = '\0';
    return rc;
}

bool dnsname_parent(const char *name, char *out, size_t outlen)
{
    const char *dot;

    if (name == NULL) return false;
    dot = strchr(name, '.');
    if (dot == NULL || dot[1] == '\0') return false;
    return util_strlcpy(out, dot + 1, outlen);
}

int dnsname_label_count(const char *name)
{
    size_t len;
    int n = 1;

    if (name == NULL) return 0;
    len = strlen(name);
    if (len > 0 && name[len - 1] == '.') len--;
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '.') n++;
    }
    return n;
}

bool dnsname_equal(const char *a, const char *b)
{
    size_t la;
    size_t lb;

    if (a == NULL || b == NULL) return false;
    la = strlen(a);
    lb = strlen(b);
    if (la > 0 && a[la - 1] == '.') la--;
    if (lb > 0 && b[lb - 1] == '.') lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}
