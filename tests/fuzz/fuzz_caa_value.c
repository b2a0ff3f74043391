/*
 * libFuzzer target for the CAA issue-value parser (worker/caa_value.c): any bytes must parse
 * or be rejected without reading outside the input; parsed slices must lie inside it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "caa_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const char *p, size_t n, const char *base, size_t size)
{
    return n == 0 || (p >= base && p + n <= base + size);
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct caa_value v;

    (void)caa_value_tag_valid(in, size);
    if (caa_value_parse(in, size, &v) != 0) return 0;
    if (!inside(v.issuer, v.issuerlen, in, size) || v.nparams > CAA_VALUE_MAX_PARAMS) abort();
    for (size_t i = 0; i < v.nparams; i++) {
        if (v.params[i].taglen == 0 || !inside(v.params[i].tag, v.params[i].taglen, in, size) ||
            !inside(v.params[i].value, v.params[i].valuelen, in, size))
            abort();
    }
    return 0;
}
