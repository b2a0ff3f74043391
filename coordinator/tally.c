/*
 * Tally parsing and judgement (see tally.h). Everything read from Redis is checked: counts,
 * lengths, outcome letters, RIR numbers.
 */
#include "tally.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static int tally_int(const redisReply *e, int64_t min, int64_t max, int64_t *out)
{
    if (e == NULL || e->type != REDIS_REPLY_STRING) return -1;
    return util_parse_int64(e->str, min, max, out);
}

/* Splits a comma list into at most COHORT_MAX fields of fieldlen bytes; returns the count. */
static int tally_split(const char *s, char fields[][PERSPECTIVE_CODE_MAX])
{
    int n = 0;
    const char *p = s;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == COHORT_MAX || len == 0 || len >= PERSPECTIVE_CODE_MAX) return -1;
        memcpy(fields[n], p, len);
        fields[n][len] = '\0';
        n++;
        if (comma == NULL) break;
        p = comma + 1;
        if (*p == '\0') return -1; /* trailing comma: an empty last field */
    }
    return n;
}

/* The outcome an outcome letter stands for ('-': not reported yet); -1 for any other. */
static int tally_outcome_of(char letter, enum quorum_outcome *o)
{
    switch (letter) {
    case 'P': *o = QUORUM_OUTCOME_PASSED; return 0;
    case 'F': *o = QUORUM_OUTCOME_FAILED; return 0;
    case 'E': *o = QUORUM_OUTCOME_ERROR; return 0;
    case '-': *o = QUORUM_OUTCOME_PENDING; return 0;
    default: return -1;
    }
}

/* The index of the cohort member with this code, or -1. */
static int tally_member(const struct tally *t, const char *code)
{
    for (int k = 0; k < t->n; k++)
        if (strcmp(t->codes[k], code) == 0) return k;
    return -1;
}

/* The primary's pair ("@code", outcome); one primary per tally, never a cohort member. */
static int tally_primary(struct tally *t, const char *code, char letter, enum quorum_outcome o)
{
    if (t->has_primary || !perspective_name_valid(code) || tally_member(t, code) >= 0)
        return -1;
    t->has_primary = true;
    util_strlcpy(t->primary, code, sizeof(t->primary));
    t->primary_outcome = o;
    if (letter != '-') t->count++;
    return 0;
}

int tally_init(struct tally *t, enum tally_state state, int64_t n, int64_t q,
               const char *codes, const char *rirs, int64_t deadline_ms)
{
    char rirv[COHORT_MAX][PERSPECTIVE_CODE_MAX];
    int64_t v;
    int ncodes, nrirs;

    memset(t, 0, sizeof(*t));
    if (n < 1 || n > COHORT_MAX || q < 1 || q > COHORT_MAX || deadline_ms < 0) return -1;
    t->state = state;
    t->n = (int)n;
    t->q = (int)q;
    t->deadline_ms = deadline_ms;
    ncodes = tally_split(codes, t->codes);
    nrirs = tally_split(rirs, rirv);
    if (ncodes != t->n || nrirs != t->n) return -1;
    for (int i = 0; i < t->n; i++) {
        if (util_parse_int64(rirv[i], 0, RIR_COUNT - 1, &v) != 0) return -1;
        t->members[i].rir = (enum rir)v;
        t->members[i].outcome = QUORUM_OUTCOME_PENDING;
    }
    return 0;
}

int tally_expect_primary(struct tally *t, const char *code)
{
    return tally_primary(t, code, '-', QUORUM_OUTCOME_PENDING);
}

int tally_parse(const redisReply *r, struct tally *t)
{
    enum tally_state state;
    int64_t n, q, deadline;

    memset(t, 0, sizeof(*t));
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 7) return -1;
    for (size_t i = 1; i < 7; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING) return -1;
    if (strcmp(r->element[1]->str, "open") == 0) state = TALLY_OPEN;
    else if (strcmp(r->element[1]->str, "decided") == 0) state = TALLY_DECIDED;
    else if (strcmp(r->element[1]->str, "replied") == 0) state = TALLY_REPLIED;
    else if (strcmp(r->element[1]->str, "retrying") == 0) state = TALLY_RETRYING;
    else return -1;
    if (tally_int(r->element[2], 1, COHORT_MAX, &n) != 0) return -1;
    if (tally_int(r->element[3], 1, COHORT_MAX, &q) != 0) return -1;
    if (tally_int(r->element[6], 0, INT64_MAX, &deadline) != 0) return -1;
    if (tally_init(t, state, n, q, r->element[4]->str, r->element[5]->str, deadline) != 0)
        return -1;
    if ((r->elements - 7) % 2 != 0) return -1;
    for (size_t i = 7; i + 1 < r->elements; i += 2) {
        const redisReply *code = r->element[i], *out = r->element[i + 1];
        enum quorum_outcome o;
        int k;
        if (code->type != REDIS_REPLY_STRING || out->type != REDIS_REPLY_STRING || out->len != 1)
            return -1;
        if (tally_outcome_of(out->str[0], &o) != 0) return -1;
        if (code->str[0] == '@') {
            if (tally_primary(t, code->str + 1, out->str[0], o) != 0) return -1;
            continue;
        }
        if (out->str[0] == '-' || (k = tally_member(t, code->str)) < 0) return -1;
        t->members[k].outcome = o;
        t->count++;
    }
    return 0;
}

bool tally_add(struct tally *t, const char *code, const char *outcome)
{
    enum quorum_outcome o;
    int k;

    if (tally_outcome_of(outcome[0], &o) != 0 || o == QUORUM_OUTCOME_PENDING) return false;
    if (t->has_primary && strcmp(code, t->primary) == 0) {
        if (t->primary_outcome != QUORUM_OUTCOME_PENDING) return false;
        t->primary_outcome = o;
        t->count++;
        return true;
    }
    k = tally_member(t, code);
    if (k < 0 || t->members[k].outcome != QUORUM_OUTCOME_PENDING) return false;
    t->members[k].outcome = o;
    t->count++;
    return true;
}

const char *tally_letter(enum quorum_outcome o)
{
    switch (o) {
    case QUORUM_OUTCOME_PASSED: return "P";
    case QUORUM_OUTCOME_FAILED: return "F";
    case QUORUM_OUTCOME_ERROR: return "E";
    case QUORUM_OUTCOME_PENDING: break;
    }
    return "-";
}

enum quorum_verdict tally_judge(const struct tally *t, bool final)
{
    enum quorum_verdict v = quorum_evaluate(t->members, t->n, t->q, final);

    if (!t->has_primary) return v;
    return quorum_with_primary(v, t->primary_outcome, final);
}

bool tally_all_reported(const struct tally *t)
{
    return t->count >= t->n + (t->has_primary ? 1 : 0);
}

bool tally_anomalous(const struct tally *t)
{
    bool pass = false, other = false;

    for (int i = 0; i < t->n; i++) {
        if (t->members[i].outcome == QUORUM_OUTCOME_PASSED) pass = true;
        else if (t->members[i].outcome != QUORUM_OUTCOME_PENDING) other = true;
    }
    return pass && other;
}

void tally_reason(const struct tally *t, bool final, char *out, size_t len)
{
    bool seen[RIR_COUNT] = {false};
    int passed = quorum_count_passed(t->members, t->n);
    size_t off;

    off = (size_t)snprintf(out, len, "%d/%d passed (quorum %d)%s; passing RIRs:", passed, t->n,
                           t->q, final ? " at the deadline" : "");
    for (int i = 0; i < t->n && off < len; i++) {
        enum rir r = t->members[i].rir;
        if (t->members[i].outcome != QUORUM_OUTCOME_PASSED || seen[r]) continue;
        seen[r] = true;
        off += (size_t)snprintf(out + off, len - off, " %s", perspective_rir_name(r));
    }
    if (t->has_primary && off < len) {
        static const char *const names[] = {"pending", "passed", "failed", "error"};
        snprintf(out + off, len - off, "; primary %s %s", t->primary,
                 names[(int)t->primary_outcome & 3]);
    }
}
