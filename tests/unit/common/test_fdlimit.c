/*
 * Unit tests for common/fdlimit: the soft open-file limit is raised to the hard one (from a
 * lowered soft limit), and the usable part keeps 64 in reserve but never drops below 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "fdlimit.h"

static void test_raise_lifts_soft_to_hard(void **state)
{
    struct rlimit orig, rl;
    long got;

    (void)state;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &orig), 0);
    assert_true(orig.rlim_max == RLIM_INFINITY || orig.rlim_max > 200);
    rl = orig;
    rl.rlim_cur = 200;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    got = fdlimit_raise();
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(got > 200);
    assert_true(rl.rlim_cur == (rlim_t)got);
    assert_true(orig.rlim_max == RLIM_INFINITY || rl.rlim_cur == orig.rlim_max);
    /* raising again changes nothing */
    assert_int_equal(fdlimit_raise(), got);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &orig), 0);
}

static void test_usable_keeps_the_reserve(void **state)
{
    (void)state;
    assert_int_equal(fdlimit_usable(1000), 1000 - FDLIMIT_RESERVE);
    assert_int_equal(fdlimit_usable(128), 64);
    assert_int_equal(fdlimit_usable(65), 1);
    assert_int_equal(fdlimit_usable(64), 1);
    assert_int_equal(fdlimit_usable(1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raise_lifts_soft_to_hard),
        cmocka_unit_test(test_usable_keeps_the_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
