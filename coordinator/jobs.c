/*
 * Job fan-out for one attempt (see jobs.h). The job's deadline is the attempt's deadline, so
 * a worker never starts a check whose answer could no longer count.
 */
#include "jobs.h"

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

void jobs_cohort_strings(const struct coord *co, const struct cohort *cohort, char *codes,
                         size_t codeslen, char *rirs, size_t rirslen)
{
    size_t off = 0, roff = 0;

    codes[0] = rirs[0] = '\0';
    for (int i = 0; i < cohort->n; i++) {
        const struct perspective *p = &co->cfg->perspectives[cohort->idx[i]];
        int n = snprintf(codes + off, codeslen - off, "%s%s", i ? "," : "", p->code);
        int r = snprintf(rirs + roff, rirslen - roff, "%s%d", i ? "," : "", (int)p->rir);
        if (n < 0 || r < 0 || (size_t)n >= codeslen - off || (size_t)r >= rirslen - roff) return;
        off += (size_t)n;
        roff += (size_t)r;
    }
}
