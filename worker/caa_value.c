/*
 * Recursive-descent-free scanner for the RFC 8659 issue-value ABNF. Each grammar element is a
 * small function taking the cursor; any deviation (stray byte, hyphen at a label edge, empty
 * label, missing "=", trailing ";" after parameters, byte outside the value charset) is malformed.
 */
#include "caa_value.h"

#include <string.h>

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* value = *(%x21-3A / %x3C-7E) */
static bool is_value_char(unsigned char c)
{
    return (c >= 0x21 && c <= 0x3A) || (c >= 0x3C && c <= 0x7E);
}

static size_t skip_wsp(const char *in, size_t len, size_t p)
{
    while (p < len && is_wsp((unsigned char)in[p])) p++;
    return p;
}

/*
 * label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT) )   (the same shape as a parameter tag)
 * Returns the end offset, or `p` when no label starts at p.
 */
static size_t scan_label(const char *in, size_t len, size_t p)
{
    size_t end;

    if (p >= len || !is_alnum((unsigned char)in[p])) return p;
    end = ++p;
    while (p < len) {
        unsigned char c = (unsigned char)in[p];
        if (is_alnum(c)) {
            end = ++p;
        } else if (c == '-') {
            p++; /* hyphens count only when an alnum follows */
        } else {
            break;
        }
    }
    return end;
}

/* issuer-domain-name = label *("." label); returns the end offset or p when none. */
static size_t scan_domain(const char *in, size_t len, size_t p)
{
    size_t end = scan_label(in, len, p);

    if (end == p) return p;
    while (end < len && in[end] == '.') {
        size_t next = scan_label(in, len, end + 1);
        if (next == end + 1) return p; /* "." not followed by a label: not a domain */
        end = next;
    }
    return end;
}

bool caa_value_tag_valid(const char *tag, size_t len)
{
    if (tag == NULL || len == 0) return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_alnum((unsigned char)tag[i])) return false;
    }
    return true;
}

int caa_value_parse(const char *in, size_t len, struct caa_value *out)
{
    size_t p;

    if (out == NULL) return -1;
    memset(out, 0, sizeof(*out));
    if (in == NULL) {
        if (len != 0) return -1;
        in = "";
    }
    out->issuer = in;
    p = skip_wsp(in, len, 0);
    size_t dend = scan_domain(in, len, p);
    if (dend != p) {
        out->issuer = in + p;
        out->issuerlen = dend - p;
        p = skip_wsp(in, len, dend);
    }
    if (p == len) return 0;
    if (in[p] != ';') return -1;
    p = skip_wsp(in, len, p + 1);
    if (p == len) return 0;
    /* parameters = (parameter *WSP ";" *WSP parameters) / parameter */
    for (;;) {
        size_t tstart = p;
        size_t tend = scan_label(in, len, p);
        if (tend == tstart) return -1;
        p = skip_wsp(in, len, tend);
        if (p >= len || in[p] != '=') return -1;
        p = skip_wsp(in, len, p + 1);
        size_t vstart = p;
        while (p < len && is_value_char((unsigned char)in[p])) p++;
        if (out->nparams >= CAA_VALUE_MAX_PARAMS) return -1;
        struct caa_value_param *prm = &out->params[out->nparams++];
        prm->tag = in + tstart;
        prm->taglen = tend - tstart;
        prm->value = in + vstart;
        prm->valuelen = p - vstart;
        p = skip_wsp(in, len, p);
        if (p == len) return 0;
        if (in[p] != ';') return -1;
        p = skip_wsp(in, len, p + 1);
        if (p == len) return -1; /* parameters cannot end with ";" */
    }
}
