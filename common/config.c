/*
 * Configuration loading: a declarative table of every scalar key (section, name, type,
 * target offset, range) drives parsing of the JSON file; lists (perspectives, resolvers,
 * caa_domains) have their own parsers. Unknown keys are rejected so typos never go unnoticed.
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

enum config_type {
    CFG_INT,    /* int within [min, max] */
    CFG_BOOL,   /* bool */
    CFG_STR,    /* char[size], null keeps the default */
    CFG_ADDR,   /* struct config_addr from "IP:PORT" */
    CFG_LEVEL,  /* enum log_level */
    CFG_DATE,   /* int64 epoch ms from "YYYY-MM-DD" or null (-1) */
    CFG_SPECIAL /* parsed by a dedicated function */
};

struct config_key {
    const char *section; /* NULL: top level */
    const char *name;
    enum config_type type;
    size_t offset;
    size_t size; /* CFG_STR buffer size */
    int64_t min, max;
};

#define KEY_INT(sec, name, field, lo, hi)                                                          \
    {sec, name, CFG_INT, offsetof(struct config, field), 0, lo, hi}
#define KEY_BOOL(sec, name, field) {sec, name, CFG_BOOL, offsetof(struct config, field), 0, 0, 0}
#define KEY_STR(sec, name, field)                                                                  \
    {sec, name, CFG_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field), 0, 0}
#define KEY_ADDR(sec, name, field) {sec, name, CFG_ADDR, offsetof(struct config, field), 0, 0, 0}
#define KEY_SPECIAL(sec, name) {sec, name, CFG_SPECIAL, 0, 0, 0, 0}

static const struct config_key config_keys[] = {
    {NULL, "log_level", CFG_LEVEL, offsetof(struct config, log_level), 0, 0, 0},
    KEY_STR(NULL, "key_prefix", key_prefix),
    KEY_SPECIAL(NULL, "perspectives"),
    KEY_STR(NULL, "primary_perspective", primary_perspective),
    KEY_SPECIAL(NULL, "redis"),
    KEY_SPECIAL(NULL, "streams"),
    KEY_SPECIAL(NULL, "coordinator"),
    KEY_SPECIAL(NULL, "worker"),
    KEY_SPECIAL(NULL, "metrics"),
    KEY_SPECIAL(NULL, "alerts"),
    KEY_INT("metrics", "anomaly_window_s", metrics_anomaly_window_s, 10, 86400),
    KEY_INT("metrics", "stream_sample_ms", metrics_stream_sample_ms, 100, 600000),
    KEY_INT("alerts", "stream_maxlen", alerts_stream_maxlen, 100, 100000000),
    KEY_SPECIAL("alerts", "webhooks"),
    KEY_INT("alerts", "webhook_timeout_ms", alert_webhook_timeout_ms, 100, 120000),
    KEY_INT("alerts", "webhook_max_tries", alert_webhook_max_tries, 1, 20),
    KEY_INT("alerts", "webhook_backoff_ms", alert_webhook_backoff_ms, 10, 600000),
    KEY_INT("alerts", "webhook_queue_max", alert_webhook_queue_max, 1, 100000),
    KEY_SPECIAL(NULL, "seal"),
    KEY_ADDR("redis", "address", redis),
    KEY_INT("redis", "connect_timeout_ms", redis_connect_timeout_ms, 10, 600000),
    KEY_INT("redis", "command_timeout_ms", redis_command_timeout_ms, 10, 600000),
    KEY_STR("redis", "username", redis_username),
    KEY_STR("redis", "password", redis_password),
    {"redis", "password_file", CFG_STR, offsetof(struct config, sec.redis_password_file),
     sizeof(((struct config *)0)->sec.redis_password_file), 0, 0},
    KEY_INT("streams", "jobs_maxlen", jobs_maxlen, 100, 100000000),
    KEY_INT("streams", "results_maxlen", results_maxlen, 100, 100000000),
    KEY_INT("streams", "replies_maxlen", replies_maxlen, 100, 100000000),
    KEY_INT("streams", "job_visibility_timeout_ms", job_visibility_timeout_ms, 100, 3600000),
    KEY_INT("streams", "result_visibility_timeout_ms", result_visibility_timeout_ms, 100, 3600000),
    KEY_ADDR("coordinator", "listen", listen),
    KEY_INT("coordinator", "default_perspective_count", default_perspective_count, 2,
            CONFIG_MAX_PERSPECTIVES),
    KEY_STR("coordinator", "cohort_secret", cohort_secret),
    KEY_SPECIAL("coordinator", "caa_domains"),
    KEY_SPECIAL("coordinator", "api_auth"),
    KEY_INT("coordinator", "deadline_ms", deadline_ms, 100, 600000),
    KEY_INT("coordinator", "min_deadline_ms", min_deadline_ms, 100, 600000),
    KEY_INT("coordinator", "max_deadline_ms", max_deadline_ms, 100, 600000),
    KEY_INT("coordinator", "straggler_grace_ms", straggler_grace_ms, 0, 60000),
    KEY_BOOL("coordinator", "enforce_br_phase_in", enforce_br_phase_in),
    KEY_INT("coordinator", "absolute_max_attempts", absolute_max_attempts, 1, 100),
    KEY_INT("coordinator", "result_retention_s", result_retention_s, 10, 31622400),
    KEY_INT("coordinator", "audit_retention_s", audit_retention_s, 60, 31622400),
    KEY_INT("coordinator", "retry_cooldown_ms", retry_cooldown_ms, 0, 3600000),
    KEY_INT("coordinator", "retry_cooldown_max_ms", retry_cooldown_max_ms, 0, 3600000),
    KEY_INT("coordinator", "target_cooldown_ms", target_cooldown_ms, 0, 86400000),
    KEY_INT("coordinator", "max_inflight_requests", max_inflight_requests, 1, 10000000),
    KEY_INT("coordinator", "http_timeout_ms", http_timeout_ms, 100, 600000),
    KEY_INT("coordinator", "request_read_timeout_ms", request_read_timeout_ms, 100, 600000),
    KEY_INT("coordinator", "max_connections", max_connections, 1, 1000000),
    KEY_SPECIAL("coordinator", "tls"),
    {"coordinator", "clock_override", CFG_DATE, offsetof(struct config, clock_override_ms), 0, 0, 0},
    KEY_STR("worker", "perspective", worker_perspective),
    KEY_SPECIAL("worker", "listen"),
    KEY_SPECIAL("worker", "resolvers"),
    KEY_INT("worker", "dns_timeout_ms", dns_timeout_ms, 10, 60000),
    KEY_INT("worker", "dns_tries", dns_tries, 1, 10),
    KEY_INT("worker", "dns_socket_queries", dns_socket_queries, 1, 65535),
    KEY_INT("worker", "dns_socket_max_ms", dns_socket_max_ms, 1, 3600000),
    KEY_INT("worker", "http_connect_timeout_ms", http_connect_timeout_ms, 10, 120000),
    KEY_INT("worker", "http_timeout_ms", worker_http_timeout_ms, 10, 600000),
    KEY_INT("worker", "max_inflight_jobs", max_inflight_jobs, 1, 1000000),
    KEY_STR("worker", "user_agent", user_agent),
    KEY_SPECIAL("worker", "lab"),
    KEY_BOOL("worker.lab", "allow_private_targets", lab_allow_private_targets),
    KEY_INT("worker.lab", "http_port", lab_http_port, 1, 65535),
    KEY_INT("worker.lab", "https_port", lab_https_port, 1, 65535),
    KEY_INT("worker.lab", "tls_alpn_port", lab_tls_alpn_port, 1, 65535),
};

void config_defaults(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->log_level = LOG_LEVEL_INFO;
    util_strlcpy(cfg->key_prefix, "mpic", sizeof(cfg->key_prefix));
    util_strlcpy(cfg->redis.host, "127.0.0.1", sizeof(cfg->redis.host));
    cfg->redis.port = 6379;
    cfg->redis_connect_timeout_ms = 1000;
    cfg->redis_command_timeout_ms = 2000;
    cfg->jobs_maxlen = 100000;
    cfg->results_maxlen = 100000;
    cfg->replies_maxlen = 10000;
    cfg->job_visibility_timeout_ms = 3000;
    cfg->result_visibility_timeout_ms = 3000;
    util_strlcpy(cfg->listen.host, "127.0.0.1", sizeof(cfg->listen.host));
    cfg->listen.port = 8080;
    cfg->default_perspective_count = 6;
    cfg->deadline_ms = 10000;
    cfg->min_deadline_ms = 500;
    cfg->max_deadline_ms = 60000;
    cfg->straggler_grace_ms = 250;
    cfg->enforce_br_phase_in = true;
    cfg->absolute_max_attempts = 3;
    cfg->audit_retention_s = 7 * 86400;
    cfg->retry_cooldown_ms = 1000;
    cfg->retry_cooldown_max_ms = 30000;
    cfg->target_cooldown_ms = 0;
    cfg->result_retention_s = 86400;
    cfg->max_inflight_requests = 10000;
    cfg->http_timeout_ms = 30000;
    cfg->request_read_timeout_ms = 10000;
    cfg->max_connections = 4096;
    cfg->clock_override_ms = -1;
    cfg->metrics_anomaly_window_s = 600;
    cfg->metrics_stream_sample_ms = 5000;
    cfg->alerts_stream_maxlen = 10000;
    cfg->alert_webhook_timeout_ms = 5000;
    cfg->alert_webhook_max_tries = 5;
    cfg->alert_webhook_backoff_ms = 1000;
    cfg->alert_webhook_queue_max = 1000;
    util_strlcpy(cfg->resolvers[0], "127.0.0.1:53", sizeof(cfg->resolvers[0]));
    cfg->nresolvers = 1;
    cfg->dns_timeout_ms = 500;
    cfg->dns_tries = 3;
    cfg->dns_socket_queries = 256;
    cfg->dns_socket_max_ms = 10000;
    cfg->http_connect_timeout_ms = 5000;
    cfg->worker_http_timeout_ms = 10000;
    cfg->max_inflight_jobs = 1000;
    util_strlcpy(cfg->user_agent, "mpic/0.1", sizeof(cfg->user_agent));
    cfg->lab_http_port = 80;
    cfg->lab_https_port = 443;
    cfg->lab_tls_alpn_port = 443;
}

int config_parse_date(const char *s, int64_t *out_ms)
{
    struct tm tm;
    int64_t y, m, d;
    time_t t;
    char buf[16];

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return -1;
    memcpy(buf, s, 4);
    buf[4] = '\0';
    if (util_parse_int64(buf, 1970, 9999, &y) != 0) return -1;
    memcpy(buf, s + 5, 2);
    buf[2] = '\0';
    if (util_parse_int64(buf, 1, 12, &m) != 0) return -1;
    memcpy(buf, s + 8, 2);
    buf[2] = '\0';
    if (util_parse_int64(buf, 1, 31, &d) != 0) return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = (int)y - 1900;
    tm.tm_mon = (int)m - 1;
    tm.tm_mday = (int)d;
    t = timegm(&tm);
    /* timegm normalizes 2023-02-30 to March 2: reject days the month does not have */
    if (tm.tm_year != (int)y - 1900 || tm.tm_mon != (int)m - 1 || tm.tm_mday != (int)d) return -1;
    *out_ms = (int64_t)t * 1000;
    return 0;
}

static const struct config_key *config_find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < MPIC_ARRAY_LEN(config_keys); i++) {
        const struct config_key *k = &config_keys[i];
        bool same_section = (section == NULL && k->section == NULL) ||
                            (section != NULL && k->section != NULL &&
                             strcmp(section, k->section) == 0);
        if (same_section && strcmp(k->name, name) == 0) return k;
    }
    return NULL;
}

/* perspectives[].dnssec: absent/null/"optional" -> false, "required" -> true. */
static int config_parse_dnssec(const json_t *v, bool *required)
{
    *required = false;
    if (v == NULL || json_is_null(v)) return 0;
    if (!json_is_string(v)) return -1;
    if (strcmp(json_string_value(v), "required") == 0) {
        *required = true;
        return 0;
    }
    return strcmp(json_string_value(v), "optional") == 0 ? 0 : -1;
}

static int config_parse_perspectives(struct config *cfg, json_t *v, char *err, size_t errlen)
{
    size_t i;
    json_t *p;

    if (!json_is_array(v)) {
        snprintf(err, errlen, "perspectives: must be an array");
        return -1;
    }
    if (json_array_size(v) > CONFIG_MAX_PERSPECTIVES) {
        snprintf(err, errlen, "perspectives: at most %d", CONFIG_MAX_PERSPECTIVES);
        return -1;
    }
    cfg->nperspectives = 0;
    json_array_foreach(v, i, p) {
        struct perspective *out = &cfg->perspectives[cfg->nperspectives];
        const char *code, *region, *rir, *key;
        json_t *lat, *lon, *val;

        if (!json_is_object(p)) goto bad;
        json_object_foreach(p, key, val) {
            if (strcmp(key, "code") && strcmp(key, "region") && strcmp(key, "rir") &&
                strcmp(key, "latitude") && strcmp(key, "longitude") && strcmp(key, "dnssec")) {
                snprintf(err, errlen, "perspectives[%zu].%s: unknown key", i, key);
                return -1;
            }
        }
        code = json_string_value(json_object_get(p, "code"));
        region = json_string_value(json_object_get(p, "region"));
        rir = json_string_value(json_object_get(p, "rir"));
        lat = json_object_get(p, "latitude");
        lon = json_object_get(p, "longitude");
        if (!perspective_name_valid(code)) {
            snprintf(err, errlen, "perspectives[%zu].code: required, [a-z0-9.-], 1..63 chars", i);
            return -1;
        }
        if (region == NULL && json_object_get(p, "region") == NULL) region = code; /* absent */
        if (!perspective_name_valid(region)) {
            snprintf(err, errlen, "perspectives[%zu].region: [a-z0-9.-], 1..63 chars", i);
            return -1;
        }
        if (perspective_rir_parse(rir, &out->rir) != 0) {
            snprintf(err, errlen,
                     "perspectives[%zu].rir: one of ARIN, RIPE NCC, APNIC, LACNIC, AFRINIC", i);
            return -1;
        }
        if (!json_is_number(lat) || !json_is_number(lon) || json_number_value(lat) < -90 ||
            json_number_value(lat) > 90 || json_number_value(lon) < -180 ||
            json_number_value(lon) > 180) {
            snprintf(err, errlen,
                     "perspectives[%zu].latitude/longitude: numbers in degrees are required", i);
            return -1;
        }
        if (config_parse_dnssec(json_object_get(p, "dnssec"),
                                &cfg->dnssec_required[cfg->nperspectives]) != 0) {
            snprintf(err, errlen, "perspectives[%zu].dnssec: \"required\" or \"optional\"", i);
            return -1;
        }
        util_strlcpy(out->code, code, sizeof(out->code));
        util_strlcpy(out->region, region, sizeof(out->region));
        out->lat = json_number_value(lat);
        out->lon = json_number_value(lon);
        cfg->nperspectives++;
    }
    return 0;
bad:
    snprintf(err, errlen, "perspectives[%zu]: must be an object", i);
    return -1;
}

static int config_parse_string_list(json_t *v, const char *what, char *dst, size_t elem,
                                    int max, int *count, char *err, size_t errlen)
{
    size_t i;
    json_t *s;

    if (!json_is_array(v) || json_array_size(v) > (size_t)max) {
        snprintf(err, errlen, "%s: must be an array of at most %d strings", what, max);
        return -1;
    }
    *count = 0;
    json_array_foreach(v, i, s) {
        const char *str = json_string_value(s);
        if (str == NULL || *str == '\0' || strlen(str) >= elem) {
            snprintf(err, errlen, "%s[%zu]: must be a non-empty string shorter than %zu", what, i,
                     elem);
            return -1;
        }
        util_strlcpy(dst + (size_t)*count * elem, str, elem);
        (*count)++;
    }
    return 0;
}

static int config_parse_section(struct config *cfg, const char *section, json_t *obj, char *err,
                                size_t errlen);

static int config_set_key(struct config *cfg, const char *section, const char *name, json_t *v,
                          char *err, size_t errlen)
{
    const struct config_key *k = config_find_key(section, name);
    char path[128];
    char *base = (char *)cfg;

    snprintf(path, sizeof(path), "%s%s%s", section ? section : "", section ? "." : "", name);
    if (k == NULL) {
        snprintf(err, errlen, "%s: unknown configuration key", path);
        return -1;
    }
    switch (k->type) {
    case CFG_INT:
        if (!json_is_integer(v) || json_integer_value(v) < k->min ||
            json_integer_value(v) > k->max) {
            snprintf(err, errlen, "%s: must be an integer in [%lld, %lld]", path,
                     (long long)k->min, (long long)k->max);
            return -1;
        }
        *(int *)(base + k->offset) = (int)json_integer_value(v);
        return 0;
    case CFG_BOOL:
        if (!json_is_boolean(v)) {
            snprintf(err, errlen, "%s: must be true or false", path);
            return -1;
        }
        *(bool *)(base + k->offset) = json_is_true(v);
        return 0;
    case CFG_STR:
        if (json_is_null(v)) {
            ((char *)(base + k->offset))[0] = '\0';
            return 0;
        }
        if (!json_is_string(v) || strlen(json_string_value(v)) >= k->size) {
            snprintf(err, errlen, "%s: must be a string shorter than %zu bytes", path, k->size);
            return -1;
        }
        util_strlcpy(base + k->offset, json_string_value(v), k->size);
        return 0;
    case CFG_ADDR: {
        struct config_addr *a = (struct config_addr *)(base + k->offset);
        if (!json_is_string(v) || util_parse_hostport(json_string_value(v), 0, a->host,
                                                      sizeof(a->host), &a->port) != 0) {
            snprintf(err, errlen, "%s: must be \"IP:PORT\" with a numeric IP", path);
            return -1;
        }
        return 0;
    }
    case CFG_LEVEL:
        if (!json_is_string(v) ||
            log_level_parse(json_string_value(v), (enum log_level *)(base + k->offset)) != 0) {
            snprintf(err, errlen, "%s: one of error, warn, info, debug", path);
            return -1;
        }
        return 0;
    case CFG_DATE:
        if (json_is_null(v)) {
            *(int64_t *)(base + k->offset) = -1;
            return 0;
        }
        if (!json_is_string(v) ||
            config_parse_date(json_string_value(v), (int64_t *)(base + k->offset)) != 0) {
            snprintf(err, errlen, "%s: null or a date \"YYYY-MM-DD\"", path);
            return -1;
        }
        return 0;
    case CFG_SPECIAL:
        break;
    }
    if (strcmp(name, "perspectives") == 0) return config_parse_perspectives(cfg, v, err, errlen);
    if (strcmp(name, "seal") == 0) return secconf_parse_seal(&cfg->sec, v, err, errlen);
    if (strcmp(name, "api_auth") == 0) return secconf_parse_api_auth(&cfg->sec, v, err, errlen);
    if (strcmp(name, "tls") == 0) return tlsconf_parse(&cfg->tls, v, err, errlen);
    if (strcmp(name, "caa_domains") == 0)
        return config_parse_string_list(v, path, &cfg->caa_domains[0][0],
                                        sizeof(cfg->caa_domains[0]), CONFIG_MAX_CAA_DOMAINS,
                                        &cfg->ncaa_domains, err, errlen);
    if (strcmp(name, "resolvers") == 0) {
        if (config_parse_string_list(v, path, &cfg->resolvers[0][0], sizeof(cfg->resolvers[0]),
                                     CONFIG_MAX_RESOLVERS, &cfg->nresolvers, err, errlen) != 0)
            return -1;
        for (int i = 0; i < cfg->nresolvers; i++) {
            char host[CONFIG_ADDR_MAX];
            int port;
            if (util_parse_hostport(cfg->resolvers[i], 53, host, sizeof(host), &port) != 0) {
                snprintf(err, errlen, "%s[%d]: must be \"IP[:PORT]\"", path, i);
                return -1;
            }
        }
        if (cfg->nresolvers == 0) {
            snprintf(err, errlen, "%s: at least one resolver is required", path);
            return -1;
        }
        return 0;
    }
    if (strcmp(name, "webhooks") == 0) {
        if (config_parse_string_list(v, path, &cfg->alert_webhooks[0][0],
                                     sizeof(cfg->alert_webhooks[0]), CONFIG_MAX_WEBHOOKS,
                                     &cfg->nalert_webhooks, err, errlen) != 0)
            return -1;
        for (int i = 0; i < cfg->nalert_webhooks; i++) {
            if (strncmp(cfg->alert_webhooks[i], "http://", 7) != 0 &&
                strncmp(cfg->alert_webhooks[i], "https://", 8) != 0) {
                snprintf(err, errlen, "%s[%d]: must be an http:// or https:// URL", path, i);
                return -1;
            }
        }
        return 0;
    }
    if (strcmp(name, "listen") == 0 && section && strcmp(section, "worker") == 0) {
        if (json_is_null(v)) {
            cfg->worker_listen_set = false;
            return 0;
        }
        if (!json_is_string(v) ||
            util_parse_hostport(json_string_value(v), 0, cfg->worker_listen.host,
                                sizeof(cfg->worker_listen.host), &cfg->worker_listen.port) != 0) {
            snprintf(err, errlen, "%s: null or \"IP:PORT\"", path);
            return -1;
        }
        cfg->worker_listen_set = true;
        return 0;
    }
    /* nested sections */
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s: must be an object", path);
        return -1;
    }
    return config_parse_section(cfg, section ? "worker.lab" : name, v, err, errlen);
}

static int config_parse_section(struct config *cfg, const char *section, json_t *obj, char *err,
                                size_t errlen)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v) {
        if (config_set_key(cfg, section, key, v, err, errlen) != 0) return -1;
    }
    return 0;
}

int config_load_string(struct config *cfg, const char *json, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    int rc;

    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON at line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errlen, "the configuration must be a JSON object");
        return -1;
    }
    rc = config_parse_section(cfg, NULL, root, err, errlen);
    json_decref(root);
    return rc;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    int rc;

    if (root == NULL) {
        snprintf(err, errlen, "%s: %s (line %d)", path, jerr.text, jerr.line);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errlen, "%s: the configuration must be a JSON object", path);
        return -1;
    }
    rc = config_parse_section(cfg, NULL, root, err, errlen);
    json_decref(root);
    return rc;
}

const struct perspective *config_find_perspective(const struct config *cfg, const char *code)
{
    for (int i = 0; i < cfg->nperspectives; i++)
        if (strcmp(cfg->perspectives[i].code, code) == 0) return &cfg->perspectives[i];
    return NULL;
}

const struct perspective *config_primary(const struct config *cfg)
{
    if (cfg->primary_perspective[0] == '\0') return NULL;
    return config_find_perspective(cfg, cfg->primary_perspective);
}

bool config_dnssec_required(const struct config *cfg, const char *code)
{
    const struct perspective *p = code != NULL ? config_find_perspective(cfg, code) : NULL;

    if (p == NULL) return false;
    return cfg->dnssec_required[p - cfg->perspectives] ||
           strcmp(cfg->primary_perspective, p->code) == 0;
}

int config_validate(const struct config *cfg, bool worker, char *err, size_t errlen)
{
    if (cfg->nperspectives == 0) {
        snprintf(err, errlen, "perspectives: at least one perspective must be configured");
        return -1;
    }
    for (int i = 0; i < cfg->nperspectives; i++) {
        for (int j = i + 1; j < cfg->nperspectives; j++) {
            if (strcmp(cfg->perspectives[i].code, cfg->perspectives[j].code) == 0) {
                snprintf(err, errlen, "perspectives[%d].code: duplicate \"%s\"", j,
                         cfg->perspectives[j].code);
                return -1;
            }
            if (strcmp(cfg->perspectives[i].region, cfg->perspectives[j].region) == 0) {
                snprintf(err, errlen,
                         "perspectives[%d].region: \"%s\" is already used by %s (one perspective "
                         "per region stream)",
                         j, cfg->perspectives[j].region, cfg->perspectives[i].code);
                return -1;
            }
        }
    }
    if (cfg->primary_perspective[0] != '\0' && config_primary(cfg) == NULL) {
        snprintf(err, errlen, "primary_perspective: \"%s\" is not a configured perspective",
                 cfg->primary_perspective);
        return -1;
    }
    if (!perspective_name_valid(cfg->key_prefix)) {
        snprintf(err, errlen, "key_prefix: [a-z0-9.-], 1..31 chars");
        return -1;
    }
    if (worker) {
        if (config_find_perspective(cfg, cfg->worker_perspective) == NULL) {
            snprintf(err, errlen, "worker.perspective: \"%s\" is not a configured perspective",
                     cfg->worker_perspective);
            return -1;
        }
        return 0;
    }
    if (cfg->min_deadline_ms > cfg->max_deadline_ms || cfg->deadline_ms < cfg->min_deadline_ms ||
        cfg->deadline_ms > cfg->max_deadline_ms) {
        snprintf(err, errlen,
                 "coordinator.deadline_ms: must lie within [min_deadline_ms, max_deadline_ms]");
        return -1;
    }
    if (cfg->default_perspective_count > cfg->nperspectives) {
        snprintf(err, errlen,
                 "coordinator.default_perspective_count: %d but only %d perspectives configured",
                 cfg->default_perspective_count, cfg->nperspectives);
        return -1;
    }
    if (strlen(cfg->cohort_secret) < 8) {
        snprintf(err, errlen, "coordinator.cohort_secret: at least 8 characters are required");
        return -1;
    }
    if (cfg->ncaa_domains == 0) {
        snprintf(err, errlen, "coordinator.caa_domains: at least one issuer domain is required");
        return -1;
    }
    return 0;
}
