/*
 * The configuration shared by mpic-coordinator and mpic-worker: one JSON file format
 * (docs/configuration.md documents every key), loaded with defaults, strict key checking
 * (unknown keys are errors naming the key) and range checks, plus command-line overrides.
 */
#ifndef MPIC_CONFIG_H
#define MPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "perspective.h"
#include "secconf.h"
#include "tlsconf.h"

#define CONFIG_MAX_PERSPECTIVES 64
#define CONFIG_MAX_RESOLVERS 4
#define CONFIG_MAX_CAA_DOMAINS 32
#define CONFIG_ADDR_MAX 64
#define CONFIG_MAX_WEBHOOKS 8
#define CONFIG_URL_MAX 512

struct config_addr {
    char host[CONFIG_ADDR_MAX]; /* numeric IPv4/IPv6 */
    int port;
};

struct config {
    enum log_level log_level;
    char key_prefix[32];

    struct config_addr redis;
    int redis_connect_timeout_ms;
    int redis_command_timeout_ms;
    char redis_username[64]; /* empty: no AUTH username */
    char redis_password[128]; /* empty: no AUTH */

    struct perspective perspectives[CONFIG_MAX_PERSPECTIVES];
    int nperspectives;
    bool dnssec_required[CONFIG_MAX_PERSPECTIVES];  /* perspectives[i].dnssec == "required" */
    char primary_perspective[PERSPECTIVE_CODE_MAX]; /* "": no primary perspective */

    int jobs_maxlen;
    int results_maxlen;
    int replies_maxlen;
    int job_visibility_timeout_ms;
    int result_visibility_timeout_ms;

    /* coordinator */
    struct config_addr listen;
    int default_perspective_count;
    char cohort_secret[256];
    char caa_domains[CONFIG_MAX_CAA_DOMAINS][254];
    int ncaa_domains;
    int deadline_ms;
    int min_deadline_ms;
    int max_deadline_ms;
    int straggler_grace_ms;
    bool enforce_br_phase_in;
    int absolute_max_attempts;
    int result_retention_s;
    int audit_retention_s;
    int retry_cooldown_ms;     /* first retry's cooldown; doubles per attempt, jittered */
    int retry_cooldown_max_ms; /* cap of the backoff */
    int target_cooldown_ms;    /* 0: off; else failed targets answer 429 for this long */
    int max_inflight_requests;
    int http_timeout_ms;
    int request_read_timeout_ms; /* accept/previous reply -> complete request (slowloris) */
    int max_connections;         /* open HTTP connections per coordinator */
    struct tlsconf tls;          /* coordinator.tls: HTTPS listener, client certificates */
    int64_t clock_override_ms; /* -1: none */

    /* metrics and security alerts (coordinator) */
    int metrics_anomaly_window_s;
    int metrics_stream_sample_ms;
    int alerts_stream_maxlen;
    char alert_webhooks[CONFIG_MAX_WEBHOOKS][CONFIG_URL_MAX];
    int nalert_webhooks;
    int alert_webhook_timeout_ms;
    int alert_webhook_max_tries;
    int alert_webhook_backoff_ms;
    int alert_webhook_queue_max;

    /* worker */
    char worker_perspective[PERSPECTIVE_CODE_MAX];
    bool worker_listen_set;
    struct config_addr worker_listen;
    char resolvers[CONFIG_MAX_RESOLVERS][CONFIG_ADDR_MAX + 8]; /* "IP:PORT" / "[IPv6]:PORT" */
    int nresolvers;
    int dns_timeout_ms;
    int dns_tries;
    int dns_socket_queries; /* queries per c-ares UDP socket (source port) */
    int dns_socket_max_ms;  /* and its longest life after its first query */
    int http_connect_timeout_ms;
    int worker_http_timeout_ms;
    int max_inflight_jobs;
    char user_agent[128];
    bool lab_allow_private_targets;
    int lab_http_port;
    int lab_https_port;
    int lab_tls_alpn_port;

    /* `seal`, `coordinator.api_auth`, `redis.password_file` (secconf.h) */
    struct secconf sec;
};

/** Fills every key with its documented default (no perspectives). */
void config_defaults(struct config *cfg);
/** Loads a JSON file over the defaults. Returns 0, or -1 with a message naming the key. */
int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen);
/** Same from a string (tests). */
int config_load_string(struct config *cfg, const char *json, char *err, size_t errlen);
/** Cross-key checks after overrides (perspective uniqueness, worker perspective known...). */
int config_validate(const struct config *cfg, bool worker, char *err, size_t errlen);
/** Parses "YYYY-MM-DD" into epoch ms at 00:00 UTC. */
int config_parse_date(const char *s, int64_t *out_ms);
/** The primary perspective, or NULL when none is configured. */
const struct perspective *config_primary(const struct config *cfg);
/** True when perspective `code` must validate DNSSEC (the primary, or "dnssec": "required"). */
bool config_dnssec_required(const struct config *cfg, const char *code);
/** Finds a perspective by code, or NULL. */
const struct perspective *config_find_perspective(const struct config *cfg, const char *code);

#endif
