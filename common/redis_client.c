/*
 * hiredis 0.14 async client with timeouts and reconnects (see redis_client.h).
 * Lifetimes (hiredis 0.14.1 async.c): a failed connect calls on_connect(REDIS_ERR) and frees
 * the context without on_disconnect; after on_disconnect the context is freed; redisAsyncFree
 * runs every pending callback with NULL. We clear ac->data before dropping a context
 * ourselves so its late callbacks are recognised and ignored.
 */
#include "redis_client.h"

#include <event2/event_struct.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis_evloop.h"
#include "util.h"

#define REDIS_BACKOFF_MIN_MS 50
#define REDIS_BACKOFF_MAX_MS 2000

struct redis_cmd {
    struct redis_client *rc;
    redis_client_reply_cb cb;
    void *arg;
    struct event timer;
    bool done; /* user callback already called (timeout) */
};

struct redis_client {
    struct event_base *base;
    redisAsyncContext *ac;
    enum redis_client_state state;
    char *name;
    char *host;
    int port;
    int connect_timeout_ms;
    int command_timeout_ms;
    char *username;
    char *password;
    int backoff_ms;
    struct event conn_timer; /* connect timeout, or reconnect delay in BACKOFF */
    redis_client_state_cb state_cb;
    void *state_arg;
};

struct redis_deferred {
    redis_client_reply_cb cb;
    void *arg;
    const char *errstr;
};

static void redis_client_connect(struct redis_client *rc);

/* called by libevent one loop turn after a command that could not be sent */
static void redis_deferred_fire(evutil_socket_t fd, short what, void *p)
{
    struct redis_deferred *d = p;
    d->cb(d->arg, NULL, d->errstr);
    free(d);
}

static void redis_fail_later(struct redis_client *rc, redis_client_reply_cb cb, void *arg,
                             const char *errstr)
{
    struct redis_deferred *d = util_xmalloc(sizeof(*d));
    struct timeval tv = {0, 0};
    d->cb = cb;
    d->arg = arg;
    d->errstr = errstr;
    if (event_base_once(rc->base, -1, EV_TIMEOUT, redis_deferred_fire, d, &tv) != 0) {
        free(d);
        cb(arg, NULL, errstr); /* cannot happen short of ENOMEM; never lose a completion */
    }
}

static void redis_set_state(struct redis_client *rc, enum redis_client_state st)
{
    bool was_ready = rc->state == REDIS_CLIENT_READY;
    rc->state = st;
    if (rc->state_cb == NULL) return;
    if (!was_ready && st == REDIS_CLIENT_READY) rc->state_cb(rc->state_arg, true);
    if (was_ready && st != REDIS_CLIENT_READY) rc->state_cb(rc->state_arg, false);
}

static void redis_schedule_reconnect(struct redis_client *rc)
{
    struct timeval tv;
    unsigned char r;
    int delay;

    if (rc->state == REDIS_CLIENT_CLOSED) return;
    redis_set_state(rc, REDIS_CLIENT_BACKOFF);
    util_random_bytes(&r, 1);
    delay = rc->backoff_ms * 3 / 4 + (rc->backoff_ms / 2) * r / 255; /* +-25% jitter */
    rc->backoff_ms = rc->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS
                                                               : rc->backoff_ms * 2;
    tv = util_ms_timeval(delay);
    evtimer_add(&rc->conn_timer, &tv);
}

/* Drops the current context: pending commands complete with NULL, then reconnect later. */
static void redis_drop(struct redis_client *rc, const char *why)
{
    redisAsyncContext *ac = rc->ac;
    if (ac == NULL) return;
    log_warn("redis %s: dropping connection to %s:%d: %s", rc->name, rc->host, rc->port, why);
    rc->ac = NULL;
    ac->data = NULL;
    evtimer_del(&rc->conn_timer);
    if (rc->state != REDIS_CLIENT_CLOSED) redis_set_state(rc, REDIS_CLIENT_BACKOFF);
    redisAsyncFree(ac);
    redis_schedule_reconnect(rc);
}

/* called by libevent when the connect timeout or the reconnect delay expires */
static void redis_conn_timer_cb(evutil_socket_t fd, short what, void *p)
{
    struct redis_client *rc = p;
    if (rc->state == REDIS_CLIENT_CONNECTING)
        redis_drop(rc, "connect timeout");
    else if (rc->state == REDIS_CLIENT_BACKOFF)
        redis_client_connect(rc);
}

/*
 * called by hiredis with the AUTH reply. Commands pipelined behind AUTH would all fail with
 * NOAUTH/WRONGPASS: say why once, loudly, and drop the connection (reconnects back off).
 */
static void redis_auth_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_client *rc = ac->data;
    redisReply *reply = r;
    (void)privdata;
    if (rc == NULL || reply == NULL || reply->type != REDIS_REPLY_ERROR) return;
    log_error("redis %s: AUTH as %s failed: %s", rc->name,
              rc->username ? rc->username : "(default user)", reply->str);
    redis_drop(rc, "authentication failed");
}

/* called by hiredis once the TCP connect finished or failed */
static void redis_on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_client *rc = ac->data;
    if (rc == NULL) return;
    evtimer_del(&rc->conn_timer);
    if (status != REDIS_OK) {
        log_warn("redis %s: connect to %s:%d failed: %s", rc->name, rc->host, rc->port,
                 ac->errstr);
        rc->ac = NULL; /* hiredis frees the context after this callback */
        redis_schedule_reconnect(rc);
        return;
    }
    log_info("redis %s: connected to %s:%d", rc->name, rc->host, rc->port);
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    if (rc->password != NULL) {
        /* hiredis 0.14 has no AUTH with a user name: send the Redis 6+ form ourselves */
        if (rc->username != NULL)
            redisAsyncCommand(rc->ac, redis_auth_cb, NULL, "AUTH %s %s", rc->username,
                              rc->password);
        else
            redisAsyncCommand(rc->ac, redis_auth_cb, NULL, "AUTH %s", rc->password);
    }
    redisAsyncCommand(rc->ac, NULL, NULL, "CLIENT SETNAME %s", rc->name);
    redis_set_state(rc, REDIS_CLIENT_READY);
}

/* called by hiredis when an established connection is closed (context freed afterwards) */
static void redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_client *rc = ac->data;
    if (rc == NULL) return;
    log_warn("redis %s: disconnected from %s:%d: %s", rc->name, rc->host, rc->port,
             status == REDIS_OK ? "closed" : ac->errstr);
    rc->ac = NULL;
    redis_schedule_reconnect(rc);
}

static void redis_client_connect(struct redis_client *rc)
{
    struct timeval tv;
    redisAsyncContext *ac = redisAsyncConnect(rc->host, rc->port);

    if (ac == NULL || ac->err) {
        log_warn("redis %s: cannot connect to %s:%d: %s", rc->name, rc->host, rc->port,
                 ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        redis_schedule_reconnect(rc);
        return;
    }
    ac->data = rc;
    rc->ac = ac;
    redis_evloop_attach(ac, rc->base); /* a fresh context: nothing attached yet */
    redisAsyncSetConnectCallback(ac, redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
    redis_set_state(rc, REDIS_CLIENT_CONNECTING);
    tv = util_ms_timeval(rc->connect_timeout_ms);
    evtimer_add(&rc->conn_timer, &tv);
}

struct redis_client *redis_client_new(struct event_base *base, const struct redis_client_opts *o)
{
    struct redis_client *rc = util_xcalloc(1, sizeof(*rc));
    rc->base = base;
    rc->name = util_xstrdup(o->name ? o->name : "mpic");
    rc->host = util_xstrdup(o->host);
    rc->port = o->port;
    rc->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 1000;
    rc->command_timeout_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms : 2000;
    if (o->username && *o->username) rc->username = util_xstrdup(o->username);
    if (o->password && *o->password) rc->password = util_xstrdup(o->password);
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    rc->state = REDIS_CLIENT_IDLE;
    evtimer_assign(&rc->conn_timer, base, redis_conn_timer_cb, rc);
    return rc;
}

void redis_client_set_state_cb(struct redis_client *rc, redis_client_state_cb cb, void *arg)
{
    rc->state_cb = cb;
    rc->state_arg = arg;
}

void redis_client_start(struct redis_client *rc)
{
    if (rc->state == REDIS_CLIENT_IDLE) redis_client_connect(rc);
}

void redis_client_free(struct redis_client *rc)
{
    if (rc == NULL) return;
    rc->state_cb = NULL;
    rc->state = REDIS_CLIENT_CLOSED;
    evtimer_del(&rc->conn_timer);
    if (rc->ac != NULL) {
        redisAsyncContext *ac = rc->ac;
        rc->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    free(rc->name);
    free(rc->host);
    free(rc->username);
    free(rc->password);
    free(rc);
}

bool redis_client_is_ready(const struct redis_client *rc)
{
    return rc->state == REDIS_CLIENT_READY;
}

enum redis_client_state redis_client_get_state(const struct redis_client *rc)
{
    return rc->state;
}

/* called by redis_client for commands sent with it as their callback */
void redis_client_ignore_reply(void *arg, redisReply *reply, const char *errstr)
{
    (void)arg;
    (void)reply;
    (void)errstr;
}

int redis_client_info_int(const char *text, size_t len, const char *field, int64_t *out)
{
    size_t flen = strlen(field);
    const char *end = text + len;
    const char *line = text;

    while (line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        const char *stop = eol ? eol : end;
        if (stop > line && stop[-1] == '\r') stop--;
        if ((size_t)(stop - line) > flen && memcmp(line, field, flen) == 0 && line[flen] == ':') {
            char num[24];
            size_t n = (size_t)(stop - line) - flen - 1;
            if (n == 0 || n >= sizeof(num) || memchr(line + flen + 1, '\0', n) != NULL)
                return -1;
            memcpy(num, line + flen + 1, n);
            num[n] = '\0';
            return util_parse_int64(num, INT64_MIN, INT64_MAX, out) == 0 ? 0 : -1;
        }
        if (eol == NULL) break;
        line = eol + 1;
    }
    return -1;
}

int redis_client_command_timeout(const struct redis_client *rc)
{
    return rc->command_timeout_ms;
}

/* called by libevent when a command has not been answered in time */
static void redis_cmd_timeout_cb(evutil_socket_t fd, short what, void *p)
{
    struct redis_cmd *cmd = p;
    struct redis_client *rc = cmd->rc;
    cmd->done = true;
    cmd->cb(cmd->arg, NULL, "timeout");
    /* hiredis still owns cmd: dropping the connection makes it call redis_cmd_reply_cb. */
    redis_drop(rc, "command timeout");
}

/* called by hiredis with the reply, or NULL when the connection goes away */
static void redis_cmd_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_cmd *cmd = privdata;
    evtimer_del(&cmd->timer);
    if (!cmd->done) {
        cmd->done = true;
        cmd->cb(cmd->arg, r, r == NULL ? "connection lost" : NULL);
    }
    free(cmd);
}

void redis_client_commandargv(struct redis_client *rc, redis_client_reply_cb cb, void *arg,
                              int timeout_ms, int argc, const char **argv, const size_t *argvlen)
{
    struct redis_cmd *cmd;
    struct timeval tv;

    if (rc->state != REDIS_CLIENT_READY || rc->ac == NULL) {
        redis_fail_later(rc, cb, arg, "not connected");
        return;
    }
    cmd = util_xcalloc(1, sizeof(*cmd));
    cmd->rc = rc;
    cmd->cb = cb;
    cmd->arg = arg;
    evtimer_assign(&cmd->timer, rc->base, redis_cmd_timeout_cb, cmd);
    if (redisAsyncCommandArgv(rc->ac, redis_cmd_reply_cb, cmd, argc, argv, argvlen) != REDIS_OK) {
        free(cmd);
        redis_fail_later(rc, cb, arg, "command not sent");
        return;
    }
    tv = util_ms_timeval(timeout_ms > 0 ? timeout_ms : rc->command_timeout_ms);
    evtimer_add(&cmd->timer, &tv);
}

void redis_client_command(struct redis_client *rc, redis_client_reply_cb cb, void *arg,
                          int timeout_ms, const char *fmt, ...)
{
    struct redis_cmd *cmd;
    struct timeval tv;
    va_list ap;
    int rv;

    if (rc->state != REDIS_CLIENT_READY || rc->ac == NULL) {
        redis_fail_later(rc, cb, arg, "not connected");
        return;
    }
    cmd = util_xcalloc(1, sizeof(*cmd));
    cmd->rc = rc;
    cmd->cb = cb;
    cmd->arg = arg;
    evtimer_assign(&cmd->timer, rc->base, redis_cmd_timeout_cb, cmd);
    va_start(ap, fmt);
    rv = redisvAsyncCommand(rc->ac, redis_cmd_reply_cb, cmd, fmt, ap);
    va_end(ap);
    if (rv != REDIS_OK) {
        free(cmd);
        redis_fail_later(rc, cb, arg, "command not sent");
        return;
    }
    tv = util_ms_timeval(timeout_ms > 0 ? timeout_ms : rc->command_timeout_ms);
    evtimer_add(&cmd->timer, &tv);
}
