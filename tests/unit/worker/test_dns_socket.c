/*
 * Tests for worker/dns_socket.c on real loopback sockets: sockets open non-blocking and
 * close-on-exec, a batch is handed out in order with each datagram's sender, truncated to the
 * caller's buffer; another socket's read while a batch is unread, TCP reads and closing work.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dns_socket.h"

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
    struct dns_socket *ds = dns_socket_new(4608); /* below the default: visibly set */
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
    struct dns_socket *ds = dns_socket_new(0);
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
    struct dns_socket *ds = dns_socket_new(0);
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
    struct dns_socket *ds = dns_socket_new(0);
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
    /* UDP: one datagram of both pieces, on a connected socket */
    c = fn->asocket(AF_INET, SOCK_DGRAM, 0, ds);
    assert_int_equal(fn->aconnect(c, (struct sockaddr *)&a_addr, sizeof(a_addr), ds), 0);
    assert_int_equal(fn->asendv(c, iov, 2, ds), 5);
    assert_int_equal(recv(a, buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "abcde", 5);
    fn->aclose(c, ds);
    close(sp[0]);
    close(sp[1]);
    close(a);
    dns_socket_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_sets_flags),
        cmocka_unit_test(test_batch_in_order_with_senders),
        cmocka_unit_test(test_close_and_discard_drop_the_batch),
        cmocka_unit_test(test_stream_and_sendv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
