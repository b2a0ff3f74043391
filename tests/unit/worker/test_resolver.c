/*
 * Tests for worker/resolver.c against a small UDP DNS server run in the test's own event loop
 * (it records each query's source port and can hold answers back): one socket serves many
 * queries, the channel is replaced after N queries or an age, a retired channel still answers
 * what it sent and is then closed (at most RESOLVER_MAX_DRAINING wait at once), answers
 * waiting together are read in batches, and every callback runs exactly once, also on
 * resolver_free.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ares.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "resolver.h"

#define SRV_MAX 64
#define WAIT_MS 5000

/** A UDP DNS server answering NOERROR with an empty answer section (the query echoed). */
struct dns_srv {
    evutil_socket_t fd;
    struct event ev;
    char addr[32]; /* "127.0.0.1:PORT" for resolver_new */
    bool hold;     /* keep answers until srv_release */
    int nq;
    uint16_t ports[SRV_MAX]; /* source port of each query */
    int nheld;
    struct {
        struct sockaddr_in to;
        unsigned char buf[512];
        size_t len;
    } held[SRV_MAX];
};

/* Called by libevent when the server socket is readable. */
static void srv_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dns_srv *s = arg;
    unsigned char buf[512];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n;

    (void)what;
    while ((n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl)) >
           12) {
        assert_true(s->nq < SRV_MAX);
        s->ports[s->nq++] = ntohs(from.sin_port);
        buf[2] |= 0x80; /* QR */
        buf[3] = (unsigned char)((buf[3] & 0x70) | 0x80); /* RA, RCODE NOERROR */
        if (s->hold) {
            assert_true(s->nheld < SRV_MAX);
            s->held[s->nheld].to = from;
            memcpy(s->held[s->nheld].buf, buf, (size_t)n);
            s->held[s->nheld].len = (size_t)n;
            s->nheld++;
        } else {
            assert_int_equal(sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl), n);
        }
        fl = sizeof(from);
    }
}

static void srv_release(struct dns_srv *s)
{
    for (int i = 0; i < s->nheld; i++) {
        assert_int_equal(sendto(s->fd, s->held[i].buf, s->held[i].len, 0,
                                (struct sockaddr *)&s->held[i].to, sizeof(s->held[i].to)),
                         (ssize_t)s->held[i].len);
    }
    s->nheld = 0;
    s->hold = false;
}

struct fixture {
    struct event_base *base;
    struct dns_srv srv;
    struct resolver *r;
    int fds_before; /* open descriptors before the resolver existed */
};

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    return n - 1; /* the DIR's own descriptor */
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    char err[160];

    assert_non_null(f);
    f->base = event_base_new();
    assert_non_null(f->base);
    f->srv.fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(f->srv.fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->srv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(f->srv.fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(f->srv.addr, sizeof(f->srv.addr), "127.0.0.1:%u", ntohs(sa.sin_port));
    event_assign(&f->srv.ev, f->base, f->srv.fd, EV_READ | EV_PERSIST, srv_read_cb, &f->srv);
    assert_int_equal(event_add(&f->srv.ev, NULL), 0);
    f->fds_before = open_fds();
    f->r = resolver_new(f->base, f->srv.addr, 1000, 2, err, sizeof(err));
    assert_non_null(f->r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    resolver_free(f->r);
    event_del(&f->srv.ev);
    close(f->srv.fd);
    event_base_free(f->base);
    free(f);
    return 0;
}

/** What one query's callback saw. */
struct answer {
    int calls;
    int status;
    int alen;
};

/* Called by the resolver once per resolver_query. */
static void answer_cb(void *arg, int status, const unsigned char *abuf, int alen)
{
    struct answer *a = arg;

    a->calls++;
    a->status = status;
    a->alen = abuf != NULL ? alen : 0;
}

/* Called by libevent when a wait runs out. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(bool *)arg = true;
}

/* Runs the loop until *count reaches want (fails after WAIT_MS). */
static void run_until(struct fixture *f, const int *count, int want)
{
    bool expired = false;
    struct event deadline;
    struct timeval tv = {WAIT_MS / 1000, 0};

    evtimer_assign(&deadline, f->base, deadline_cb, &expired);
    evtimer_add(&deadline, &tv);
    while (*count < want && !expired) event_base_loop(f->base, EVLOOP_ONCE);
    evtimer_del(&deadline);
    assert_true(*count >= want);
}

/* Runs the loop for ms milliseconds (lets queued events such as the reaper run). */
static void run_for(struct fixture *f, int ms)
{
    bool expired = false;
    struct event deadline;
    struct timeval tv = {0, ms * 1000};

    evtimer_assign(&deadline, f->base, deadline_cb, &expired);
    evtimer_add(&deadline, &tv);
    while (!expired) event_base_loop(f->base, EVLOOP_ONCE);
}

/* One query, answered before returning. */
static void query_one(struct fixture *f, struct answer *a)
{
    memset(a, 0, sizeof(*a));
    resolver_query(f->r, "a.example.test", 257, answer_cb, a);
    run_until(f, &a->calls, 1);
    assert_int_equal(a->calls, 1);
    assert_int_equal(a->status, ARES_SUCCESS);
    assert_true(a->alen > 12);
}

static void test_one_socket_serves_sequential_queries(void **state)
{
    struct fixture *f = *state;
    struct answer a;

    resolver_set_socket_reuse(f->r, 100, 60000);
    for (int i = 0; i < 5; i++) query_one(f, &a);
    assert_int_equal(f->srv.nq, 5);
    for (int i = 1; i < 5; i++) assert_int_equal(f->srv.ports[i], f->srv.ports[0]);
    assert_int_equal(resolver_channels_made(f->r), 1);
    run_for(f, 20);
    assert_int_equal(open_fds(), f->fds_before + 1); /* the socket stayed open, only it */
}

static void test_new_socket_after_n_queries(void **state)
{
    struct fixture *f = *state;
    struct answer a;

    resolver_set_socket_reuse(f->r, 3, 60000);
    for (int i = 0; i < 7; i++) query_one(f, &a);
    assert_int_equal(f->srv.nq, 7);
    assert_int_equal(f->srv.ports[1], f->srv.ports[0]);
    assert_int_equal(f->srv.ports[2], f->srv.ports[0]);
    assert_int_not_equal(f->srv.ports[3], f->srv.ports[0]);
    assert_int_equal(f->srv.ports[4], f->srv.ports[3]);
    assert_int_equal(f->srv.ports[5], f->srv.ports[3]);
    assert_int_not_equal(f->srv.ports[6], f->srv.ports[3]);
    assert_int_equal(resolver_channels_made(f->r), 3);
    run_for(f, 20);
    assert_int_equal(open_fds(), f->fds_before + 1); /* retired channels were closed */
}

static void test_new_socket_after_max_age(void **state)
{
    struct fixture *f = *state;
    struct answer a;

    resolver_set_socket_reuse(f->r, 1000, 30);
    query_one(f, &a);
    query_one(f, &a); /* well within 30 ms of the first: same socket */
    run_for(f, 40);
    query_one(f, &a);
    assert_int_equal(f->srv.nq, 3);
    assert_int_equal(f->srv.ports[1], f->srv.ports[0]);
    assert_int_not_equal(f->srv.ports[2], f->srv.ports[0]);
    assert_int_equal(resolver_channels_made(f->r), 2);
}

static void test_retired_channel_answers_its_queries(void **state)
{
    struct fixture *f = *state;
    struct answer a[3];
    int done = 0;

    memset(a, 0, sizeof(a));
    resolver_set_socket_reuse(f->r, 2, 60000);
    f->srv.hold = true;
    for (int i = 0; i < 3; i++) resolver_query(f->r, "a.example.test", 257, answer_cb, &a[i]);
    while (f->srv.nq < 3) event_base_loop(f->base, EVLOOP_ONCE);
    assert_int_equal(resolver_channels_made(f->r), 2);
    assert_int_equal(open_fds(), f->fds_before + 2); /* the retired socket waits for answers */
    for (int i = 0; i < 3; i++) assert_int_equal(a[i].calls, 0);
    srv_release(&f->srv);
    for (int i = 0; i < 3; i++) {
        run_until(f, &a[i].calls, 1);
        done += a[i].calls;
        assert_int_equal(a[i].status, ARES_SUCCESS);
    }
    assert_int_equal(done, 3);
    assert_int_equal(f->srv.ports[1], f->srv.ports[0]);
    assert_int_not_equal(f->srv.ports[2], f->srv.ports[0]);
    run_for(f, 20);
    assert_int_equal(open_fds(), f->fds_before + 1); /* then it was closed */
}

static void test_answers_are_read_in_batches(void **state)
{
    struct fixture *f = *state;
    enum { N = DNS_SOCKET_BATCH + 4 };
    struct answer a[N];
    struct dns_socket_stats st;

    memset(a, 0, sizeof(a));
    resolver_set_socket_reuse(f->r, 1000, 60000);
    f->srv.hold = true;
    for (int i = 0; i < N; i++) resolver_query(f->r, "a.example.test", 257, answer_cb, &a[i]);
    while (f->srv.nq < N) event_base_loop(f->base, EVLOOP_ONCE);
    srv_release(&f->srv); /* all N answers wait in the socket before the worker reads */
    for (int i = 0; i < N; i++) {
        run_until(f, &a[i].calls, 1);
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].status, ARES_SUCCESS);
        assert_true(a[i].alen > 12);
    }
    resolver_io_stats(f->r, &st);
    assert_int_equal(st.datagrams, N);
    assert_int_equal(st.handed, N);
    /* a full batch, the rest, and the read that found the socket empty */
    assert_int_equal(st.batch_reads, 3);
}

static void test_retired_channels_are_capped(void **state)
{
    struct fixture *f = *state;
    enum { N = 2 * (RESOLVER_MAX_DRAINING + 3) };
    struct answer a[N], more;

    memset(a, 0, sizeof(a));
    resolver_set_socket_reuse(f->r, 2, 60000);
    f->srv.hold = true; /* a resolver that stopped answering */
    for (int i = 0; i < N; i++) resolver_query(f->r, "a.example.test", 257, answer_cb, &a[i]);
    while (f->srv.nq < N) event_base_loop(f->base, EVLOOP_ONCE);
    /* the current channel, and the retired ones up to the cap: the last took the rest */
    assert_int_equal(resolver_channels_made(f->r), RESOLVER_MAX_DRAINING + 1);
    assert_int_equal(open_fds(), f->fds_before + RESOLVER_MAX_DRAINING + 1);
    srv_release(&f->srv);
    for (int i = 0; i < N; i++) {
        run_until(f, &a[i].calls, 1);
        assert_int_equal(a[i].status, ARES_SUCCESS);
    }
    run_for(f, 20);
    assert_int_equal(open_fds(), f->fds_before + 1);
    query_one(f, &more); /* drained: rotation goes on */
    assert_int_equal(resolver_channels_made(f->r), RESOLVER_MAX_DRAINING + 2);
    assert_int_not_equal(f->srv.ports[N], f->srv.ports[N - 1]);
}

/** A callback that asks again while the resolver is being destroyed. */
struct requery {
    struct resolver *r;
    struct answer first;
    struct answer again;
};

/* Called by the resolver for the first query; queries again once. */
static void requery_cb(void *arg, int status, const unsigned char *abuf, int alen)
{
    struct requery *q = arg;

    answer_cb(&q->first, status, abuf, alen);
    if (q->first.calls == 1) resolver_query(q->r, "b.example.test", 257, answer_cb, &q->again);
}

static void test_free_completes_pending_queries_once(void **state)
{
    struct fixture *f = *state;
    struct answer a[2];
    struct requery rq;

    memset(a, 0, sizeof(a));
    memset(&rq, 0, sizeof(rq));
    rq.r = f->r;
    resolver_set_socket_reuse(f->r, 2, 60000);
    f->srv.hold = true;
    resolver_query(f->r, "a.example.test", 257, answer_cb, &a[0]);
    resolver_query(f->r, "a.example.test", 257, answer_cb, &a[1]);
    resolver_query(f->r, "a.example.test", 257, requery_cb, &rq); /* on the next channel */
    while (f->srv.nq < 3) event_base_loop(f->base, EVLOOP_ONCE);
    resolver_free(f->r);
    f->r = NULL;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].status, ARES_EDESTRUCTION);
    }
    assert_int_equal(rq.first.calls, 1);
    assert_int_equal(rq.first.status, ARES_EDESTRUCTION);
    assert_int_equal(rq.again.calls, 1);
    assert_int_equal(rq.again.status, ARES_EDESTRUCTION);
    srv_release(&f->srv); /* answers to closed sockets go nowhere */
    run_for(f, 20);
    assert_int_equal(open_fds(), f->fds_before);
    assert_int_equal(a[0].calls + a[1].calls + rq.first.calls + rq.again.calls, 4);
}

static void test_unanswered_query_times_out_once(void **state)
{
    struct fixture *f = *state;
    struct answer a;
    char err[160];

    resolver_free(f->r);
    f->r = resolver_new(f->base, f->srv.addr, 50, 2, err, sizeof(err));
    assert_non_null(f->r);
    f->srv.hold = true;
    memset(&a, 0, sizeof(a));
    resolver_query(f->r, "a.example.test", 257, answer_cb, &a);
    run_until(f, &a.calls, 1);
    assert_int_equal(a.status, ARES_ETIMEOUT);
    assert_int_equal(f->srv.nq, 2); /* both tries were sent */
    run_for(f, 20);
    assert_int_equal(a.calls, 1);
}

/** A query to send from a later event of the same loop turn. */
struct later_query {
    struct resolver *r;
    struct answer *a;
};

/* Called by libevent (made active by the test). */
static void query_later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct later_query *q = arg;

    (void)fd;
    (void)what;
    resolver_query(q->r, "b.example.test", 257, answer_cb, q->a);
}

static void test_refused_port_fails_fast(void **state)
{
    struct fixture *f = *state;
    struct answer a[5];
    struct later_query rq;
    struct event later;
    struct dns_socket_stats st;
    char err[160], addr[32];
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    /* a port that was just free: nothing listens, the kernel answers ICMP port unreachable */
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
    resolver_free(f->r);
    f->r = resolver_new(f->base, addr, WAIT_MS * 2, 2, err, sizeof(err));
    assert_non_null(f->r);
    /* one query: the refusal comes back as the socket's read error */
    memset(a, 0, sizeof(a));
    resolver_query(f->r, "a.example.test", 257, answer_cb, &a[0]);
    run_until(f, &a[0].calls, 1); /* well before the first try's timeout */
    assert_int_equal(a[0].calls, 1);
    assert_int_equal(a[0].status, ARES_ECONNREFUSED);
    /* several in one batch: the refusal of the first stops the rest, which fail fast too */
    memset(a, 0, sizeof(a));
    for (int i = 0; i < 5; i++) resolver_query(f->r, "a.example.test", 257, answer_cb, &a[i]);
    for (int i = 0; i < 5; i++) {
        run_until(f, &a[i].calls, 1);
        assert_int_equal(a[i].calls, 1);
        assert_int_equal(a[i].status, ARES_ECONNREFUSED);
    }
    /* a query held after the refusal, in the same loop turn: its send takes the error from
     * the socket, so epoll never reports it; the resolver must have c-ares read it */
    memset(a, 0, sizeof(a));
    rq.r = f->r;
    rq.a = &a[1];
    event_assign(&later, f->base, -1, 0, query_later_cb, &rq);
    resolver_query(f->r, "a.example.test", 257, answer_cb, &a[0]);
    event_active(&later, 0, 0); /* runs right after the send of a[0] */
    run_until(f, &a[0].calls, 1);
    run_until(f, &a[1].calls, 1);
    assert_int_equal(a[0].status, ARES_ECONNREFUSED);
    assert_int_equal(a[1].status, ARES_ECONNREFUSED);
    resolver_io_stats(f->r, &st);
    assert_true(st.send_batches >= 2);
}

static void test_bad_arguments(void **state)
{
    struct fixture *f = *state;
    char err[160];

    err[0] = '\0';
    assert_null(resolver_new(f->base, "", 1000, 2, err, sizeof(err)));
    assert_string_equal(err, "no resolver address given");
    assert_null(resolver_new(f->base, f->srv.addr, 0, 2, err, sizeof(err)));
    assert_string_equal(err, "resolver timeout and tries must be positive");
    assert_null(resolver_new(f->base, "not-an-address", 1000, 2, err, sizeof(err)));
    assert_non_null(strstr(err, "bad resolver list \"not-an-address\""));
    /* values <= 0 leave the setting alone; a NULL resolver is ignored */
    resolver_set_socket_reuse(f->r, 0, -1);
    resolver_set_socket_reuse(NULL, 1, 1);
    assert_int_equal(resolver_channels_made(NULL), 0);
    assert_int_equal(open_fds(), f->fds_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_socket_serves_sequential_queries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_new_socket_after_n_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_socket_after_max_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retired_channel_answers_its_queries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_answers_are_read_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retired_channels_are_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_completes_pending_queries_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unanswered_query_times_out_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_port_fails_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
