/*
 * Tests for common/tlsconf.c through config_load_string: the `coordinator.tls` section
 * (defaults, every error names its key) and the coordinator.request_read_timeout_ms /
 * max_connections keys. Building the SSL_CTX is covered end to end by test_tls_listener.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "config.h"

static int load(struct config *cfg, const char *coordinator, char *err, size_t errlen)
{
    char json[1024];

    snprintf(json, sizeof(json), "{\"coordinator\":{%s}}", coordinator);
    config_defaults(cfg);
    err[0] = '\0';
    return config_load_string(cfg, json, err, errlen);
}

static void test_defaults(void **state)
{
    static struct config cfg;
    char err[256];

    assert_int_equal(load(&cfg, "\"tls\":null", err, sizeof(err)), 0);
    assert_false(cfg.tls.enabled);
    assert_int_equal(cfg.request_read_timeout_ms, 10000);
    assert_int_equal(cfg.max_connections, 4096);
    assert_int_equal(load(&cfg, "\"request_read_timeout_ms\":2500,\"max_connections\":7", err,
                          sizeof(err)), 0);
    assert_int_equal(cfg.request_read_timeout_ms, 2500);
    assert_int_equal(cfg.max_connections, 7);
}

static void test_parsed(void **state)
{
    static struct config cfg;
    char err[256];

    assert_int_equal(load(&cfg, "\"tls\":{\"cert_file\":\"/c.pem\",\"key_file\":\"/k.pem\","
                                "\"client_ca_file\":\"/ca.pem\",\"require_client_cert\":true}",
                          err, sizeof(err)), 0);
    assert_true(cfg.tls.enabled);
    assert_string_equal(cfg.tls.cert_file, "/c.pem");
    assert_string_equal(cfg.tls.key_file, "/k.pem");
    assert_string_equal(cfg.tls.client_ca_file, "/ca.pem");
    assert_true(cfg.tls.require_client_cert);
    assert_int_equal(load(&cfg, "\"tls\":{\"cert_file\":\"/c.pem\",\"key_file\":\"/k.pem\"}",
                          err, sizeof(err)), 0);
    assert_true(cfg.tls.enabled);
    assert_string_equal(cfg.tls.client_ca_file, "");
    assert_false(cfg.tls.require_client_cert);
}

static void test_errors_name_the_key(void **state)
{
    static const struct {
        const char *json, *key;
    } cases[] = {
        {"\"tls\":true", "coordinator.tls:"},
        {"\"tls\":{\"key_file\":\"/k\"}", "coordinator.tls.cert_file"},
        {"\"tls\":{\"cert_file\":\"/c\"}", "coordinator.tls.key_file"},
        {"\"tls\":{\"cert_file\":\"\",\"key_file\":\"/k\"}", "coordinator.tls.cert_file"},
        {"\"tls\":{\"cert_file\":\"/c\",\"key_file\":5}", "coordinator.tls.key_file"},
        {"\"tls\":{\"cert_file\":\"/c\",\"key_file\":\"/k\",\"client_ca_file\":[]}",
         "coordinator.tls.client_ca_file"},
        {"\"tls\":{\"cert_file\":\"/c\",\"key_file\":\"/k\",\"require_client_cert\":1}",
         "coordinator.tls.require_client_cert"},
        {"\"tls\":{\"cert_file\":\"/c\",\"key_file\":\"/k\",\"require_client_cert\":true}",
         "coordinator.tls.require_client_cert"},
        {"\"tls\":{\"cert_file\":\"/c\",\"key_file\":\"/k\",\"ciphers\":\"x\"}",
         "coordinator.tls.ciphers"},
        {"\"request_read_timeout_ms\":99", "coordinator.request_read_timeout_ms"},
        {"\"max_connections\":0", "coordinator.max_connections"},
    };
    static struct config cfg;
    char err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(load(&cfg, cases[i].json, err, sizeof(err)), -1);
        if (strstr(err, cases[i].key) == NULL) fail_msg("%s -> %s", cases[i].json, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_parsed),
        cmocka_unit_test(test_errors_name_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
