/*
 * Tests for coordinator/jobs: the cohort's code and RIR strings stored in the request record
 * ("a,b,c" and "0,1,2"), compared with the snprintf formatting they replaced, including what
 * is left when a buffer is too small (truncated and terminated, nothing after the cut).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

/* The former implementation, as the reference. */
static void reference(const struct config *cfg, const struct cohort *cohort, char *codes,
                      size_t codeslen, char *rirs, size_t rirslen)
{
    size_t off = 0, roff = 0;

    codes[0] = rirs[0] = '\0';
    for (int i = 0; i < cohort->n; i++) {
        const struct perspective *p = &cfg->perspectives[cohort->idx[i]];
        int n = snprintf(codes + off, codeslen - off, "%s%s", i ? "," : "", p->code);
        int r = snprintf(rirs + roff, rirslen - roff, "%s%d", i ? "," : "", (int)p->rir);
        if (n < 0 || r < 0 || (size_t)n >= codeslen - off || (size_t)r >= rirslen - roff) return;
        off += (size_t)n;
        roff += (size_t)r;
    }
}

static void test_cohort_strings(void **state)
{
    static const char *const names[] = {"us-east-1", "eu-central-1", "ap-northeast-1",
                                        "sa-east-1", "af-south-1", "x"};
    static struct config cfg;
    struct coord co;
    struct cohort cohort;
    (void)state;

    memset(&co, 0, sizeof(co));
    memset(&cohort, 0, sizeof(cohort));
    co.cfg = &cfg;
    for (int i = 0; i < 6; i++) {
        snprintf(cfg.perspectives[i].code, sizeof(cfg.perspectives[i].code), "%s", names[i]);
        cfg.perspectives[i].rir = (enum rir)(i % RIR_COUNT);
    }
    cfg.nperspectives = 6;
    cohort.n = 6;
    for (int i = 0; i < 6; i++) cohort.idx[i] = 5 - i;
    for (size_t clen = 1; clen <= 80; clen++) {
        for (size_t rlen = 1; rlen <= 16; rlen++) {
            char codes[80], rirs[16], want_codes[80], want_rirs[16];
            memset(codes, 'Q', sizeof(codes));
            memset(rirs, 'Q', sizeof(rirs));
            memset(want_codes, 'Q', sizeof(want_codes));
            memset(want_rirs, 'Q', sizeof(want_rirs));
            jobs_cohort_strings(&co, &cohort, codes, clen, rirs, rlen);
            reference(&cfg, &cohort, want_codes, clen, want_rirs, rlen);
            assert_string_equal(codes, want_codes);
            assert_string_equal(rirs, want_rirs);
        }
    }
    {
        char codes[128], rirs[32];
        jobs_cohort_strings(&co, &cohort, codes, sizeof(codes), rirs, sizeof(rirs));
        assert_string_equal(codes, "x,af-south-1,sa-east-1,ap-northeast-1,eu-central-1,"
                                   "us-east-1");
        assert_string_equal(rirs, "0,4,3,2,1,0");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cohort_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
