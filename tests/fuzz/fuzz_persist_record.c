/*
 * libFuzzer target for the dns-persistent record rules (worker/persist_record.c): any TXT
 * value is judged without reading outside it, and the verdict is monotone: a record that
 * matches a wildcard name matches the plain name, one that matches now matched earlier, and
 * a match names the expected account byte for byte.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persist_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_issuers[] = {"ca.test", "authority.example"};
static const char fuzz_account[] = "https://acme.example/acct/1";

static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t l = strlen(needle);

    for (size_t i = 0; l <= n && i <= n - l; i++) {
        if (memcmp(hay + i, needle, l) == 0) return true;
    }
    return false;
}

/* called by libFuzzer once per input */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct persist_record_expect exp = {
        .issuers = fuzz_issuers, .nissuers = 2, .account_uri = fuzz_account,
        .wildcard = false, .now_s = 1767225600,
    };
    enum persist_record_verdict plain, wild, early, late, noacct;

    plain = persist_record_check(data, size, &exp);
    exp.wildcard = true;
    wild = persist_record_check(data, size, &exp);
    exp.wildcard = false;
    exp.now_s = 0;
    early = persist_record_check(data, size, &exp);
    exp.now_s = INT64_MAX;
    late = persist_record_check(data, size, &exp);
    exp.now_s = 1767225600;
    exp.account_uri = NULL;
    noacct = persist_record_check(data, size, &exp);

    if (strcmp(persist_record_verdict_name(plain), "unknown") == 0) abort();
    if (wild == PERSIST_RECORD_MATCH && plain != PERSIST_RECORD_MATCH) abort();
    if (plain == PERSIST_RECORD_MATCH && early != PERSIST_RECORD_MATCH) abort();
    if (late == PERSIST_RECORD_MATCH && plain != PERSIST_RECORD_MATCH) abort();
    if (plain == PERSIST_RECORD_MATCH && !contains(data, size, fuzz_account)) abort();
    if (noacct == PERSIST_RECORD_MATCH) abort(); /* no expected account: nothing matches */
    /* the name's shape and the time are judged after the issuer and the account */
    if (plain != wild && wild != PERSIST_RECORD_NO_WILDCARD_POLICY) abort();
    if (early != late && late != PERSIST_RECORD_EXPIRED && early != PERSIST_RECORD_EXPIRED)
        abort();
    return 0;
}
