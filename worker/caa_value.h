/*
 * RFC 8659 §4.2 issue / issuewild (and RFC 9495 issuemail) value parser, exactly per the ABNF:
 *   issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
 * Results are slices of the input (no allocation). Also the property tag syntax check.
 */
#ifndef MPIC_CAA_VALUE_H
#define MPIC_CAA_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#define CAA_VALUE_MAX_PARAMS 32 /* more parameters than this: treated as malformed */

/** One "tag=value" parameter; both point into the parsed input. */
struct caa_value_param {
    const char *tag;
    size_t taglen;
    const char *value; /* may be empty */
    size_t valuelen;
};

/** A parsed issue value; issuer may be empty (issue ";" forbids issuance). */
struct caa_value {
    const char *issuer;
    size_t issuerlen;
    struct caa_value_param params[CAA_VALUE_MAX_PARAMS];
    size_t nparams;
};

/** Parses an issue/issuewild/issuemail value of `len` bytes. Returns 0, or -1 when malformed. */
int caa_value_parse(const char *in, size_t len, struct caa_value *out);

/** Property tag syntax (RFC 8659 §4.1.1): 1 or more ASCII letters / digits. */
bool caa_value_tag_valid(const char *tag, size_t len);

#endif
