/*
 * Tests for common/secconf.c through config_load_string: the `seal` and
 * `coordinator.api_auth` sections (errors name the key), and secconf_load (a worker loads
 * only its own keys, every perspective needs a sealing key, seal.required without keys,
 * redis.password_file with strict permissions).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define P2 "\"perspectives\":[" \
    "{\"code\":\"pa\",\"rir\":\"ARIN\",\"latitude\":39.04,\"longitude\":-77.49}," \
    "{\"code\":\"pb\",\"rir\":\"RIPE NCC\",\"latitude\":53.35,\"longitude\":-6.26}]"
#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char dir[] = "/tmp/mpic-secconf-XXXXXX";

static void write_file(const char *name, const char *text, mode_t mode)
{
    char path[128];
    int fd;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL) return -1;
    write_file("pa.key", HEX64 "\n", 0600);
    write_file("pb.key", HEX64 "\n", 0600);
    write_file("pw", "s3cret pass\n", 0600);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Loads json; returns the config (caller frees) or NULL with err. */
static struct config *load(const char *json, char *err, size_t errlen)
{
    struct config *cfg = malloc(sizeof(*cfg));
    config_defaults(cfg);
    if (config_load_string(cfg, json, err, errlen) != 0) {
        free(cfg);
        return NULL;
    }
    return cfg;
}

static void expect_error(const char *json, const char *needle)
{
    char err[512] = "";
    struct config *cfg = load(json, err, sizeof(err));
    if (cfg != NULL) {
        free(cfg);
        fail_msg("accepted: %s", json);
    }
    if (strstr(err, needle) == NULL) fail_msg("error \"%s\" does not name \"%s\"", err, needle);
}

static void test_parse_errors_name_the_key(void **state)
{
    (void)state;
    expect_error("{\"seal\":{\"bogus\":1}}", "seal.bogus");
    expect_error("{\"seal\":{\"required\":1}}", "seal.required");
    expect_error("{\"seal\":{\"keys\":[{\"perspective\":\"pa\",\"id\":0,\"file\":\"/x\"}]}}",
                 "seal.keys[0].id");
    expect_error("{\"seal\":{\"keys\":[{\"perspective\":\"pa\",\"id\":1}]}}",
                 "seal.keys[0].file");
    expect_error("{\"seal\":{\"keys\":[{\"perspective\":\"pa\",\"id\":1,\"file\":\"/x\"},"
                 "{\"perspective\":\"pa\",\"id\":1,\"file\":\"/y\"}]}}", "duplicate");
    expect_error("{\"coordinator\":{\"api_auth\":{\"keys\":[{\"name\":\"a\",\"sha256\":\"xy\"}]}}}",
                 "coordinator.api_auth.keys[0].sha256");
    expect_error("{\"coordinator\":{\"api_auth\":{\"keys\":[{\"name\":\"a\",\"sha256\":\"" HEX64
                 "\",\"routes\":[\"admin\"]}]}}}", "routes[0]");
    expect_error("{\"coordinator\":{\"api_auth\":{\"healthz\":\"yes\"}}}", "api_auth.healthz");
}

static void test_api_auth_parsed(void **state)
{
    char err[512];
    struct config *cfg = load("{\"coordinator\":{\"api_auth\":{\"metrics\":true,\"keys\":["
                              "{\"name\":\"ca\",\"sha256\":\"" HEX64 "\"},"
                              "{\"name\":\"mon\",\"sha256\":\"" HEX64 "\",\"routes\":[\"healthz\"]}"
                              "]}}}", err, sizeof(err));
    (void)state;
    assert_non_null(cfg);
    assert_int_equal(cfg->sec.napi_keys, 2);
    assert_int_equal(cfg->sec.api_keys[0].routes, SECCONF_ROUTE_ALL);
    assert_int_equal(cfg->sec.api_keys[1].routes, SECCONF_ROUTE_HEALTHZ);
    assert_int_equal(cfg->sec.api_keys[0].sha256[1], 0x11);
    assert_true(cfg->sec.auth_metrics);
    assert_false(cfg->sec.auth_healthz);
    free(cfg);
}

static int load_keys(const char *seal, const char *self, char *err, size_t errlen,
                     struct config **out)
{
    char json[2048];
    int rc;
    snprintf(json, sizeof(json), "{" P2 ",\"redis\":{\"password_file\":\"%s/pw\"},%s}", dir,
             seal);
    *out = load(json, err, errlen);
    assert_non_null(*out);
    rc = secconf_load(&(*out)->sec, (*out)->perspectives, (*out)->nperspectives, self,
                      (*out)->redis_password, sizeof((*out)->redis_password), err, errlen);
    return rc;
}

static void test_load(void **state)
{
    char seal[1024], err[512];
    struct config *cfg;
    (void)state;

    snprintf(seal, sizeof(seal), "\"seal\":{\"keys\":["
             "{\"perspective\":\"pa\",\"id\":1,\"file\":\"%s/pa.key\"},"
             "{\"perspective\":\"pb\",\"id\":1,\"file\":\"%s/missing-on-this-host\"}]}",
             dir, dir);
    /* a worker of pa never opens pb's file */
    assert_int_equal(load_keys(seal, "pa", err, sizeof(err), &cfg), 0);
    assert_int_equal(cfg->sec.keyring.n, 1);
    assert_string_equal(cfg->redis_password, "s3cret pass");
    free(cfg);
    /* the coordinator needs every file */
    assert_int_equal(load_keys(seal, NULL, err, sizeof(err), &cfg), -1);
    assert_non_null(strstr(err, "missing-on-this-host"));
    free(cfg);
    /* every perspective needs a key once sealing is configured */
    snprintf(seal, sizeof(seal), "\"seal\":{\"keys\":["
             "{\"perspective\":\"pa\",\"id\":1,\"file\":\"%s/pa.key\"}]}", dir);
    assert_int_equal(load_keys(seal, NULL, err, sizeof(err), &cfg), -1);
    assert_non_null(strstr(err, "pb"));
    free(cfg);
    assert_int_equal(load_keys(seal, "pb", err, sizeof(err), &cfg), -1);
    free(cfg);
    /* an open-only key alone cannot seal */
    snprintf(seal, sizeof(seal), "\"seal\":{\"keys\":["
             "{\"perspective\":\"pa\",\"id\":1,\"file\":\"%s/pa.key\",\"open_only\":true}]}", dir);
    assert_int_equal(load_keys(seal, "pa", err, sizeof(err), &cfg), -1);
    free(cfg);
    /* an unknown perspective */
    snprintf(seal, sizeof(seal), "\"seal\":{\"keys\":["
             "{\"perspective\":\"pz\",\"id\":1,\"file\":\"%s/pa.key\"}]}", dir);
    assert_int_equal(load_keys(seal, NULL, err, sizeof(err), &cfg), -1);
    assert_non_null(strstr(err, "pz"));
    free(cfg);
    /* required without keys; no keys and not required is the unsealed dev mode */
    assert_int_equal(load_keys("\"seal\":{\"required\":true}", NULL, err, sizeof(err), &cfg), -1);
    assert_non_null(strstr(err, "seal.required"));
    free(cfg);
    assert_int_equal(load_keys("\"seal\":{}", NULL, err, sizeof(err), &cfg), 0);
    assert_int_equal(cfg->sec.keyring.n, 0);
    free(cfg);
    /* a group-readable password file is refused */
    write_file("pw", "s3cret\n", 0640);
    assert_int_equal(load_keys("\"seal\":{}", NULL, err, sizeof(err), &cfg), -1);
    assert_non_null(strstr(err, "0600"));
    free(cfg);
    write_file("pw", "s3cret pass\n", 0600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors_name_the_key),
        cmocka_unit_test(test_api_auth_parsed),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
