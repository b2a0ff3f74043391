/*
 * Asynchronous Redis client on hiredis 0.14 + libevent with what hiredis 0.14 lacks:
 * connect and per-command timeouts, reconnect with exponential backoff and jitter, AUTH,
 * and a command API whose callback runs exactly once (reply, or NULL with an error string),
 * never synchronously. A timed-out command drops the whole connection, because pipelined
 * replies are ordered and cannot be skipped (as h2o's redis client does).
 */
#ifndef MPIC_REDIS_CLIENT_H
#define MPIC_REDIS_CLIENT_H

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum redis_client_state {
    REDIS_CLIENT_IDLE = 0,       /* created, redis_client_start() not called yet */
    REDIS_CLIENT_CONNECTING = 1, /* TCP connect in progress, connect timer armed */
    REDIS_CLIENT_READY = 2,      /* connected: commands are sent */
    REDIS_CLIENT_BACKOFF = 3,    /* disconnected, reconnect timer armed */
    REDIS_CLIENT_CLOSED = 4,     /* redis_client_free() in progress */
};

struct redis_client;

/**
 * Called exactly once per command: reply is borrowed (valid during the call only) and may be
 * a REDIS_REPLY_ERROR; reply == NULL means the command failed (errstr says why: "timeout",
 * "not connected", "connection lost").
 */
typedef void (*redis_client_reply_cb)(void *arg, redisReply *reply, const char *errstr);
/** Called when the client becomes ready (true) or loses its connection (false). */
typedef void (*redis_client_state_cb)(void *arg, bool ready);

struct redis_client_opts {
    const char *name;     /* CLIENT SETNAME value and log prefix */
    const char *host;     /* numeric IP (hiredis resolves names with blocking getaddrinfo) */
    int port;
    int connect_timeout_ms;
    int command_timeout_ms;
    const char *username; /* NULL/empty: AUTH password only */
    const char *password; /* NULL/empty: no AUTH */
};

struct redis_client *redis_client_new(struct event_base *base, const struct redis_client_opts *o);
void redis_client_set_state_cb(struct redis_client *rc, redis_client_state_cb cb, void *arg);
/** Starts connecting (and reconnecting forever until freed). */
void redis_client_start(struct redis_client *rc);
/** Closes the connection; pending commands complete with NULL first. */
void redis_client_free(struct redis_client *rc);
bool redis_client_is_ready(const struct redis_client *rc);
enum redis_client_state redis_client_get_state(const struct redis_client *rc);

/**
 * Sends one command. timeout_ms <= 0 uses the default command timeout; blocking commands
 * (XREADGROUP BLOCK n) must pass n + the default.
 */
void redis_client_commandargv(struct redis_client *rc, redis_client_reply_cb cb, void *arg,
                              int timeout_ms, int argc, const char **argv, const size_t *argvlen);
void redis_client_command(struct redis_client *rc, redis_client_reply_cb cb, void *arg,
                          int timeout_ms, const char *fmt, ...);
/** A reply callback for commands whose outcome does not matter (cleanup, heartbeats). */
void redis_client_ignore_reply(void *arg, redisReply *reply, const char *errstr);
/** The default command timeout. */
int redis_client_command_timeout(const struct redis_client *rc);
/**
 * The integer value of `field` in the text of an INFO reply ("field:value" lines ending in
 * CRLF). Returns 0, or -1 when the field is absent or its value is not a whole integer.
 */
int redis_client_info_int(const char *text, size_t len, const char *field, int64_t *out);

#endif
