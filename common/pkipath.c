/*
 * http_token_path and match_regex checks for website-change: character-class scans and a
 * conservative cost bound on POSIX interval expressions before regcomp() sees the pattern.
 */
#include "pkipath.h"

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static bool pkipath_is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool pkipath_is_pchar(char ch)
{
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
        return true;
    }
    return ch != '\0' && strchr("-._~!$&'()*+,;=:@/", ch) != NULL;
}

int pkipath_check_path(const char *path, char *err, size_t errlen)
{
    size_t n = strlen(path);

    if (n == 0 || n > PKIPATH_MAX_PATH) {
        snprintf(err, errlen, "must be 1 to %d bytes long", PKIPATH_MAX_PATH);
        return -1;
    }
    if (path[0] == '/') {
        snprintf(err, errlen, "must not start with '/' (it is relative to "
                              "/.well-known/pki-validation/)");
        return -1;
    }
    if (strstr(path, "..") != NULL || strstr(path, "//") != NULL) {
        snprintf(err, errlen, "must not contain \"..\" or an empty segment");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = path[i];
        if (ch == '%') {
            if (i + 2 >= n) goto bad;
            if (!pkipath_is_hex(path[i + 1]) || !pkipath_is_hex(path[i + 2])) goto bad;
            if (path[i + 1] == '2' && strchr("eEfF", path[i + 2]) != NULL) {
                snprintf(err, errlen, "must not percent-encode '.' or '/'");
                return -1;
            }
            i += 2;
            continue;
        }
        if (!pkipath_is_pchar(ch)) goto bad;
    }
    if (strcmp(path, ".") == 0 || strstr(path, "/./") != NULL || strncmp(path, "./", 2) == 0 ||
        (n >= 2 && strcmp(path + n - 2, "/.") == 0)) {
        snprintf(err, errlen, "must not contain a \".\" segment");
        return -1;
    }
    return 0;
bad:
    snprintf(err, errlen, "may hold only URL path characters (A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) "
                          "* + , ; = : @ / and %%XX escapes)");
    return -1;
}

/* Reads the interval expression starting at re[i] == '{'; returns its cost factor (the upper
 * bound, or the lower one for "{n,}"), 0 when it is not a valid interval, -1 when too big. */
static int64_t pkipath_interval(const char *re, size_t *i)
{
    int64_t lo = -1, hi = -1, cur = -1;
    size_t j = *i + 1;
    bool comma = false;

    for (; re[j] != '\0' && re[j] != '}'; j++) {
        if (re[j] >= '0' && re[j] <= '9') {
            cur = (cur < 0 ? 0 : cur) * 10 + (re[j] - '0');
            if (cur > 255) return -1;
        } else if (re[j] == ',' && !comma) {
            comma = true;
            lo = cur;
            cur = -1;
        } else {
            return 0;
        }
    }
    if (re[j] != '}') return 0;
    if (comma) hi = cur;
    else lo = cur;
    *i = j;
    if (lo < 0 && hi < 0) return 0;
    return hi >= 0 ? hi : (lo > 0 ? lo : 1);
}

int pkipath_check_regex(const char *re, char *err, size_t errlen)
{
    size_t n = strlen(re);
    int64_t product = 1;
    regex_t compiled;
    int rc;

    if (n == 0 || n > PKIPATH_MAX_REGEX) {
        snprintf(err, errlen, "must be 1 to %d bytes long", PKIPATH_MAX_REGEX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)re[i];
        if (ch < 0x20 || ch == 0x7f) {
            snprintf(err, errlen, "must not contain control characters");
            return -1;
        }
        if (ch == '\\' && i + 1 < n) {
            if (re[i + 1] >= '1' && re[i + 1] <= '9') {
                snprintf(err, errlen, "back-references (\\1..\\9) are not allowed");
                return -1;
            }
            i++;
            continue;
        }
        if (ch == '{') {
            int64_t f = pkipath_interval(re, &i);
            if (f < 0 || (f > 0 && (product *= f) > PKIPATH_MAX_REPEAT)) {
                snprintf(err, errlen, "interval expressions {n,m} are limited to 255 and, "
                                      "multiplied together, to %d", PKIPATH_MAX_REPEAT);
                return -1;
            }
        }
    }
    rc = regcomp(&compiled, re, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[128];
        regerror(rc, &compiled, why, sizeof(why));
        snprintf(err, errlen, "is not a valid POSIX extended regular expression (%s)", why);
        return -1;
    }
    regfree(&compiled);
    return 0;
}
