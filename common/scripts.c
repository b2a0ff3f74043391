/*
 * Script registry over the generated lua_scripts_table (cmake/embed_lua.cmake): EVALSHA
 * first, EVAL once on NOSCRIPT. The call's arguments are copied so the retry can resend them.
 */
#include "scripts.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct lua_script_src {
    const char *name;
    const char *text;
};
extern const struct lua_script_src lua_scripts_table[];

static const char *const script_names[SCRIPT_COUNT] = {"record", "tally", "finalize", "publish",
                                                         "retry", "advance", "lease"};
static const char *script_text[SCRIPT_COUNT];
static char script_sha[SCRIPT_COUNT][41];

struct script_call {
    struct redis_client *rc;
    enum script_id id;
    int nkeys;
    int nargs;
    char **args;
    size_t *lens;
    redis_client_reply_cb cb;
    void *arg;
    int tries;
};

int scripts_init(void)
{
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        const struct lua_script_src *s;
        unsigned char md[SHA_DIGEST_LENGTH];
        script_text[i] = NULL;
        for (s = lua_scripts_table; s->name != NULL; s++)
            if (strcmp(s->name, script_names[i]) == 0) script_text[i] = s->text;
        if (script_text[i] == NULL) {
            log_error("lua script %s.lua is missing from the build", script_names[i]);
            return -1;
        }
        SHA1((const unsigned char *)script_text[i], strlen(script_text[i]), md);
        util_hex_encode(md, sizeof(md), script_sha[i]);
    }
    return 0;
}

const char *scripts_source(enum script_id id)
{
    return script_text[id];
}

static void script_call_free(struct script_call *c)
{
    for (int i = 0; i < c->nargs; i++) free(c->args[i]);
    free(c->args);
    free(c->lens);
    free(c);
}

static void script_send(struct script_call *c);

/* called by redis_client with the EVALSHA/EVAL reply */
static void script_reply_cb(void *p, redisReply *reply, const char *errstr)
{
    struct script_call *c = p;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && c->tries == 1 &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        script_send(c); /* second try uses EVAL with the source */
        return;
    }
    c->cb(c->arg, reply, errstr);
    script_call_free(c);
}

static void script_send(struct script_call *c)
{
    const char **argv = util_xcalloc((size_t)c->nargs + 3, sizeof(char *));
    size_t *lens = util_xcalloc((size_t)c->nargs + 3, sizeof(size_t));
    char nkeys[16];
    bool eval = c->tries > 0;

    snprintf(nkeys, sizeof(nkeys), "%d", c->nkeys);
    argv[0] = eval ? "EVAL" : "EVALSHA";
    lens[0] = strlen(argv[0]);
    argv[1] = eval ? script_text[c->id] : script_sha[c->id];
    lens[1] = strlen(argv[1]);
    argv[2] = nkeys;
    lens[2] = strlen(nkeys);
    for (int i = 0; i < c->nargs; i++) {
        argv[i + 3] = c->args[i];
        lens[i + 3] = c->lens[i];
    }
    c->tries++;
    redis_client_commandargv(c->rc, script_reply_cb, c, 0, c->nargs + 3, argv, lens);
    free(argv);
    free(lens);
}

void scripts_eval(struct redis_client *rc, enum script_id id, int nkeys, int nargs,
                  const char *const *args, const size_t *lens, redis_client_reply_cb cb, void *arg)
{
    struct script_call *c = util_xcalloc(1, sizeof(*c));
    c->rc = rc;
    c->id = id;
    c->nkeys = nkeys;
    c->nargs = nargs;
    c->cb = cb;
    c->arg = arg;
    c->args = util_xcalloc((size_t)nargs + 1, sizeof(char *));
    c->lens = util_xcalloc((size_t)nargs + 1, sizeof(size_t));
    for (int i = 0; i < nargs; i++) {
        c->args[i] = util_xmalloc(lens[i] + 1);
        memcpy(c->args[i], args[i], lens[i]);
        c->args[i][lens[i]] = '\0';
        c->lens[i] = lens[i];
    }
    script_send(c);
}
