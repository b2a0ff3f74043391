/*
 * dcv_check_parameters for the DNS methods (acme-dns-01, dns-change, contact-*, ip-address,
 * reverse-address-lookup): the fields are checked and the echo/job parameters object is built
 * with the fixed values and defaults filled in, every key present.
 */
#include "dcv_dns_params.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "clock.h"

/* BR 3.2.2.5.3 (reverse address lookup) ends on 2027-03-15 00:00 UTC (ballot SC-091). */
#define DCV_DNS_REVERSE_SUNSET_MS INT64_C(1805068800000)
#define DCV_DNS_MAX_KEY_AUTH_HASH 256
#define DCV_DNS_MAX_CHALLENGE 1024
#define DCV_DNS_MAX_URI 1024
#define DCV_DNS_MAX_PREFIX 200
#define DCV_DNS_NAME_MAX 253

/* Why a method refuses wildcard names (BR 3.2.2.4: only DNS-based methods may validate them). */
#define DCV_DNS_WILDCARD_RULE                                                                    \
    "only dns-change, dns-persistent, dns-account-01 and the contact-* methods (BR 3.2.2.4.7, "  \
    ".13, .14, .16, .17, .21, .22) may validate a wildcard domain name"

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

void dcv_dns_params_domain_target(struct reqfield_ctx *c, const char *method, bool wildcard_ok)
{
    if (!c->target_ok) return;
    if (c->out->target_kind != DNSNAME_DOMAIN) {
        reqfield_issue(c, "invalid-target", "domain_or_ip_target",
                       "%s cannot validate an IP address", method);
    } else if (c->out->wildcard && !wildcard_ok) {
        reqfield_issue(c, "invalid-wildcard", "domain_or_ip_target",
                       "%s cannot validate a wildcard domain name: " DCV_DNS_WILDCARD_RULE,
                       method);
    }
}

void dcv_dns_params_fixed(struct reqfield_ctx *c, const json_t *p, const char *key,
                          const char *fixed, const char *method)
{
    char field[96];
    const char *s = NULL;

    snprintf(field, sizeof(field), "dcv_check_parameters.%s", key);
    if (reqfield_get_str(c, p, key, field, &s) == REQFIELD_OK && strcmp(s, fixed) != 0) {
        reqfield_issue(c, "invalid-value", field, "%s must be \"%s\" for %s", field, fixed,
                       method);
    }
}

void dcv_dns_params_case_forced_false(struct reqfield_ctx *c, const json_t *p, const char *method)
{
    bool v = false;

    if (reqfield_get_bool(c, p, "require_exact_case", "dcv_check_parameters.require_exact_case",
                          &v) == REQFIELD_OK &&
        v) {
        reqfield_issue(c, "invalid-value", "dcv_check_parameters.require_exact_case",
                       "dcv_check_parameters.require_exact_case must be false for %s", method);
    }
}

static bool is_scheme_char(unsigned char ch)
{
    return reqfield_is_alnum(ch) || ch == '+' || ch == '-' || ch == '.';
}

const char *dcv_dns_params_uri(struct reqfield_ctx *c, const json_t *p, const char *key)
{
    char field[96];
    const char *s = NULL;
    const char *sep;
    bool ok;

    snprintf(field, sizeof(field), "dcv_check_parameters.%s", key);
    if (!reqfield_get_req_str(c, p, key, field, &s)) return NULL;
    sep = strstr(s, "://");
    ok = sep != NULL && sep > s && sep[3] != '\0' && strlen(s) <= DCV_DNS_MAX_URI &&
         ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) &&
         reqfield_chars_in(s, reqfield_is_caa_value_char);
    for (const char *q = s; ok && q < sep; q++) ok = is_scheme_char((unsigned char)*q);
    if (!ok) {
        reqfield_issue(c, "invalid-value", field,
                       "%s must be a URI (\"scheme://...\", visible ASCII without ';', at most "
                       "%d bytes)",
                       field, DCV_DNS_MAX_URI);
        return NULL;
    }
    return s;
}

/* challenge_value: required, 1..DCV_DNS_MAX_CHALLENGE bytes ("" is empty-challenge-value). */
static const char *get_challenge(struct reqfield_ctx *c, const json_t *p)
{
    const char *field = "dcv_check_parameters.challenge_value";
    const char *s = NULL;

    if (!reqfield_get_req_str(c, p, "challenge_value", field, &s)) return NULL;
    if (*s == '\0') {
        reqfield_issue(c, "empty-challenge-value", field, "%s must not be empty", field);
        return NULL;
    }
    if (strlen(s) > DCV_DNS_MAX_CHALLENGE) {
        reqfield_issue(c, "invalid-value", field, "%s is longer than %d bytes", field,
                       DCV_DNS_MAX_CHALLENGE);
        return NULL;
    }
    return s;
}

static bool is_prefix_char(unsigned char ch)
{
    return reqfield_is_label_char(ch) || ch == '_';
}

/*
 * dns_name_prefix: null (the name itself), "" (the same) or dot-separated labels of letters,
 * digits, '-' and '_'; the prefixed name must stay within 253 bytes. Returns the echo value.
 */
static json_t *get_prefix(struct reqfield_ctx *c, const json_t *p)
{
    const char *field = "dcv_check_parameters.dns_name_prefix";
    const char *s = NULL;
    const char *q;
    size_t len;
    bool ok;

    if (reqfield_get_str(c, p, "dns_name_prefix", field, &s) != REQFIELD_OK) return json_null();
    len = strlen(s);
    if (len == 0) return json_string("");
    ok = len <= DCV_DNS_MAX_PREFIX && s[0] != '.' && s[len - 1] != '.' && strstr(s, "..") == NULL;
    for (q = s; ok && *q; q++) ok = *q == '.' || is_prefix_char((unsigned char)*q);
    for (q = s; ok && q != NULL; q = strchr(q, '.')) {
        const char *dot;
        if (*q == '.') q++;
        dot = strchr(q, '.');
        ok = (dot != NULL ? (size_t)(dot - q) : strlen(q)) <= 63;
        if (dot == NULL) break;
    }
    if (!ok) {
        reqfield_issue(c, "invalid-value", field,
                       "%s must be null, \"\" or DNS labels of letters, digits, '-' and '_' "
                       "(at most 63 bytes each, %d in all)",
                       field, DCV_DNS_MAX_PREFIX);
        return json_null();
    }
    if (c->target_ok && len + 1 + strlen(c->out->target) > DCV_DNS_NAME_MAX) {
        reqfield_issue(c, "invalid-value", field,
                       "%s makes the query name longer than %d bytes", field, DCV_DNS_NAME_MAX);
        return json_null();
    }
    return json_string(s);
}

void dcv_dns_params_acme_dns01(struct reqfield_ctx *c, const json_t *p)
{
    const char *hash;
    json_t *params;

    if (c->target_ok && c->out->target_kind != DNSNAME_DOMAIN) {
        reqfield_issue(c, "invalid-target", "domain_or_ip_target",
                       "acme-dns-01 cannot validate an IP address");
    }
    hash = reqfield_get_req_token(
        c, p, "key_authorization_hash", "dcv_check_parameters.key_authorization_hash",
        DCV_DNS_MAX_KEY_AUTH_HASH, reqfield_is_visible, "visible ASCII characters");
    dcv_dns_params_fixed(c, p, "dns_record_type", "TXT", "acme-dns-01");
    dcv_dns_params_fixed(c, p, "dns_name_prefix", "_acme-challenge", "acme-dns-01");
    reqfield_exact_case_forced(c, p, "acme-dns-01");

    params = json_object();
    json_object_set_new(params, "validation_method", json_string("acme-dns-01"));
    json_object_set_new(params, "require_exact_case", json_true());
    json_object_set_new(params, "key_authorization_hash", str_or_null(hash));
    json_object_set_new(params, "dns_record_type", json_string("TXT"));
    json_object_set_new(params, "dns_name_prefix", json_string("_acme-challenge"));
    c->out->check_params = params;
}

void dcv_dns_params_dns_change(struct reqfield_ctx *c, const json_t *p)
{
    const char *field = "dcv_check_parameters.dns_record_type";
    const char *challenge;
    const char *type = NULL;
    bool exact_match = false;
    bool exact_case;
    bool is_txt;
    json_t *prefix;
    json_t *params;

    dcv_dns_params_domain_target(c, "dns-change", true);
    challenge = get_challenge(c, p);
    prefix = get_prefix(c, p);
    if (reqfield_get_req_str(c, p, "dns_record_type", field, &type) &&
        strcmp(type, "TXT") != 0 && strcmp(type, "CNAME") != 0 && strcmp(type, "CAA") != 0) {
        reqfield_issue(c, "invalid-validation-method-record-type-combination", field,
                       "%s must be \"TXT\", \"CNAME\" or \"CAA\" for dns-change", field);
        type = NULL;
    }
    is_txt = type == NULL || strcmp(type, "TXT") == 0;
    reqfield_get_bool(c, p, "require_exact_match", "dcv_check_parameters.require_exact_match",
                      &exact_match);
    exact_case = is_txt;
    if (is_txt) {
        reqfield_get_bool(c, p, "require_exact_case", "dcv_check_parameters.require_exact_case",
                          &exact_case);
    } else {
        dcv_dns_params_case_forced_false(c, p, "dns-change with CNAME or CAA records");
    }

    params = json_object();
    json_object_set_new(params, "validation_method", json_string("dns-change"));
    json_object_set_new(params, "require_exact_case", json_boolean(exact_case));
    json_object_set_new(params, "challenge_value", str_or_null(challenge));
    json_object_set_new(params, "dns_record_type", str_or_null(type));
    json_object_set_new(params, "dns_name_prefix", prefix);
    json_object_set_new(params, "require_exact_match", json_boolean(exact_match));
    c->out->check_params = params;
}

/* contact-*-txt: fixed prefix and type, exact case-insensitive match. */
static void contact_txt(struct reqfield_ctx *c, const json_t *p, const char *method,
                        const char *prefix)
{
    const char *challenge;
    json_t *params;

    dcv_dns_params_domain_target(c, method, true);
    challenge = get_challenge(c, p);
    dcv_dns_params_fixed(c, p, "dns_record_type", "TXT", method);
    dcv_dns_params_fixed(c, p, "dns_name_prefix", prefix, method);
    dcv_dns_params_case_forced_false(c, p, method);

    params = json_object();
    json_object_set_new(params, "validation_method", json_string(method));
    json_object_set_new(params, "require_exact_case", json_false());
    json_object_set_new(params, "challenge_value", str_or_null(challenge));
    json_object_set_new(params, "dns_record_type", json_string("TXT"));
    json_object_set_new(params, "dns_name_prefix", json_string(prefix));
    c->out->check_params = params;
}

void dcv_dns_params_contact_email_txt(struct reqfield_ctx *c, const json_t *p)
{
    contact_txt(c, p, "contact-email-txt", "_validation-contactemail");
}

void dcv_dns_params_contact_phone_txt(struct reqfield_ctx *c, const json_t *p)
{
    contact_txt(c, p, "contact-phone-txt", "_validation-contactphone");
}

/* contact-*-caa: CAA at [prefix.]name climbing to parents; one tag's values match. */
static void contact_caa(struct reqfield_ctx *c, const json_t *p, const char *method)
{
    const char *challenge;
    json_t *prefix;
    json_t *params;

    dcv_dns_params_domain_target(c, method, true);
    challenge = get_challenge(c, p);
    prefix = get_prefix(c, p);
    dcv_dns_params_fixed(c, p, "dns_record_type", "CAA", method);
    dcv_dns_params_case_forced_false(c, p, method);

    params = json_object();
    json_object_set_new(params, "validation_method", json_string(method));
    json_object_set_new(params, "require_exact_case", json_false());
    json_object_set_new(params, "challenge_value", str_or_null(challenge));
    json_object_set_new(params, "dns_record_type", json_string("CAA"));
    json_object_set_new(params, "dns_name_prefix", prefix);
    c->out->check_params = params;
}

void dcv_dns_params_contact_email_caa(struct reqfield_ctx *c, const json_t *p)
{
    contact_caa(c, p, "contact-email-caa");
}

void dcv_dns_params_contact_phone_caa(struct reqfield_ctx *c, const json_t *p)
{
    contact_caa(c, p, "contact-phone-caa");
}

void dcv_dns_params_ip_address(struct reqfield_ctx *c, const json_t *p)
{
    const char *field = "dcv_check_parameters.dns_record_type";
    const char *challenge;
    const char *type = NULL;
    unsigned char addr[16];
    json_t *prefix;
    json_t *params;

    dcv_dns_params_domain_target(c, "ip-address", false);
    challenge = get_challenge(c, p);
    prefix = get_prefix(c, p);
    if (reqfield_get_req_str(c, p, "dns_record_type", field, &type) && strcmp(type, "A") != 0 &&
        strcmp(type, "AAAA") != 0) {
        reqfield_issue(c, "invalid-validation-method-record-type-combination", field,
                       "%s must be \"A\" or \"AAAA\" for ip-address", field);
        type = NULL;
    }
    if (challenge != NULL && type != NULL &&
        inet_pton(strcmp(type, "A") == 0 ? AF_INET : AF_INET6, challenge, addr) != 1) {
        reqfield_issue(c, "invalid-value", "dcv_check_parameters.challenge_value",
                       "dcv_check_parameters.challenge_value must be an %s address for "
                       "dns_record_type \"%s\"",
                       strcmp(type, "A") == 0 ? "IPv4" : "IPv6", type);
        challenge = NULL;
    }
    dcv_dns_params_case_forced_false(c, p, "ip-address");

    params = json_object();
    json_object_set_new(params, "validation_method", json_string("ip-address"));
    json_object_set_new(params, "require_exact_case", json_false());
    json_object_set_new(params, "challenge_value", str_or_null(challenge));
    json_object_set_new(params, "dns_record_type", str_or_null(type));
    json_object_set_new(params, "dns_name_prefix", prefix);
    c->out->check_params = params;
}

/* True when name is in-addr.arpa / ip6.arpa or below it (name is lower case). */
static bool is_arpa_name(const char *name)
{
    static const char *const zones[] = {"in-addr.arpa", "ip6.arpa"};
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        size_t zl = strlen(zones[i]);
        if (n >= zl && strcmp(name + n - zl, zones[i]) == 0 &&
            (n == zl || name[n - zl - 1] == '.'))
            return true;
    }
    return false;
}

void dcv_dns_params_reverse(struct reqfield_ctx *c, const json_t *p)
{
    const char *field = "dcv_check_parameters.challenge_value";
    const char *method = "reverse-address-lookup";
    const char *challenge;
    char name[DNSNAME_MAX];
    char err[256];
    enum dnsname_kind kind;
    bool wild;
    json_t *prefix;
    json_t *params;
    size_t len;

    if (clock_policy_now_ms() >= DCV_DNS_REVERSE_SUNSET_MS) {
        reqfield_issue(c, "method-sunset", "dcv_check_parameters.validation_method",
                       "reverse-address-lookup (BR 3.2.2.5.3) may not be used for validations "
                       "from 2027-03-15 (ballot SC-091)");
    }
    if (c->target_ok && c->out->wildcard) {
        reqfield_issue(c, "invalid-wildcard", "domain_or_ip_target",
                       "%s cannot validate a wildcard domain name: " DCV_DNS_WILDCARD_RULE,
                       method);
    } else if (c->target_ok && c->out->target_kind == DNSNAME_DOMAIN &&
               !is_arpa_name(c->out->target)) {
        reqfield_issue(c, "invalid-target", "domain_or_ip_target",
                       "%s needs an IP address or an in-addr.arpa / ip6.arpa name", method);
    }
    challenge = get_challenge(c, p);
    if (challenge != NULL) {
        len = strlen(challenge);
        if (len >= sizeof(name) || !reqfield_chars_in(challenge, reqfield_is_visible) ||
            dnsname_normalize_target(challenge, name, sizeof(name), &kind, &wild, err,
                                     sizeof(err)) != 0 ||
            kind != DNSNAME_DOMAIN || wild) {
            reqfield_issue(c, "invalid-value", field,
                           "%s must be a domain name in ASCII (A-label) form, such as "
                           "\"host.example.com.\"",
                           field);
            challenge = NULL;
        }
    }
    prefix = get_prefix(c, p);
    dcv_dns_params_fixed(c, p, "dns_record_type", "PTR", method);
    dcv_dns_params_case_forced_false(c, p, method);

    params = json_object();
    json_object_set_new(params, "validation_method", json_string(method));
    json_object_set_new(params, "require_exact_case", json_false());
    json_object_set_new(params, "challenge_value", str_or_null(challenge));
    json_object_set_new(params, "dns_record_type", json_string("PTR"));
    json_object_set_new(params, "dns_name_prefix", prefix);
    c->out->check_params = params;
}
