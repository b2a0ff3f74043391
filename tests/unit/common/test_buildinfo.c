/*
 * Unit tests for common/buildinfo: the version string, the allocator this test binary runs
 * with (unit tests never link jemalloc: the C library's malloc, or ASan's in a sanitizer
 * build) and the mpic_build_info gauge as rendered for Prometheus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buildinfo.h"
#include "metrics.h"

static void test_version(void **state)
{
    const char *v = buildinfo_version();
    int dots = 0;

    (void)state;
    assert_true(v[0] >= '0' && v[0] <= '9');
    for (const char *p = v; *p; p++) {
        if (*p == '.') {
            dots++;
            assert_true(p[1] >= '0' && p[1] <= '9'); /* no empty component */
        } else {
            assert_true(*p >= '0' && *p <= '9');
        }
    }
    assert_int_equal(dots, 2);
}

static void test_allocator_of_this_binary(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    assert_string_equal(buildinfo_allocator(), "asan");
#else
    assert_string_equal(buildinfo_allocator(), "libc");
#endif
}

static void test_gauge_rendered(void **state)
{
    struct metrics_registry *r = metrics_registry_new();
    char want[160];
    size_t len = 0;
    char *text;

    (void)state;
    buildinfo_register(r);
    text = metrics_render(r, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "# TYPE mpic_build_info gauge\n"));
    snprintf(want, sizeof(want), "mpic_build_info{version=\"%s\",allocator=\"%s\"} 1\n",
             buildinfo_version(), buildinfo_allocator());
    assert_non_null(strstr(text, want));
    free(text);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_allocator_of_this_binary),
        cmocka_unit_test(test_gauge_rendered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
