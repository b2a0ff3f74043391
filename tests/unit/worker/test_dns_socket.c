/*
 * Tests for worker/dns_socket.c on real loopback sockets: sockets open non-blocking and
 * close-on-exec, a batch is handed out in order with each datagram's sender, truncated to the
 * caller's buffer; another socket's read while a batch is unread, TCP reads and closing work;
 * held UDP sends leave together at the end of the loop turn, a closed socket's are dropped,
 * and a failed one becomes the socket's next read or send error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dns_socket.h"

static struct event_base *base;

/** What the error callback saw. */
static int errors_seen;
static ares_socket_t error_fd;

/* Called by dns_socket_flush when a held send failed. */
static void on_error(void *arg, ares_socket_t fd)
{
    (void)arg;
    errors_seen++;
    error_fd = fd;
}

static struct dns_socket *new_ds(int rcvbuf)
{
    errors_seen = 0;
    error_fd = ARES_SOCKET_BAD;
    return dns_socket_new(base, rcvbuf, on_error, NULL);
}

/* A UDP socket made by the functions, connected to to. */
static int udp_connected(struct dns_socket *ds, const struct sockaddr_in *to)
{
    const struct ares_socket_functions *fn = dns_socket_functions();
    int fd = fn->asocket(AF_INET, SOCK_DGRAM, 0, ds);

    assert_true(fd >= 0);
    assert_int_equal(fn->aconnect(fd, (const struct sockaddr *)to, sizeof(*to), ds), 0);
    return fd;
}

static void send_text(struct dns_socket *ds, int fd, const char *text)
{
    struct iovec iov = {(void *)text, strlen(text)};
    assert_int_equal(dns_socket_functions()->asendv(fd, &iov, 1, ds), (ssize_t)strlen(text));
}

/* One event-loop turn (runs the flush made active by held sends). */
static void run_turn(void)
{
    assert_true(event_base_loop(base, EVLOOP_NONBLOCK) >= 0);
}

/* The next datagram waiting on fd as a string, or "" when none. */
static const char *next_dgram(int fd)
{
    static char buf[64];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* A UDP socket bound to a free loopback port; its address in *sa. */
static int udp_bound(struct sockaddr_in *sa)
{
    socklen_t sl = sizeof(*sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    assert_true(fd >= 0);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)sa, &sl), 0);
    return fd;
}

static void send_to(int from, const struct sockaddr_in *to, const char *text)
{
    assert_int_equal(sendto(from, text, strlen(text), 0, (const struct sockaddr *)to,
                            sizeof(*to)),
                     (ssize_t)strlen(text));
}

/* One recvfrom through the functions: the text (NUL-terminated) and the sender's port. */
static ssize_t take(struct dns_socket *ds, int fd, char *buf, size_t len, uint16_t *port)
{
    struct sockaddr_in from;
    ares_socklen_t fl = sizeof(from);
    ssize_t n;

    memset(&from, 0, sizeof(from));
    n = dns_socket_functions()->arecvfrom(fd, buf, len - 1, 0, (struct sockaddr *)&from, &fl,
                                          ds);
    if (n >= 0) {
        buf[n] = '\0';
        assert_int_equal(fl, sizeof(from));
        *port = ntohs(from.sin_port);
    }
    return n;
}

static void test_open_sets_flags(void **state)
{
    struct dns_socket *ds = new_ds(4608); /* below the default: visibly set */
    const struct ares_socket_functions *fn = dns_socket_functions();
    int rcvbuf = 0;
    socklen_t sl = sizeof(rcvbuf);

    (void)state;
    for (int type = SOCK_STREAM; type <= SOCK_DGRAM; type++) {
        int fd = fn->asocket(AF_INET, type, 0, ds);
        assert_true(fd >= 0);
        assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        if (type == SOCK_DGRAM) {
            assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &sl), 0);
            assert_int_equal(rcvbuf, 2 * 4608); /* Linux doubles what is asked */
        }
        assert_int_equal(fn->aclose(fd, ds), 0);
    }
    dns_socket_free(ds);
}

static void test_batch_in_order_with_senders(void **state)
{
    struct dns_socket *ds = new_ds(0);
    struct sockaddr_in a_addr, b_addr, s1_addr, s2_addr;
    int a = udp_bound(&a_addr), b = udp_bound(&b_addr);
    int s1 = udp_bound(&s1_addr), s2 = udp_bound(&s2_addr);
    struct dns_socket_stats st;
    char buf[64];
    uint16_t port = 0;

    (void)state;
    send_to(s1, &a_addr, "one");
    send_to(s2, &a_addr, "two");
    send_to(s1, &a_addr, "three-is-long");
    send_to(s1, &b_addr, "bee");
    assert_int_equal(take(ds, a, buf, sizeof(buf), &port), 3);
    assert_string_equal(buf, "one");
    assert_int_equal(port, ntohs(s1_addr.sin_port));
    assert_true(dns_socket_buffered(ds, a));
    assert_false(dns_socket_buffered(ds, b));
    /* another socket while a's batch is unread: read directly */
    assert_int_equal(take(ds, b, buf, sizeof(buf), &port), 3);
    assert_string_equal(buf, "bee");
    assert_int_equal(take(ds, a, buf, sizeof(buf), &port), 3);
    assert_string_equal(buf, "two");
    assert_int_equal(port, ntohs(s2_addr.sin_port));
    /* truncated to the caller's buffer, as recvfrom does */
    assert_int_equal(take(ds, a, buf, 6, &port), 5);
    assert_string_equal(buf, "three");
    assert_false(dns_socket_buffered(ds, a));
    errno = 0;
    assert_int_equal(take(ds, a, buf, sizeof(buf), &port), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    dns_socket_stats(ds, &st);
    assert_int_equal(st.batch_reads, 2);
    assert_int_equal(st.datagrams, 3);
    assert_int_equal(st.handed, 3);
    close(a);
    close(b);
    close(s1);
    close(s2);
    dns_socket_free(ds);
}

static void test_close_and_discard_drop_the_batch(void **state)
{
    struct dns_socket *ds = new_ds(0);
    const struct ares_socket_functions *fn = dns_socket_functions();
    struct sockaddr_in a_addr, s_addr;
    int a = udp_bound(&a_addr), s = udp_bound(&s_addr);
    char buf[64];
    uint16_t port;

    (void)state;
    send_to(s, &a_addr, "x1");
    send_to(s, &a_addr, "x2");
    assert_int_equal(take(ds, a, buf, sizeof(buf), &port), 2);
    assert_true(dns_socket_buffered(ds, a));
    dns_socket_discard(ds, a);
    assert_false(dns_socket_buffered(ds, a));
    send_to(s, &a_addr, "x3");
    send_to(s, &a_addr, "x4");
    assert_int_equal(take(ds, a, buf, sizeof(buf), &port), 2);
    assert_string_equal(buf, "x3");
    assert_int_equal(fn->aclose(a, ds), 0);
    assert_false(dns_socket_buffered(ds, a));
    close(s);
    dns_socket_free(ds);
}

static void test_stream_and_sendv(void **state)
{
    struct dns_socket *ds = new_ds(0);
    const struct ares_socket_functions *fn = dns_socket_functions();
    struct sockaddr_in a_addr;
    int sp[2], a = udp_bound(&a_addr), c;
    struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
    char buf[16];

    (void)state;
    /* TCP-style read: c-ares passes no address */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    assert_int_equal(fn->asendv(sp[0], iov, 2, ds), 5);
    assert_int_equal(fn->arecvfrom(sp[1], buf, sizeof(buf), 0, NULL, NULL, ds), 5);
    assert_memory_equal(buf, "abcde", 5);
    /* UDP: one datagram of both pieces, on a connected socket, at the end of the loop turn */
    c = udp_connected(ds, &a_addr);
    assert_int_equal(fn->asendv(c, iov, 2, ds), 5);
    assert_string_equal(next_dgram(a), "");
    run_turn();
    assert_string_equal(next_dgram(a), "abcde");
    fn->aclose(c, ds);
    close(sp[0]);
    close(sp[1]);
    close(a);
    dns_socket_free(ds);
}

static void test_held_sends_leave_together(void **state)
{
    struct dns_socket *ds = new_ds(0);
    struct sockaddr_in a_addr;
    int a = udp_bound(&a_addr), c = udp_connected(ds, &a_addr);
    struct dns_socket_stats st;
    char want[16];

    (void)state;
    for (int i = 0; i < 5; i++) {
        snprintf(want, sizeof(want), "q%d", i);
        send_text(ds, c, want);
    }
    assert_string_equal(next_dgram(a), ""); /* held */
    run_turn();
    for (int i = 0; i < 5; i++) {
        snprintf(want, sizeof(want), "q%d", i);
        assert_string_equal(next_dgram(a), want);
    }
    dns_socket_stats(ds, &st);
    assert_int_equal(st.send_batches, 1);
    assert_int_equal(st.sent, 5);
    /* a full queue leaves at once, the rest at the end of the turn */
    for (int i = 0; i <= DNS_SOCKET_SEND_MAX; i++) send_text(ds, c, "x");
    dns_socket_stats(ds, &st);
    assert_int_equal(st.sent, 5 + DNS_SOCKET_SEND_MAX);
    run_turn();
    dns_socket_stats(ds, &st);
    assert_int_equal(st.sent, 5 + DNS_SOCKET_SEND_MAX + 1);
    assert_int_equal(st.send_batches, 3);
    dns_socket_functions()->aclose(c, ds);
    close(a);
    dns_socket_free(ds);
}

static void test_close_drops_held_sends(void **state)
{
    struct dns_socket *ds = new_ds(0);
    struct sockaddr_in a_addr, b_addr;
    int a = udp_bound(&a_addr), b = udp_bound(&b_addr), c1, c2;
    struct dns_socket_stats st;

    (void)state;
    c1 = udp_connected(ds, &a_addr);
    send_text(ds, c1, "for-a");
    dns_socket_functions()->aclose(c1, ds);
    c2 = udp_connected(ds, &b_addr); /* most likely the same descriptor number */
    run_turn();
    assert_string_equal(next_dgram(a), "");
    assert_string_equal(next_dgram(b), "");
    dns_socket_stats(ds, &st);
    assert_int_equal(st.sent, 0);
    dns_socket_functions()->aclose(c2, ds);
    close(a);
    close(b);
    dns_socket_free(ds);
}

/* Sends on c until a held send fails (the kernel's refusal of an earlier one). */
static void provoke_refusal(struct dns_socket *ds, int c)
{
    errors_seen = 0;
    for (int i = 0; i < 10 && errors_seen == 0; i++) {
        send_text(ds, c, "q"); /* the first leaves; the refusal fails a later one */
        run_turn();
    }
    assert_int_equal(errors_seen, 1);
    assert_int_equal(error_fd, c);
}

static void test_failed_send_is_the_next_error(void **state)
{
    struct dns_socket *ds = new_ds(0);
    const struct ares_socket_functions *fn = dns_socket_functions();
    struct sockaddr_in gone, from;
    ares_socklen_t fl = sizeof(from);
    int g = udp_bound(&gone), c;
    char buf[16];
    struct iovec iov = {"q", 1};

    (void)state;
    close(g); /* nothing listens there: the kernel answers with port unreachable */
    c = udp_connected(ds, &gone);
    /* the next read returns it, once */
    provoke_refusal(ds, c);
    errno = 0;
    assert_int_equal(fn->arecvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl, ds),
                     -1);
    assert_int_equal(errno, ECONNREFUSED);
    errno = 0;
    assert_int_equal(fn->arecvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl, ds),
                     -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    /* or the next send, if it comes first, once */
    provoke_refusal(ds, c);
    errno = 0;
    assert_int_equal(fn->asendv(c, &iov, 1, ds), -1);
    assert_int_equal(errno, ECONNREFUSED);
    assert_int_equal(fn->asendv(c, &iov, 1, ds), 1);
    fn->aclose(c, ds);
    dns_socket_free(ds);
}

static int group_setup(void **state)
{
    (void)state;
    base = event_base_new();
    return base == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    event_base_free(base);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_sets_flags),
        cmocka_unit_test(test_batch_in_order_with_senders),
        cmocka_unit_test(test_close_and_discard_drop_the_batch),
        cmocka_unit_test(test_stream_and_sendv),
        cmocka_unit_test(test_held_sends_leave_together),
        cmocka_unit_test(test_close_drops_held_sends),
        cmocka_unit_test(test_failed_send_is_the_next_error),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
