/*
 * Escaping of DNS record values (which may hold any byte) for error messages and for the
 * records_seen entries of the details objects.
 */
#include "dns_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void dns_text_escape(const unsigned char *v, size_t n, size_t cap, char *out, size_t outlen)
{
    size_t o = 0;

    if (outlen == 0) return;
    for (size_t i = 0; i < n && i < cap; i++) {
        unsigned char c = v[i];
        char tmp[5];
        size_t k = 1;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            k = 2;
        } else if (c < 0x20 || c > 0x7e) {
            snprintf(tmp, sizeof(tmp), "\\%03u", (unsigned)c);
            k = 4;
        } else {
            tmp[0] = (char)c;
        }
        if (o + k >= outlen) break;
        memcpy(out + o, tmp, k);
        o += k;
    }
    out[o] = '\0';
}

json_t *dns_text_json(const unsigned char *v, size_t n)
{
    json_t *s = json_stringn((const char *)v, n);
    char *buf;

    if (s != NULL) return s;
    buf = util_xmalloc(4 * n + 1);
    dns_text_escape(v, n, n, buf, 4 * n + 1);
    s = json_string(buf);
    free(buf);
    return s;
}
