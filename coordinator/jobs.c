/*
 * Job fan-out for one attempt (see jobs.h). The job's deadline is the attempt's deadline, so
 * a worker never starts a check whose answer could no longer count.
 */
#include "jobs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "sealmsg.h"

int jobs_primary_index(const struct config *cfg)
{
    const struct perspective *p = config_primary(cfg);
    return p != NULL ? (int)(p - cfg->perspectives) : -1;
}

int jobs_enqueue(struct coord *co, const struct jobs_attempt *a, const struct cohort *cohort,
                 redis_client_reply_cb cb, void *arg)
{
    const struct config *cfg = co->cfg;
    char key[KEYS_MAX], maxlen_s[24];
    int failed = 0;

    snprintf(maxlen_s, sizeof(maxlen_s), "%d", cfg->jobs_maxlen);
    for (int i = a->primary != NULL ? -1 : 0; i < cohort->n; i++) {
        const struct perspective *p = i < 0 ? a->primary : &cfg->perspectives[cohort->idx[i]];
        struct msg_job job;
        char *blob = NULL;
        size_t bloblen = 0;

        memset(&job, 0, sizeof(job));
        job.rid = (char *)a->rid;
        job.attempt = (uint32_t)a->attempt;
        job.perspective = (char *)p->code;
        job.check_type = a->check_type;
        job.target = (char *)a->target;
        job.wildcard = a->wildcard;
        job.deadline_ms = a->deadline_ms;
        job.trace_id = (char *)a->trace_id;
        job.params = (json_t *)a->params;
        keys_jobs(key, sizeof(key), cfg->key_prefix, p->region);
        if (sealmsg_job_encode(&cfg->sec.keyring, &job, &blob, &bloblen) != 0) {
            log_error("request %s: the job for %s cannot be encoded", a->rid, p->code);
            redis_client_command(co->cmd, cb, arg, 0, "PING"); /* keep the count */
            failed++;
            continue;
        }
        {
            const char *argv[] = {"XADD", key, "MAXLEN", "~", maxlen_s, "*", "j", blob};
            size_t lens[] = {4, strlen(key), 6, 1, strlen(maxlen_s), 1, 1, bloblen};
            redis_client_commandargv(co->cmd, cb, arg, 0, 8, argv, lens);
        }
        free(blob);
    }
    return failed;
}

/*
 * Appends sep and s at *off in buf (len bytes) like snprintf(buf + *off, len - *off, "%s%s"):
 * truncated and terminated when it does not fit, then false.
 */
static bool jobs_append(char *buf, size_t len, size_t *off, const char *sep, const char *s)
{
    size_t sl = strlen(sep), l = strlen(s), room = len - *off - 1;
    size_t a = sl < room ? sl : room, b = l < room - a ? l : room - a;

    memcpy(buf + *off, sep, a);
    memcpy(buf + *off + a, s, b);
    buf[*off + a + b] = '\0';
    if (sl + l > room) return false;
    *off += sl + l;
    return true;
}

void jobs_cohort_strings(const struct coord *co, const struct cohort *cohort, char *codes,
                         size_t codeslen, char *rirs, size_t rirslen)
{
    size_t off = 0, roff = 0;

    codes[0] = rirs[0] = '\0';
    for (int i = 0; i < cohort->n; i++) {
        const struct perspective *p = &co->cfg->perspectives[cohort->idx[i]];
        char rir[16];
        bool fits;

        if ((int)p->rir >= 0 && (int)p->rir <= 9) {
            rir[0] = (char)('0' + (int)p->rir);
            rir[1] = '\0';
        } else {
            snprintf(rir, sizeof(rir), "%d", (int)p->rir);
        }
        fits = jobs_append(codes, codeslen, &off, i ? "," : "", p->code);
        if (!jobs_append(rirs, rirslen, &roff, i ? "," : "", rir) || !fits) return;
    }
}
