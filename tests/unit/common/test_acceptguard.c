/*
 * Unit tests for common/acceptguard on a real loopback listener: with the open-file limit
 * lowered so that accept() fails (EMFILE), the guard pauses instead of spinning (a handful of
 * pauses in 350 ms), and once descriptors are free again the queued connections are accepted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <errno.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acceptguard.h"

#define NCLIENTS 8

struct fixture {
    int accepted[NCLIENTS * 2];
    int naccepted;
};

/* called by libevent's evconnlistener for each accepted connection */
static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct fixture *f = arg;

    (void)lev;
    (void)sa;
    (void)salen;
    if (f->naccepted < (int)(sizeof(f->accepted) / sizeof(f->accepted[0])))
        f->accepted[f->naccepted++] = fd;
    else
        close(fd);
}

/* A listener on 127.0.0.1 and an ephemeral port; *sin receives its address when non-NULL. */
static struct evconnlistener *loopback_listener(struct event_base *base, struct fixture *f,
                                                struct sockaddr_in *sin)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    struct evconnlistener *lev;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lev = evconnlistener_new_bind(base, on_accept, f, LEV_OPT_CLOSE_ON_FREE, 64,
                                  (struct sockaddr *)&a, sizeof(a));
    assert_non_null(lev);
    assert_int_equal(getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&a, &alen), 0);
    if (sin != NULL) *sin = a;
    return lev;
}

/* Clients whose connection the server side has closed (EOF or reset); the rest are open. */
static int closed_clients(const int *fds, int n)
{
    int closed = 0;
    char c;

    for (int i = 0; i < n; i++) {
        ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) closed++;
    }
    return closed;
}

static void run_for_ms(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void test_pauses_when_out_of_fds_then_accepts_everything(void **state)
{
    struct fixture f;
    struct sockaddr_in sin;
    struct rlimit orig, low;
    struct event_base *base = event_base_new();
    struct evconnlistener *lev;
    struct acceptguard *g;
    int clients[NCLIENTS], probe;
    unsigned long pauses;

    (void)state;
    memset(&f, 0, sizeof(f));
    lev = loopback_listener(base, &f, &sin);
    g = acceptguard_new(base, lev, "test listener");
    assert_non_null(g);
    for (int i = 0; i < NCLIENTS; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(clients[i] >= 0);
        assert_int_equal(connect(clients[i], (struct sockaddr *)&sin, sizeof(sin)), 0);
    }
    /* room for exactly two more descriptors: accept() fails from the third connection on */
    probe = open("/dev/null", O_RDONLY);
    assert_true(probe >= 0);
    close(probe);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &orig), 0);
    low = orig;
    low.rlim_cur = (rlim_t)probe + 2;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);

    run_for_ms(base, 350);
    pauses = acceptguard_pauses(g);
    assert_int_equal(f.naccepted, 2);
    assert_true(pauses >= 1);
    assert_true(pauses <= 4); /* one per 100 ms pause (+ its probe), not one per try */

    assert_int_equal(setrlimit(RLIMIT_NOFILE, &orig), 0);
    run_for_ms(base, 350);
    assert_true(f.naccepted > 2);
    assert_true(acceptguard_pauses(g) == pauses);
    /* every client was accepted, or (under valgrind, whose fd-limit emulation closes what a
     * failed accept() returned) sees its connection closed: none is left waiting */
    assert_int_equal(f.naccepted + closed_clients(clients, NCLIENTS), NCLIENTS);

    for (int i = 0; i < f.naccepted; i++) close(f.accepted[i]);
    for (int i = 0; i < NCLIENTS; i++) close(clients[i]);
    acceptguard_free(g);
    evconnlistener_free(lev);
    event_base_free(base);
}

static void test_free_in_any_order_of_several(void **state)
{
    struct event_base *base = event_base_new();
    struct evconnlistener *a, *b;
    struct acceptguard *ga, *gb;
    struct fixture f;

    (void)state;
    memset(&f, 0, sizeof(f));
    a = loopback_listener(base, &f, NULL);
    b = loopback_listener(base, &f, NULL);
    ga = acceptguard_new(base, a, "a");
    gb = acceptguard_new(base, b, "b");
    assert_int_equal(acceptguard_pauses(ga), 0);
    assert_int_equal(acceptguard_pauses(NULL), 0);
    acceptguard_free(ga);
    acceptguard_free(NULL);
    acceptguard_free(gb);
    evconnlistener_free(a);
    evconnlistener_free(b);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pauses_when_out_of_fds_then_accepts_everything),
        cmocka_unit_test(test_free_in_any_order_of_several),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
