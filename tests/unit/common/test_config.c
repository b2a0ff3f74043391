/*
 * Tests for common/config.c: documented defaults, a configuration with every key, strict
 * rejection of unknown keys / wrong types / out-of-range values with the key path in the
 * message, perspective and cross-key validation (config_validate), config_parse_date and
 * loading from a file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define P3 "\"perspectives\":[" \
    "{\"code\":\"us-east-1\",\"region\":\"use1\",\"rir\":\"ARIN\",\"latitude\":39.04,\"longitude\":-77.49}," \
    "{\"code\":\"eu-west-1\",\"rir\":\"RIPE NCC\",\"latitude\":53.35,\"longitude\":-6.26}," \
    "{\"code\":\"ap-south-1\",\"rir\":\"apnic\",\"latitude\":19.08,\"longitude\":72.88}]"

/* Loads json over the defaults; returns the config_load_string result, err filled. */
static int load(struct config *cfg, const char *json, char *err, size_t errlen)
{
    config_defaults(cfg);
    err[0] = '\0';
    return config_load_string(cfg, json, err, errlen);
}

/* Asserts that loading json fails with a message containing `needle`. */
static void expect_load_error(const char *json, const char *needle)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[512];
    int rc = load(cfg, json, err, sizeof(err));
    if (rc != -1) fail_msg("accepted: %s", json);
    if (strstr(err, needle) == NULL) fail_msg("error \"%s\" does not name \"%s\"", err, needle);
    free(cfg);
}

/* Asserts that json loads but config_validate(worker) fails naming `needle`. */
static void expect_validate_error(const char *json, bool worker, const char *needle)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[512];
    if (load(cfg, json, err, sizeof(err)) != 0) fail_msg("load failed: %s (%s)", err, json);
    err[0] = '\0';
    if (config_validate(cfg, worker, err, sizeof(err)) != -1) fail_msg("valid: %s", json);
    if (strstr(err, needle) == NULL) fail_msg("error \"%s\" does not name \"%s\"", err, needle);
    free(cfg);
}

static void expect_valid(const char *json, bool worker)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[512];
    if (load(cfg, json, err, sizeof(err)) != 0) fail_msg("load failed: %s (%s)", err, json);
    if (config_validate(cfg, worker, err, sizeof(err)) != 0) fail_msg("invalid: %s (%s)", err, json);
    free(cfg);
}

static void test_defaults(void **state)
{
    struct config *cfg = malloc(sizeof(*cfg));
    (void)state;

    config_defaults(cfg);
    assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
    assert_string_equal(cfg->key_prefix, "mpic");
    assert_string_equal(cfg->redis.host, "127.0.0.1");
    assert_int_equal(cfg->redis.port, 6379);
    assert_int_equal(cfg->redis_connect_timeout_ms, 1000);
    assert_int_equal(cfg->redis_command_timeout_ms, 2000);
    assert_string_equal(cfg->redis_username, "");
    assert_string_equal(cfg->redis_password, "");
    assert_int_equal(cfg->nperspectives, 0);
    assert_int_equal(cfg->jobs_maxlen, 100000);
    assert_int_equal(cfg->results_maxlen, 100000);
    assert_int_equal(cfg->replies_maxlen, 10000);
    assert_int_equal(cfg->job_visibility_timeout_ms, 3000);
    assert_int_equal(cfg->result_visibility_timeout_ms, 3000);
    assert_string_equal(cfg->listen.host, "127.0.0.1");
    assert_int_equal(cfg->listen.port, 8080);
    assert_int_equal(cfg->default_perspective_count, 6);
    assert_int_equal(cfg->ncaa_domains, 0);
    assert_int_equal(cfg->deadline_ms, 10000);
    assert_int_equal(cfg->min_deadline_ms, 500);
    assert_int_equal(cfg->max_deadline_ms, 60000);
    assert_int_equal(cfg->straggler_grace_ms, 250);
    assert_true(cfg->enforce_br_phase_in);
    assert_int_equal(cfg->absolute_max_attempts, 3);
    assert_int_equal(cfg->result_retention_s, 86400);
    assert_int_equal(cfg->max_inflight_requests, 10000);
    assert_int_equal(cfg->http_timeout_ms, 30000);
    assert_true(cfg->clock_override_ms == -1);
    assert_string_equal(cfg->worker_perspective, "");
    assert_false(cfg->worker_listen_set);
    assert_int_equal(cfg->nresolvers, 1);
    assert_string_equal(cfg->resolvers[0], "127.0.0.1:53");
    assert_int_equal(cfg->dns_timeout_ms, 500);
    assert_int_equal(cfg->dns_tries, 3);
    assert_int_equal(cfg->dns_socket_queries, 256);
    assert_int_equal(cfg->dns_socket_max_ms, 10000);
    assert_int_equal(cfg->http_connect_timeout_ms, 5000);
    assert_int_equal(cfg->worker_http_timeout_ms, 10000);
    assert_int_equal(cfg->max_inflight_jobs, 1000);
    assert_string_equal(cfg->user_agent, "mpic/0.1"); /* docs/configuration.md */
    assert_false(cfg->lab_allow_private_targets);
    assert_int_equal(cfg->lab_http_port, 80);
    assert_int_equal(cfg->lab_https_port, 443);
    assert_int_equal(cfg->lab_tls_alpn_port, 443);
    free(cfg);
}

static const char full_config[] =
    "{\"log_level\":\"debug\",\"key_prefix\":\"lab-1\","
    "\"redis\":{\"address\":\"[::1]:6380\",\"connect_timeout_ms\":1500,"
    "\"command_timeout_ms\":2500,\"username\":\"u\",\"password\":\"secret pw\"},"
    P3 ","
    "\"streams\":{\"jobs_maxlen\":5000,\"results_maxlen\":6000,\"replies_maxlen\":700,"
    "\"job_visibility_timeout_ms\":4000,\"result_visibility_timeout_ms\":4500},"
    "\"coordinator\":{\"listen\":\"0.0.0.0:9090\",\"default_perspective_count\":3,"
    "\"cohort_secret\":\"0123456789abcdef\",\"caa_domains\":[\"ca.test\",\"other-ca.test\"],"
    "\"deadline_ms\":7000,\"min_deadline_ms\":200,\"max_deadline_ms\":90000,"
    "\"straggler_grace_ms\":0,\"enforce_br_phase_in\":false,\"absolute_max_attempts\":3,"
    "\"result_retention_s\":3600,\"max_inflight_requests\":50,\"http_timeout_ms\":15000,"
    "\"clock_override\":\"2026-03-15\"},"
    "\"worker\":{\"perspective\":\"eu-west-1\",\"listen\":\"127.0.0.2:8181\","
    "\"resolvers\":[\"10.0.0.1\",\"[2001:db8::1]:5353\",\"192.0.2.1:53\"],"
    "\"dns_timeout_ms\":900,\"dns_tries\":4,\"dns_socket_queries\":1,\"dns_socket_max_ms\":50,"
    "\"http_connect_timeout_ms\":1200,"
    "\"http_timeout_ms\":3300,\"max_inflight_jobs\":77,\"user_agent\":\"ua/9\","
    "\"lab\":{\"allow_private_targets\":true,\"http_port\":5002,\"https_port\":5001,"
    "\"tls_alpn_port\":5003}}}";

static void test_full_config(void **state)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[256];
    const struct perspective *p;
    (void)state;

    assert_int_equal(load(cfg, full_config, err, sizeof(err)), 0);
    assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
    assert_string_equal(cfg->key_prefix, "lab-1");
    assert_string_equal(cfg->redis.host, "::1");
    assert_int_equal(cfg->redis.port, 6380);
    assert_int_equal(cfg->redis_connect_timeout_ms, 1500);
    assert_int_equal(cfg->redis_command_timeout_ms, 2500);
    assert_string_equal(cfg->redis_username, "u");
    assert_string_equal(cfg->redis_password, "secret pw");
    assert_int_equal(cfg->nperspectives, 3);
    assert_string_equal(cfg->perspectives[0].code, "us-east-1");
    assert_string_equal(cfg->perspectives[0].region, "use1");
    assert_int_equal(cfg->perspectives[0].rir, RIR_ARIN);
    assert_true(cfg->perspectives[0].lat == 39.04 && cfg->perspectives[0].lon == -77.49);
    assert_string_equal(cfg->perspectives[1].region, "eu-west-1"); /* defaults to the code */
    assert_int_equal(cfg->perspectives[1].rir, RIR_RIPE_NCC);
    assert_int_equal(cfg->perspectives[2].rir, RIR_APNIC);
    assert_int_equal(cfg->jobs_maxlen, 5000);
    assert_int_equal(cfg->results_maxlen, 6000);
    assert_int_equal(cfg->replies_maxlen, 700);
    assert_int_equal(cfg->job_visibility_timeout_ms, 4000);
    assert_int_equal(cfg->result_visibility_timeout_ms, 4500);
    assert_string_equal(cfg->listen.host, "0.0.0.0");
    assert_int_equal(cfg->listen.port, 9090);
    assert_int_equal(cfg->default_perspective_count, 3);
    assert_string_equal(cfg->cohort_secret, "0123456789abcdef");
    assert_int_equal(cfg->ncaa_domains, 2);
    assert_string_equal(cfg->caa_domains[0], "ca.test");
    assert_string_equal(cfg->caa_domains[1], "other-ca.test");
    assert_int_equal(cfg->deadline_ms, 7000);
    assert_int_equal(cfg->min_deadline_ms, 200);
    assert_int_equal(cfg->max_deadline_ms, 90000);
    assert_int_equal(cfg->straggler_grace_ms, 0);
    assert_false(cfg->enforce_br_phase_in);
    assert_int_equal(cfg->absolute_max_attempts, 3);
    assert_int_equal(cfg->result_retention_s, 3600);
    assert_int_equal(cfg->max_inflight_requests, 50);
    assert_int_equal(cfg->http_timeout_ms, 15000);
    assert_true(cfg->clock_override_ms == 1773532800000);
    assert_string_equal(cfg->worker_perspective, "eu-west-1");
    assert_true(cfg->worker_listen_set);
    assert_string_equal(cfg->worker_listen.host, "127.0.0.2");
    assert_int_equal(cfg->worker_listen.port, 8181);
    assert_int_equal(cfg->nresolvers, 3);
    assert_string_equal(cfg->resolvers[0], "10.0.0.1");
    assert_string_equal(cfg->resolvers[1], "[2001:db8::1]:5353");
    assert_int_equal(cfg->dns_timeout_ms, 900);
    assert_int_equal(cfg->dns_tries, 4);
    assert_int_equal(cfg->dns_socket_queries, 1);
    assert_int_equal(cfg->dns_socket_max_ms, 50);
    assert_int_equal(cfg->http_connect_timeout_ms, 1200);
    assert_int_equal(cfg->worker_http_timeout_ms, 3300);
    assert_int_equal(cfg->max_inflight_jobs, 77);
    assert_string_equal(cfg->user_agent, "ua/9");
    assert_true(cfg->lab_allow_private_targets);
    assert_int_equal(cfg->lab_http_port, 5002);
    assert_int_equal(cfg->lab_https_port, 5001);
    assert_int_equal(cfg->lab_tls_alpn_port, 5003);

    assert_int_equal(config_validate(cfg, false, err, sizeof(err)), 0);
    assert_int_equal(config_validate(cfg, true, err, sizeof(err)), 0);
    p = config_find_perspective(cfg, "ap-south-1");
    assert_ptr_equal(p, &cfg->perspectives[2]);
    assert_null(config_find_perspective(cfg, "ap-south"));
    assert_null(config_find_perspective(cfg, ""));
    free(cfg);
}

/* A later load overrides only the keys it names; null strings / listen reset to empty. */
static void test_layered_load(void **state)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[256];
    (void)state;

    assert_int_equal(load(cfg, full_config, err, sizeof(err)), 0);
    assert_int_equal(config_load_string(cfg,
                                        "{\"redis\":{\"password\":null},\"worker\":{\"listen\":null,"
                                        "\"resolvers\":[\"9.9.9.9:53\"]},\"coordinator\":{"
                                        "\"clock_override\":null,\"caa_domains\":[\"x.test\"]}}",
                                        err, sizeof(err)),
                     0);
    assert_string_equal(cfg->redis_password, "");
    assert_string_equal(cfg->redis_username, "u");
    assert_false(cfg->worker_listen_set);
    assert_int_equal(cfg->nresolvers, 1);
    assert_string_equal(cfg->resolvers[0], "9.9.9.9:53");
    assert_true(cfg->clock_override_ms == -1);
    assert_int_equal(cfg->ncaa_domains, 1);
    assert_int_equal(cfg->nperspectives, 3);
    assert_int_equal(cfg->lab_http_port, 5002);
    free(cfg);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_load_error("{\"bogus\":1}", "bogus");
    expect_load_error("{\"lab\":{}}", "lab");
    expect_load_error("{\"redis\":{\"adress\":\"127.0.0.1:1\"}}", "redis.adress");
    expect_load_error("{\"streams\":{\"jobs_max\":100}}", "streams.jobs_max");
    expect_load_error("{\"coordinator\":{\"deadline\":100}}", "coordinator.deadline");
    expect_load_error("{\"coordinator\":{\"lab\":{}}}", "coordinator.lab");
    expect_load_error("{\"coordinator\":{\"perspective\":\"x\"}}", "coordinator.perspective");
    expect_load_error("{\"worker\":{\"cohort_secret\":\"x\"}}", "worker.cohort_secret");
    expect_load_error("{\"worker\":{\"lab\":{\"http_prot\":80}}}", "worker.lab.http_prot");
    expect_load_error("{\"worker\":{\"lab\":{\"lab\":{}}}}", "worker.lab.lab");
    expect_load_error("{\"redis\":{\"redis\":{}}}", "redis.redis");
    expect_load_error("{\"perspectives\":[{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1,"
                      "\"longitude\":1,\"lat\":2}]}",
                      "perspectives[0].lat");
    expect_load_error("{\"perspectives\":[{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1,"
                      "\"longitude\":1},{\"code\":\"b\",\"rir\":\"ARIN\",\"latitude\":1,"
                      "\"longitude\":1,\"Region\":\"x\"}]}",
                      "perspectives[1].Region");
}

static void test_wrong_types_and_ranges(void **state)
{
    char longstr[300];
    char json[512];
    (void)state;

    expect_load_error("[]", "JSON object");
    expect_load_error("{\"log_level\":", "invalid JSON");
    expect_load_error("{\"log_level\":\"info\",\"log_level\":\"debug\"}", "invalid JSON");
    expect_load_error("{\"log_level\":\"verbose\"}", "log_level");
    expect_load_error("{\"log_level\":3}", "log_level");
    expect_load_error("{\"key_prefix\":5}", "key_prefix");
    memset(longstr, 'a', 32);
    longstr[32] = '\0';
    snprintf(json, sizeof(json), "{\"key_prefix\":\"%s\"}", longstr);
    expect_load_error(json, "key_prefix");
    expect_load_error("{\"redis\":5}", "redis");
    expect_load_error("{\"redis\":{\"address\":\"localhost:6379\"}}", "redis.address");
    expect_load_error("{\"redis\":{\"address\":\"127.0.0.1\"}}", "redis.address");
    expect_load_error("{\"redis\":{\"address\":\"127.0.0.1:0\"}}", "redis.address");
    expect_load_error("{\"redis\":{\"address\":\"127.0.0.1:65536\"}}", "redis.address");
    expect_load_error("{\"redis\":{\"address\":6379}}", "redis.address");
    expect_load_error("{\"redis\":{\"connect_timeout_ms\":\"1000\"}}", "redis.connect_timeout_ms");
    expect_load_error("{\"redis\":{\"connect_timeout_ms\":9}}", "redis.connect_timeout_ms");
    expect_load_error("{\"redis\":{\"command_timeout_ms\":600001}}", "redis.command_timeout_ms");
    expect_load_error("{\"redis\":{\"command_timeout_ms\":1000.0}}", "redis.command_timeout_ms");
    expect_load_error("{\"redis\":{\"command_timeout_ms\":4294968296}}",
                      "redis.command_timeout_ms");
    expect_load_error("{\"redis\":{\"username\":[]}}", "redis.username");
    expect_load_error("{\"streams\":[]}", "streams");
    expect_load_error("{\"streams\":{\"jobs_maxlen\":99}}", "streams.jobs_maxlen");
    expect_load_error("{\"streams\":{\"replies_maxlen\":null}}", "streams.replies_maxlen");
    expect_load_error("{\"streams\":{\"job_visibility_timeout_ms\":3600001}}",
                      "streams.job_visibility_timeout_ms");
    expect_load_error("{\"coordinator\":{\"listen\":\"0.0.0.0\"}}", "coordinator.listen");
    expect_load_error("{\"coordinator\":{\"default_perspective_count\":1}}",
                      "coordinator.default_perspective_count");
    expect_load_error("{\"coordinator\":{\"default_perspective_count\":65}}",
                      "coordinator.default_perspective_count");
    expect_load_error("{\"coordinator\":{\"enforce_br_phase_in\":1}}",
                      "coordinator.enforce_br_phase_in");
    expect_load_error("{\"coordinator\":{\"enforce_br_phase_in\":\"true\"}}",
                      "coordinator.enforce_br_phase_in");
    expect_load_error("{\"coordinator\":{\"absolute_max_attempts\":0}}",
                      "coordinator.absolute_max_attempts");
    expect_load_error("{\"coordinator\":{\"absolute_max_attempts\":101}}",
                      "coordinator.absolute_max_attempts");
    expect_load_error("{\"coordinator\":{\"straggler_grace_ms\":-1}}",
                      "coordinator.straggler_grace_ms");
    expect_load_error("{\"coordinator\":{\"clock_override\":\"2024-13-01\"}}",
                      "coordinator.clock_override");
    expect_load_error("{\"coordinator\":{\"clock_override\":\"2023-02-29\"}}",
                      "coordinator.clock_override");
    expect_load_error("{\"coordinator\":{\"clock_override\":20240101}}",
                      "coordinator.clock_override");
    expect_load_error("{\"coordinator\":{\"caa_domains\":\"ca.test\"}}", "coordinator.caa_domains");
    expect_load_error("{\"coordinator\":{\"caa_domains\":[\"\"]}}", "coordinator.caa_domains[0]");
    expect_load_error("{\"coordinator\":{\"caa_domains\":[\"a\",1]}}",
                      "coordinator.caa_domains[1]");
    expect_load_error("{\"coordinator\":{\"caa_domains\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\","
                      "\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\",\"r\","
                      "\"s\",\"t\",\"u\",\"v\",\"w\",\"x\",\"y\",\"z\",\"aa\",\"ab\",\"ac\","
                      "\"ad\",\"ae\",\"af\",\"ag\"]}}",
                      "coordinator.caa_domains");
    memset(longstr, 'c', 256);
    longstr[256] = '\0';
    snprintf(json, sizeof(json), "{\"coordinator\":{\"cohort_secret\":\"%s\"}}", longstr);
    expect_load_error(json, "coordinator.cohort_secret");
    expect_load_error("{\"worker\":7}", "worker");
    expect_load_error("{\"worker\":{\"perspective\":7}}", "worker.perspective");
    expect_load_error("{\"worker\":{\"listen\":5}}", "worker.listen");
    expect_load_error("{\"worker\":{\"listen\":\"example.com:80\"}}", "worker.listen");
    expect_load_error("{\"worker\":{\"resolvers\":[]}}", "worker.resolvers");
    expect_load_error("{\"worker\":{\"resolvers\":\"1.1.1.1\"}}", "worker.resolvers");
    expect_load_error("{\"worker\":{\"resolvers\":[\"1.1.1.1\",\"dns.google\"]}}",
                      "worker.resolvers[1]");
    expect_load_error("{\"worker\":{\"resolvers\":[\"1.1.1.1:0\"]}}", "worker.resolvers[0]");
    expect_load_error("{\"worker\":{\"resolvers\":[\"1.1.1.1\",\"1.1.1.2\",\"1.1.1.3\","
                      "\"1.1.1.4\",\"1.1.1.5\"]}}",
                      "worker.resolvers");
    expect_load_error("{\"worker\":{\"dns_tries\":true}}", "worker.dns_tries");
    expect_load_error("{\"worker\":{\"dns_tries\":11}}", "worker.dns_tries");
    expect_load_error("{\"worker\":{\"dns_socket_queries\":0}}", "worker.dns_socket_queries");
    expect_load_error("{\"worker\":{\"dns_socket_max_ms\":\"1s\"}}",
                      "worker.dns_socket_max_ms");
    expect_load_error("{\"worker\":{\"max_inflight_jobs\":0}}", "worker.max_inflight_jobs");
    memset(longstr, 'u', 128);
    longstr[128] = '\0';
    snprintf(json, sizeof(json), "{\"worker\":{\"user_agent\":\"%s\"}}", longstr);
    expect_load_error(json, "worker.user_agent");
    expect_load_error("{\"worker\":{\"lab\":[]}}", "worker.lab");
    expect_load_error("{\"worker\":{\"lab\":{\"http_port\":0}}}", "worker.lab.http_port");
    expect_load_error("{\"worker\":{\"lab\":{\"https_port\":65536}}}", "worker.lab.https_port");
    expect_load_error("{\"worker\":{\"lab\":{\"allow_private_targets\":null}}}",
                      "worker.lab.allow_private_targets");
}

/* Range boundaries are inclusive. */
static void test_range_boundaries_accepted(void **state)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[256];
    (void)state;

    assert_int_equal(load(cfg,
                          "{\"redis\":{\"connect_timeout_ms\":10,\"command_timeout_ms\":600000},"
                          "\"worker\":{\"lab\":{\"http_port\":1,\"https_port\":65535},"
                          "\"dns_tries\":10},\"coordinator\":{\"default_perspective_count\":64,"
                          "\"straggler_grace_ms\":60000}}",
                          err, sizeof(err)),
                     0);
    assert_int_equal(cfg->redis_connect_timeout_ms, 10);
    assert_int_equal(cfg->redis_command_timeout_ms, 600000);
    assert_int_equal(cfg->lab_http_port, 1);
    assert_int_equal(cfg->lab_https_port, 65535);
    assert_int_equal(cfg->dns_tries, 10);
    assert_int_equal(cfg->default_perspective_count, 64);
    free(cfg);
}

#define PSP(body) "{\"perspectives\":[" body "]}"
#define GOOD_A "{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1,\"longitude\":2}"

/* {"perspectives":[n entries p0..p(n-1)]} */
static void many_perspectives(char *json, size_t len, int n)
{
    size_t off = (size_t)snprintf(json, len, "{\"perspectives\":[");
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(json + off, len - off,
                                "%s{\"code\":\"p%d\",\"rir\":\"ARIN\",\"latitude\":%d,"
                                "\"longitude\":0}",
                                i ? "," : "", i, i % 90);
    assert_true(off + 3 < len);
    snprintf(json + off, len - off, "]}");
}

static void test_perspective_parsing(void **state)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[256];
    char json[8192];
    (void)state;

    expect_load_error("{\"perspectives\":{}}", "perspectives");
    expect_load_error(PSP(GOOD_A ",5"), "perspectives[1]");
    expect_load_error(PSP("{\"rir\":\"ARIN\",\"latitude\":1,\"longitude\":2}"),
                      "perspectives[0].code");
    expect_load_error(PSP("{\"code\":\"US-EAST\",\"rir\":\"ARIN\",\"latitude\":1,\"longitude\":2}"),
                      "perspectives[0].code");
    expect_load_error(PSP("{\"code\":\"-a\",\"rir\":\"ARIN\",\"latitude\":1,\"longitude\":2}"),
                      "perspectives[0].code");
    expect_load_error(PSP("{\"code\":\"a\",\"region\":\"a_b\",\"rir\":\"ARIN\",\"latitude\":1,"
                          "\"longitude\":2}"),
                      "perspectives[0].region");
    expect_load_error(PSP("{\"code\":\"a\",\"region\":5,\"rir\":\"ARIN\",\"latitude\":1,"
                          "\"longitude\":2}"),
                      "perspectives[0].region");
    expect_load_error(PSP("{\"code\":\"a\",\"rir\":\"ARINN\",\"latitude\":1,\"longitude\":2}"),
                      "perspectives[0].rir");
    expect_load_error(PSP("{\"code\":\"a\",\"latitude\":1,\"longitude\":2}"),
                      "perspectives[0].rir");
    expect_load_error(PSP(GOOD_A ",{\"code\":\"b\",\"rir\":\"ARIN\",\"longitude\":2}"),
                      "perspectives[1].latitude");
    expect_load_error(PSP("{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1}"),
                      "perspectives[0].latitude/longitude");
    expect_load_error(PSP("{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":90.01,\"longitude\":2}"),
                      "perspectives[0].latitude");
    expect_load_error(PSP("{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":-91,\"longitude\":2}"),
                      "perspectives[0].latitude");
    expect_load_error(PSP("{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1,\"longitude\":180.5}"),
                      "perspectives[0].latitude/longitude");
    expect_load_error(PSP("{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1,\"longitude\":-181}"),
                      "perspectives[0].latitude/longitude");
    expect_load_error(PSP("{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":\"1\",\"longitude\":2}"),
                      "perspectives[0].latitude");

    /* boundaries, RIR spellings, integer coordinates */
    assert_int_equal(load(cfg,
                          PSP("{\"code\":\"n\",\"rir\":\"RIPE\",\"latitude\":90,\"longitude\":180},"
                              "{\"code\":\"s\",\"rir\":\"lacnic\",\"latitude\":-90,"
                              "\"longitude\":-180},"
                              "{\"code\":\"x.1-2\",\"rir\":\"AfriNIC\",\"latitude\":0,"
                              "\"longitude\":0}"),
                          err, sizeof(err)),
                     0);
    assert_int_equal(cfg->nperspectives, 3);
    assert_int_equal(cfg->perspectives[0].rir, RIR_RIPE_NCC);
    assert_int_equal(cfg->perspectives[1].rir, RIR_LACNIC);
    assert_int_equal(cfg->perspectives[2].rir, RIR_AFRINIC);
    assert_true(cfg->perspectives[1].lat == -90.0 && cfg->perspectives[1].lon == -180.0);

    /* 64 perspectives fit, 65 do not */
    many_perspectives(json, sizeof(json), CONFIG_MAX_PERSPECTIVES + 1);
    expect_load_error(json, "perspectives: at most");
    many_perspectives(json, sizeof(json), CONFIG_MAX_PERSPECTIVES);
    assert_int_equal(load(cfg, json, err, sizeof(err)), 0);
    assert_int_equal(cfg->nperspectives, CONFIG_MAX_PERSPECTIVES);
    assert_string_equal(cfg->perspectives[CONFIG_MAX_PERSPECTIVES - 1].code, "p63");
    free(cfg);
}

#define VALID_COORD                                                                                \
    "\"coordinator\":{\"default_perspective_count\":3,\"cohort_secret\":\"12345678\","             \
    "\"caa_domains\":[\"ca.test\"]}"

static void test_validate(void **state)
{
    (void)state;

    expect_validate_error("{}", false, "perspectives");
    expect_validate_error("{}", true, "perspectives");
    expect_valid("{" P3 "," VALID_COORD "}", false);
    /* duplicates */
    expect_validate_error(PSP(GOOD_A ",{\"code\":\"b\",\"rir\":\"ARIN\",\"latitude\":1,"
                                     "\"longitude\":2}," GOOD_A),
                          true, "perspectives[2].code: duplicate");
    expect_validate_error(PSP(GOOD_A ",{\"code\":\"b\",\"region\":\"a\",\"rir\":\"ARIN\","
                                     "\"latitude\":1,\"longitude\":2}"),
                          false, "perspectives[1].region");
    /* key prefix syntax */
    expect_validate_error("{\"key_prefix\":\"MPIC\"," P3 "," VALID_COORD "}", false,
                          "key_prefix");
    expect_validate_error("{\"key_prefix\":\"\"," P3 "," VALID_COORD "}", true, "key_prefix");
    expect_validate_error("{\"key_prefix\":\"a:b\"," P3 "," VALID_COORD "}", false,
                          "key_prefix");

    /* worker */
    expect_validate_error("{" P3 "}", true, "worker.perspective");
    expect_validate_error("{" P3 ",\"worker\":{\"perspective\":\"eu-west-2\"}}", true,
                          "worker.perspective");
    expect_valid("{" P3 ",\"worker\":{\"perspective\":\"ap-south-1\"}}", true);
    /* the worker does not care about coordinator-only keys */
    expect_valid("{" P3 ",\"worker\":{\"perspective\":\"us-east-1\"},\"coordinator\":{"
                 "\"cohort_secret\":\"short\"}}",
                 true);

    /* coordinator */
    expect_validate_error("{" P3 ",\"coordinator\":{\"cohort_secret\":\"12345678\","
                          "\"caa_domains\":[\"ca.test\"]}}",
                          false, "coordinator.default_perspective_count");
    expect_validate_error("{" P3 ",\"coordinator\":{\"default_perspective_count\":3,"
                          "\"cohort_secret\":\"1234567\",\"caa_domains\":[\"ca.test\"]}}",
                          false, "coordinator.cohort_secret");
    expect_validate_error("{" P3 ",\"coordinator\":{\"default_perspective_count\":3,"
                          "\"caa_domains\":[\"ca.test\"]}}",
                          false, "coordinator.cohort_secret");
    expect_validate_error("{" P3 ",\"coordinator\":{\"default_perspective_count\":2,"
                          "\"cohort_secret\":\"12345678\"}}",
                          false, "coordinator.caa_domains");
    expect_validate_error("{" P3 ",\"coordinator\":{\"default_perspective_count\":2,"
                          "\"cohort_secret\":\"12345678\",\"caa_domains\":[]}}",
                          false, "coordinator.caa_domains");
    expect_validate_error("{" P3 ",\"coordinator\":{\"default_perspective_count\":3,"
                          "\"cohort_secret\":\"12345678\",\"caa_domains\":[\"ca.test\"],"
                          "\"deadline_ms\":400}}",
                          false, "coordinator.deadline_ms");
    expect_validate_error("{" P3 ",\"coordinator\":{\"default_perspective_count\":3,"
                          "\"cohort_secret\":\"12345678\",\"caa_domains\":[\"ca.test\"],"
                          "\"deadline_ms\":60001}}",
                          false, "coordinator.deadline_ms");
    expect_validate_error("{" P3 ",\"coordinator\":{\"default_perspective_count\":3,"
                          "\"cohort_secret\":\"12345678\",\"caa_domains\":[\"ca.test\"],"
                          "\"deadline_ms\":1000,\"min_deadline_ms\":2000,"
                          "\"max_deadline_ms\":1500}}",
                          false, "coordinator.deadline_ms");
    /* deadline exactly on both bounds is fine */
    expect_valid("{" P3 ",\"coordinator\":{\"default_perspective_count\":3,"
                 "\"cohort_secret\":\"12345678\",\"caa_domains\":[\"ca.test\"],"
                 "\"deadline_ms\":1000,\"min_deadline_ms\":1000,\"max_deadline_ms\":1000}}",
                 false);
}

/* primary_perspective must name a configured perspective; dnssec is "required"/"optional". */
static void test_primary_and_dnssec(void **state)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[512];
    (void)state;

    expect_valid("{\"primary_perspective\":\"eu-west-1\"," P3 "," VALID_COORD "}", false);
    expect_validate_error("{\"primary_perspective\":\"nowhere\"," P3 "," VALID_COORD "}",
                          false, "primary_perspective");
    expect_validate_error("{\"primary_perspective\":\"nowhere\"," P3 "}", true,
                          "primary_perspective");
    expect_load_error("{\"primary_perspective\":7}", "primary_perspective");
    expect_load_error("{\"perspectives\":[{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1,"
                      "\"longitude\":2,\"dnssec\":\"maybe\"}]}", "perspectives[0].dnssec");
    expect_load_error("{\"perspectives\":[{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1,"
                      "\"longitude\":2,\"dnssec\":true}]}", "perspectives[0].dnssec");

    assert_int_equal(load(cfg, "{\"primary_perspective\":\"ap-south-1\",\"perspectives\":["
                               "{\"code\":\"a\",\"rir\":\"ARIN\",\"latitude\":1,"
                               "\"longitude\":2,\"dnssec\":\"required\"},"
                               "{\"code\":\"b\",\"rir\":\"ARIN\",\"latitude\":1,"
                               "\"longitude\":2,\"dnssec\":\"optional\"},"
                               "{\"code\":\"ap-south-1\",\"rir\":\"APNIC\",\"latitude\":1,"
                               "\"longitude\":2}]}", err, sizeof(err)), 0);
    assert_true(config_dnssec_required(cfg, "a"));
    assert_false(config_dnssec_required(cfg, "b"));
    assert_true(config_dnssec_required(cfg, "ap-south-1")); /* the primary always validates */
    assert_false(config_dnssec_required(cfg, "unknown"));
    assert_string_equal(config_primary(cfg)->code, "ap-south-1");
    config_defaults(cfg);
    assert_null(config_primary(cfg));
    free(cfg);
}

static void test_parse_date(void **state)
{
    static const char *const bad[] = {
        "2023-02-29", "2024-02-30", "2024-04-31", "2024-13-01", "2024-00-10", "2024-01-00",
        "2024-01-32", "2024-1-01",  "2024/01/01", "24-01-01",   "2024-01-01T00:00",
        "",           "1969-12-31", "abcd-01-01", "2024-+1-01", "2024- 1-01", " 024-01-01",
        "2024-01-1 ", "2024-01--1", "10000-01-01", "2024_01_01", "+024-01-01",
    };
    int64_t ms = 42;
    (void)state;

    assert_int_equal(config_parse_date("1970-01-01", &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(config_parse_date("2024-02-29", &ms), 0); /* leap day */
    assert_true(ms == 1709164800000);
    assert_int_equal(config_parse_date("2000-02-29", &ms), 0); /* 400-year leap */
    assert_true(ms == 951782400000);
    assert_int_equal(config_parse_date("2026-03-15", &ms), 0);
    assert_true(ms == 1773532800000);
    assert_int_equal(config_parse_date("9999-12-31", &ms), 0);
    assert_true(ms == 253402214400000);
    assert_int_equal(config_parse_date("1900-02-29", &ms), -1);
    assert_int_equal(config_parse_date("2100-02-29", &ms), -1); /* century, not leap */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 42;
        if (config_parse_date(bad[i], &ms) != -1) fail_msg("accepted date \"%s\"", bad[i]);
    }
    assert_int_equal(config_parse_date(NULL, &ms), -1);
}

/* metrics.* and alerts.* (coordinator observability): defaults, values, bad URLs */
static void test_metrics_and_alerts(void **state)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char err[512];

    (void)state;
    config_defaults(cfg);
    assert_int_equal(cfg->metrics_anomaly_window_s, 600);
    assert_int_equal(cfg->metrics_stream_sample_ms, 5000);
    assert_int_equal(cfg->alerts_stream_maxlen, 10000);
    assert_int_equal(cfg->nalert_webhooks, 0);
    assert_int_equal(load(cfg,
                          "{\"metrics\":{\"anomaly_window_s\":60,\"stream_sample_ms\":200},"
                          "\"alerts\":{\"webhooks\":[\"http://127.0.0.1:9/a\","
                          "\"https://alerts.example/x\"],\"webhook_max_tries\":3,"
                          "\"webhook_backoff_ms\":50,\"webhook_queue_max\":10,"
                          "\"webhook_timeout_ms\":1000,\"stream_maxlen\":500}}",
                          err, sizeof(err)),
                     0);
    assert_int_equal(cfg->metrics_anomaly_window_s, 60);
    assert_int_equal(cfg->metrics_stream_sample_ms, 200);
    assert_int_equal(cfg->nalert_webhooks, 2);
    assert_string_equal(cfg->alert_webhooks[1], "https://alerts.example/x");
    assert_int_equal(cfg->alert_webhook_max_tries, 3);
    assert_int_equal(cfg->alert_webhook_backoff_ms, 50);
    assert_int_equal(cfg->alert_webhook_queue_max, 10);
    assert_int_equal(cfg->alert_webhook_timeout_ms, 1000);
    assert_int_equal(cfg->alerts_stream_maxlen, 500);
    free(cfg);
    expect_load_error("{\"alerts\":{\"webhooks\":[\"ftp://x/\"]}}", "alerts.webhooks[0]");
    expect_load_error("{\"alerts\":{\"webhooks\":\"http://x/\"}}", "alerts.webhooks");
    expect_load_error("{\"alerts\":{\"webhooks\":[\"http://1/\",\"http://2/\","
                      "\"http://3/\",\"http://4/\",\"http://5/\",\"http://6/\","
                      "\"http://7/\",\"http://8/\",\"http://9/\"]}}",
                      "alerts.webhooks");
    expect_load_error("{\"alerts\":{\"webhook_max_tries\":0}}", "alerts.webhook_max_tries");
    expect_load_error("{\"metrics\":{\"anomaly_window_s\":5}}", "metrics.anomaly_window_s");
    expect_load_error("{\"metrics\":{\"bogus\":1}}", "metrics.bogus");
}

static void test_load_file(void **state)
{
    struct config *cfg = malloc(sizeof(*cfg));
    char path[] = "/tmp/mpic-test-config-XXXXXX";
    char err[512];
    int fd = mkstemp(path);
    FILE *f;
    (void)state;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs(full_config, f);
    fclose(f);
    config_defaults(cfg);
    assert_int_equal(config_load_file(cfg, path, err, sizeof(err)), 0);
    assert_string_equal(cfg->key_prefix, "lab-1");
    assert_int_equal(cfg->nperspectives, 3);

    f = fopen(path, "w");
    fputs("{\"worker\":{\"lab\":{\"nope\":1}}}", f);
    fclose(f);
    assert_int_equal(config_load_file(cfg, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "worker.lab.nope"));
    f = fopen(path, "w");
    fputs("{\"worker\":", f);
    fclose(f);
    assert_int_equal(config_load_file(cfg, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    f = fopen(path, "w");
    fputs("\"just a string\"", f);
    fclose(f);
    assert_int_equal(config_load_file(cfg, path, err, sizeof(err)), -1);
    unlink(path);
    assert_int_equal(config_load_file(cfg, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_layered_load),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types_and_ranges),
        cmocka_unit_test(test_range_boundaries_accepted),
        cmocka_unit_test(test_perspective_parsing),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_primary_and_dnssec),
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_metrics_and_alerts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
