/*
 * A private redis-server for unit tests that need a real one: started on a port the kernel
 * just reported free, checked to be ours, stopped by PID. Header-only (static functions) so
 * every test binary that includes it gets its own copy.
 */
#ifndef MPIC_TEST_REDIS_SERVER_H
#define MPIC_TEST_REDIS_SERVER_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

struct test_redis {
    pid_t pid;
    int port;
};

/* A port the kernel just reported free (bind to port 0), for redis-server to take. */
static int test_redis_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static void test_redis_stop(struct test_redis *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGCONT);
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
        t->pid = 0;
    }
}

/* A blocking hiredis connection to t (the caller frees it), or NULL. */
static redisContext *test_redis_connect(const struct test_redis *t)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", t->port, tv);
    if (c != NULL && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Forks redis-server on t->port (again, after a stop, for restart tests); does not wait. */
static void test_redis_spawn(struct test_redis *t)
{
    char portbuf[16];
    snprintf(portbuf, sizeof(portbuf), "%d", t->port);
    t->pid = fork();
    if (t->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", portbuf, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
}

/* Starts redis-server and waits (up to ~3 s per try) until it answers PING; 0 or -1. */
static int test_redis_start(struct test_redis *t)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        t->port = test_redis_free_port();
        if (t->port <= 0) continue;
        test_redis_spawn(t);
        for (int i = 0; i < 150; i++) {
            redisContext *c = test_redis_connect(t);
            redisReply *r = c ? redisCommand(c, "PING") : NULL;
            bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
            if (r) freeReplyObject(r);
            if (c) redisFree(c);
            /* the server that answered must be ours, not another test's on a reused port */
            if (ok && waitpid(t->pid, NULL, WNOHANG) == 0) return 0;
            if (waitpid(t->pid, NULL, WNOHANG) != 0) break;
            usleep(20000);
        }
        test_redis_stop(t);
    }
    return -1;
}

/* The server of a test binary, started once for its group of tests. */
static struct test_redis test_srv;

/* cmocka group setup/teardown for test_srv */
static int test_redis_group_setup(void **state)
{
    (void)state;
    return test_redis_start(&test_srv);
}

static int test_redis_group_teardown(void **state)
{
    (void)state;
    test_redis_stop(&test_srv);
    return 0;
}

#endif
