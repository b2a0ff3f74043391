/*
 * Accept-error guard (see acceptguard.h): the listener's error callback disables it and arms
 * a resume timer; the timer enables it again. One warning starts an episode; the episode ends,
 * with one line giving its length in pauses, at the first resume that is not followed by
 * another failure within the next pause. libevent passes the error callback the listener's
 * accept-callback argument (evhttp's), so guards are found by listener in a short list.
 */
#include "acceptguard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

enum acceptguard_state {
    ACCEPTGUARD_ACCEPTING = 0, /* listener enabled, no recent failure */
    ACCEPTGUARD_PAUSED = 1,    /* listener disabled until the resume timer fires */
    ACCEPTGUARD_PROBING = 2,   /* enabled again after a pause; quiet for one more pause ends it */
};

struct acceptguard {
    struct evconnlistener *lev;
    struct event *timer; /* resume (PAUSED) or end of episode (PROBING) */
    enum acceptguard_state state;
    unsigned long pauses;         /* all pauses */
    unsigned long episode_pauses; /* pauses of the current episode */
    char what[64];
    struct acceptguard *next; /* in acceptguard_all */
};

static struct acceptguard *acceptguard_all; /* one per guarded listener: a handful at most */

static void acceptguard_arm(struct acceptguard *g)
{
    struct timeval tv = util_ms_timeval(ACCEPTGUARD_PAUSE_MS);
    evtimer_add(g->timer, &tv);
}

/* called by libevent's evconnlistener when accept() fails with a non-retriable error */
static void acceptguard_error_cb(struct evconnlistener *lev, void *arg)
{
    struct acceptguard *g = acceptguard_all;
    int err = EVUTIL_SOCKET_ERROR();

    (void)arg; /* the accept callback's argument, not ours */
    while (g != NULL && g->lev != lev) g = g->next;
    evconnlistener_disable(lev);
    if (g == NULL) return; /* not ours: stays disabled rather than spinning */
    if (g->state == ACCEPTGUARD_ACCEPTING)
        log_warn("%s: accept failed (%s): not accepting for %d ms at a time until it works "
                 "again", g->what, strerror(err), ACCEPTGUARD_PAUSE_MS);
    g->state = ACCEPTGUARD_PAUSED;
    g->pauses++;
    g->episode_pauses++;
    acceptguard_arm(g);
}

/* called by libevent when a pause (PAUSED) or the quiet period after one (PROBING) ends */
static void acceptguard_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct acceptguard *g = arg;

    (void)fd;
    (void)what;
    if (g->state == ACCEPTGUARD_PAUSED) {
        g->state = ACCEPTGUARD_PROBING;
        evconnlistener_enable(g->lev);
        acceptguard_arm(g);
        return;
    }
    if (g->state == ACCEPTGUARD_PROBING) {
        log_warn("%s: accepting again after %lu pause(s)", g->what, g->episode_pauses);
        g->state = ACCEPTGUARD_ACCEPTING;
        g->episode_pauses = 0;
    }
}

struct acceptguard *acceptguard_new(struct event_base *base, struct evconnlistener *lev,
                                    const char *what)
{
    struct acceptguard *g = util_xcalloc(1, sizeof(*g));

    g->lev = lev;
    g->timer = evtimer_new(base, acceptguard_timer_cb, g);
    if (g->timer == NULL) goto fail;
    util_strlcpy(g->what, what, sizeof(g->what));
    evconnlistener_set_error_cb(lev, acceptguard_error_cb);
    g->next = acceptguard_all;
    acceptguard_all = g;
    return g;
fail:
    free(g);
    return NULL;
}

unsigned long acceptguard_pauses(const struct acceptguard *g)
{
    return g ? g->pauses : 0;
}

void acceptguard_free(struct acceptguard *g)
{
    struct acceptguard **pp = &acceptguard_all;

    if (g == NULL) return;
    while (*pp != NULL && *pp != g) pp = &(*pp)->next;
    if (*pp == g) *pp = g->next;
    evconnlistener_set_error_cb(g->lev, NULL);
    event_free(g->timer);
    free(g);
}
