/*
 * acme-tls-alpn-01 check. One struct tls_alpn per check: resolve AAAA and A (special-purpose
 * addresses dropped), connect a non-blocking socket to the first usable IPv6 address and on
 * any transport failure to the first IPv4 one, then drive SSL_do_handshake() from libevent
 * read/write events. Connect and handshake each have a timeout, the job deadline bounds the
 * whole check. Lookups cannot be cancelled, so the struct lives until they have called back.
 */
#include "tls_alpn_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acme_cert.h"
#include "clock.h"
#include "dns_lookup.h"
#include "dnsname.h"
#include "addr_pick.h"
#include "ipfilter.h"
#include "log.h"
#include "tlsclient.h"
#include "util.h"

#define TLS_ALPN_METHOD "acme-tls-alpn-01"
#define TLS_ALPN_IP_MAX 64
#define TLS_ALPN_PEER_MAX (TLS_ALPN_IP_MAX + 8)
#define TLS_ALPN_MSG_MAX 1024

#define TLS_ALPN_ERR_LOOKUP "mpic_error:dcv_checker:lookup"
#define TLS_ALPN_ERR_PARAM "mpic_error:dcv_checker:parameter"
#define TLS_ALPN_ERR_CONNECT "mpic_error:dcv_checker:tls_alpn:connection"
#define TLS_ALPN_ERR_HANDSHAKE "mpic_error:dcv_checker:tls_alpn:handshake"
#define TLS_ALPN_ERR_ALPN "mpic_error:dcv_checker:tls_alpn:alpn_not_negotiated"
#define TLS_ALPN_ERR_NO_CERT "mpic_error:dcv_checker:tls_alpn:certificate:missing"

enum tls_alpn_state {
    TLS_ALPN_RESOLVING = 0,   /* AAAA and A lookups are outstanding */
    TLS_ALPN_CONNECTING = 1,  /* non-blocking connect() in progress, waiting for writable */
    TLS_ALPN_HANDSHAKING = 2, /* SSL_do_handshake() wants to read or write */
    TLS_ALPN_DONE = 3,        /* callback called; waiting for outstanding lookups */
};

struct tls_alpn {
    const struct check_env *env;
    check_done_cb cb;
    void *arg;
    enum tls_alpn_state state;
    int outstanding; /* lookups that have not called back yet (+1 while inside start) */
    bool in_start;   /* inside tls_alpn_check_start(): completion must be deferred */

    char target[DNSNAME_MAX]; /* the name or IP literal being validated */
    char sni[DNSNAME_MAX];    /* the name, or the reverse-DNS name of an IP target */
    struct acme_cert_expect expect;

    int dns_pending;
    struct addr_pick_family fam6;
    struct addr_pick_family fam4;
    bool on_v6;                   /* the connection in progress goes to fam6.ip */
    char ip[TLS_ALPN_IP_MAX];     /* address contacted last */
    char peer[TLS_ALPN_PEER_MAX]; /* "ip:port" / "[ip]:port" for messages */

    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    struct event io_ev;
    bool io_armed;
    int64_t phase_end_mono; /* end of the current connect or handshake phase */
    int64_t end_mono;       /* end of the whole check */
    struct check_deadline deadline;

    char cn[ACME_CERT_CN_MAX];
    struct check_result res;
};

static void tls_alpn_connect_addr(struct tls_alpn *t, const char *ip);

/* ---------------------------------------------------------------- pure helpers ---- */

int tls_alpn_reverse_name(const char *ip, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t used = 0;
    int n;

    if (ip == NULL || outlen == 0) return -1;
    if (inet_pton(AF_INET, ip, raw) == 1) {
        n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", raw[3], raw[2], raw[1], raw[0]);
        return n > 0 && (size_t)n < outlen ? 0 : -1;
    }
    if (inet_pton(AF_INET6, ip, raw) != 1) return -1;
    for (int i = 15; i >= 0; i--) {
        if (used + 4 >= outlen) return -1;
        out[used++] = hex[raw[i] & 0x0f];
        out[used++] = '.';
        out[used++] = hex[raw[i] >> 4];
        out[used++] = '.';
    }
    out[used] = '\0';
    return util_strlcpy(out + used, "ip6.arpa", outlen - used) ? 0 : -1;
}

/* ------------------------------------------------------------- lifecycle helpers ---- */

static void tls_alpn_close(struct tls_alpn *t)
{
    if (t->io_armed) {
        event_del(&t->io_ev);
        t->io_armed = false;
    }
    if (t->ssl != NULL) {
        if (SSL_is_init_finished(t->ssl)) {
            ERR_clear_error();
            (void)SSL_shutdown(t->ssl); /* best-effort close_notify; never waited for */
        }
        SSL_free(t->ssl);
        t->ssl = NULL;
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    ERR_clear_error();
}

static void tls_alpn_free(struct tls_alpn *t)
{
    tls_alpn_close(t);
    if (t->ctx != NULL) SSL_CTX_free(t->ctx);
    check_result_clear(&t->res);
    free(t);
}

static void tls_alpn_maybe_free(struct tls_alpn *t)
{
    if (t->state == TLS_ALPN_DONE && t->outstanding == 0) tls_alpn_free(t);
}

static json_t *tls_alpn_details(const struct tls_alpn *t)
{
    json_t *d = json_object();
    json_t *cn = t->cn[0] != '\0' ? json_string(t->cn) : NULL;

    json_object_set_new(d, "validation_method", json_string(TLS_ALPN_METHOD));
    json_object_set_new(d, "common_name", cn != NULL ? cn : json_null());
    return d;
}

/* The single completion path: calls the user back once, then frees when nothing is left. */
static void tls_alpn_finish(struct tls_alpn *t)
{
    struct check_result out;

    if (t->state == TLS_ALPN_DONE) return;
    t->state = TLS_ALPN_DONE;
    check_deadline_cancel(&t->deadline);
    tls_alpn_close(t);
    json_decref(t->res.details);
    t->res.details = tls_alpn_details(t);
    t->res.timestamp_ns = clock_real_ns();
    out = t->res;
    memset(&t->res, 0, sizeof(t->res));
    if (t->in_start) check_finish_later(t->env->base, t->cb, t->arg, &out);
    else t->cb(t->arg, &out);
    tls_alpn_maybe_free(t);
}

/* Records one error (message suffixed with the perspective) and finishes. */
static void tls_alpn_fail(struct tls_alpn *t, bool completed, const char *type, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
static void tls_alpn_fail(struct tls_alpn *t, bool completed, const char *type, const char *fmt,
                          ...)
{
    char msg[TLS_ALPN_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    t->res.completed = completed;
    t->res.passed = false;
    check_result_add_error_at(&t->res, t->env, type, "%s", msg);
    log_debug("tls-alpn: %s: %s", type, msg);
    tls_alpn_finish(t);
}

/*
 * A transport failure on the current address: retry on the IPv4 address when the IPv6 one
 * failed and time is left (as Boulder does), else fail incomplete.
 */
static void tls_alpn_transport_fail(struct tls_alpn *t, const char *type, const char *what)
{
    if (t->on_v6 && t->fam4.ip[0] != '\0' && t->end_mono - clock_mono_ms() > 0) {
        log_debug("tls-alpn: %s via %s failed (%s), trying %s", t->target, t->peer, what,
                  t->fam4.ip);
        tls_alpn_close(t);
        tls_alpn_connect_addr(t, t->fam4.ip);
        return;
    }
    tls_alpn_fail(t, false, type, "TLS-ALPN-01 for %s (SNI %s) at %s: %s", t->target, t->sni,
                  t->peer, what);
}

/* called by libevent when the whole check's time budget is spent */
static void tls_alpn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct tls_alpn *t = arg;

    t->deadline.armed = false;
    if (t->state == TLS_ALPN_RESOLVING) {
        tls_alpn_fail(t, false, TLS_ALPN_ERR_LOOKUP,
                      "Timeout looking up %s: no DNS answer before the check deadline",
                      t->target);
    } else {
        tls_alpn_fail(t, false,
                      t->state == TLS_ALPN_CONNECTING ? TLS_ALPN_ERR_CONNECT
                                                      : TLS_ALPN_ERR_HANDSHAKE,
                      "TLS-ALPN-01 for %s (SNI %s) at %s: %s not finished before the check "
                      "deadline",
                      t->target, t->sni, t->peer,
                      t->state == TLS_ALPN_CONNECTING ? "TCP connect" : "TLS handshake");
    }
}

/* ---------------------------------------------------------------------- the TLS part ---- */

static void tls_alpn_io_cb(evutil_socket_t fd, short what, void *arg);

/* Waits for fd to become readable/writable until the current phase's end. */
static void tls_alpn_wait(struct tls_alpn *t, short events)
{
    int64_t end = t->phase_end_mono < t->end_mono ? t->phase_end_mono : t->end_mono;
    int64_t left = end - clock_mono_ms();
    struct timeval tv;

    tv = util_ms_timeval(left); /* a passed deadline fires now */
    if (t->io_armed) event_del(&t->io_ev);
    event_assign(&t->io_ev, t->env->base, t->fd, events, tls_alpn_io_cb, t);
    if (event_add(&t->io_ev, &tv) != 0) abort(); /* cannot wait: a broken event base */
    t->io_armed = true;
}

/* The handshake is complete: ALPN, then the certificate rules. */
static void tls_alpn_judge(struct tls_alpn *t)
{
    const unsigned char *proto = NULL;
    unsigned int plen = 0;
    X509 *cert;
    enum acme_cert_verdict v;
    char why[256];

    if (t->io_armed) {
        event_del(&t->io_ev);
        t->io_armed = false;
    }
    cert = SSL_get0_peer_certificate(t->ssl);
    if (cert != NULL) {
        v = acme_cert_check(cert, &t->expect, t->cn, sizeof(t->cn), why, sizeof(why));
    } else {
        v = ACME_CERT_UNPARSEABLE;
        t->cn[0] = '\0';
    }
    SSL_get0_alpn_selected(t->ssl, &proto, &plen);
    if (plen != strlen(TLS_ALPN_PROTOCOL) || memcmp(proto, TLS_ALPN_PROTOCOL, plen) != 0) {
        tls_alpn_fail(t, true, TLS_ALPN_ERR_ALPN,
                      "The TLS server at %s did not negotiate ALPN protocol \"%s\" for %s (SNI "
                      "%s)%s",
                      t->peer, TLS_ALPN_PROTOCOL, t->target, t->sni,
                      plen == 0 ? ": no ALPN protocol selected" : "");
        return;
    }
    if (cert == NULL) {
        tls_alpn_fail(t, true, TLS_ALPN_ERR_NO_CERT,
                      "The TLS server at %s sent no certificate for %s (SNI %s)", t->peer,
                      t->target, t->sni);
        return;
    }
    if (v != ACME_CERT_OK) {
        tls_alpn_fail(t, true, acme_cert_error_type(v),
                      "The TLS-ALPN-01 certificate from %s for %s (SNI %s) is not acceptable: %s",
                      t->peer, t->target, t->sni, why);
        return;
    }
    t->res.completed = true;
    t->res.passed = true;
    tls_alpn_finish(t);
}

/* Runs the handshake as far as the socket allows. */
static void tls_alpn_handshake_step(struct tls_alpn *t)
{
    int rc, err;
    char what[384];

    ERR_clear_error();
    errno = 0;
    rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        tls_alpn_judge(t);
        return;
    }
    err = SSL_get_error(t->ssl, rc);
    if (err == SSL_ERROR_WANT_READ) {
        tls_alpn_wait(t, EV_READ);
    } else if (err == SSL_ERROR_WANT_WRITE) {
        tls_alpn_wait(t, EV_WRITE);
    } else {
        tlsclient_error(t->ssl, rc, "TLS handshake failed", what, sizeof(what));
        tls_alpn_transport_fail(t, TLS_ALPN_ERR_HANDSHAKE, what);
    }
}

/* The TCP connection is up: set up the TLS client and send the ClientHello. */
static void tls_alpn_start_tls(struct tls_alpn *t)
{
    static const unsigned char alpn[] = "\x0a" TLS_ALPN_PROTOCOL;
    int64_t hs = t->env->http_timeout_ms > 0 ? t->env->http_timeout_ms
                                             : TLS_ALPN_DEFAULT_HANDSHAKE_MS;

    t->state = TLS_ALPN_HANDSHAKING;
    t->phase_end_mono = clock_mono_ms() + hs;
    t->ssl = SSL_new(t->ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, t->fd) != 1 ||
        SSL_set_tlsext_host_name(t->ssl, t->sni) != 1 ||
        SSL_set_alpn_protos(t->ssl, alpn, sizeof(alpn) - 1) != 0) {
        tls_alpn_fail(t, false, TLS_ALPN_ERR_HANDSHAKE,
                      "TLS-ALPN-01 for %s at %s: cannot set up the TLS client", t->target,
                      t->peer);
        return;
    }
    SSL_set_connect_state(t->ssl);
    tls_alpn_handshake_step(t);
}

/* called by libevent when the socket is ready (or the phase timed out) */
static void tls_alpn_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct tls_alpn *t = arg;
    int soerr = 0;
    socklen_t slen = sizeof(soerr);
    char msg[256];

    t->io_armed = false;
    if (what & EV_TIMEOUT) {
        bool deadline = clock_mono_ms() >= t->end_mono;
        snprintf(msg, sizeof(msg), "%s timed out%s",
                 t->state == TLS_ALPN_CONNECTING ? "TCP connect" : "TLS handshake",
                 deadline ? " at the check deadline" : "");
        tls_alpn_transport_fail(t, t->state == TLS_ALPN_CONNECTING ? TLS_ALPN_ERR_CONNECT
                                                                    : TLS_ALPN_ERR_HANDSHAKE,
                                msg);
        return;
    }
    if (t->state == TLS_ALPN_HANDSHAKING) {
        tls_alpn_handshake_step(t);
        return;
    }
    if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0) soerr = errno;
    if (soerr != 0) {
        snprintf(msg, sizeof(msg), "TCP connect failed: %s", strerror(soerr));
        tls_alpn_transport_fail(t, TLS_ALPN_ERR_CONNECT, msg);
        return;
    }
    tls_alpn_start_tls(t);
}

/* Connects to one address on the TLS-ALPN port. */
static void tls_alpn_connect_addr(struct tls_alpn *t, const char *ip)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int port = t->env->tls_alpn_port > 0 ? t->env->tls_alpn_port : 443;
    int64_t ct = t->env->http_connect_timeout_ms > 0 ? t->env->http_connect_timeout_ms
                                                     : TLS_ALPN_DEFAULT_CONNECT_MS;
    bool v6 = strchr(ip, ':') != NULL;
    char msg[256];

    memset(&ss, 0, sizeof(ss));
    t->on_v6 = v6;
    util_strlcpy(t->ip, ip, sizeof(t->ip));
    snprintf(t->peer, sizeof(t->peer), v6 ? "[%s]:%d" : "%s:%d", ip, port);
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1) goto bad_addr;
        sslen = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1) goto bad_addr;
        sslen = sizeof(*s4);
    }
    t->state = TLS_ALPN_CONNECTING;
    t->phase_end_mono = clock_mono_ms() + ct;
    t->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->fd < 0) {
        snprintf(msg, sizeof(msg), "cannot create a socket: %s", strerror(errno));
        tls_alpn_transport_fail(t, TLS_ALPN_ERR_CONNECT, msg);
        return;
    }
    if (connect(t->fd, (struct sockaddr *)&ss, sslen) == 0) {
        tls_alpn_start_tls(t);
        return;
    }
    if (errno != EINPROGRESS) {
        snprintf(msg, sizeof(msg), "TCP connect failed: %s", strerror(errno));
        tls_alpn_transport_fail(t, TLS_ALPN_ERR_CONNECT, msg);
        return;
    }
    tls_alpn_wait(t, EV_WRITE);
    return;
bad_addr:
    tls_alpn_fail(t, false, TLS_ALPN_ERR_CONNECT, "TLS-ALPN-01 for %s: unusable address %s",
                  t->target, ip);
}

/* ---------------------------------------------------------------------- resolution ---- */

/* Both lookups are back: pick an address or fail. */
static void tls_alpn_resolved(struct tls_alpn *t)
{
    const struct addr_pick_family *f6 = &t->fam6, *f4 = &t->fam4;

    if (f6->ip[0] != '\0') {
        tls_alpn_connect_addr(t, f6->ip);
    } else if (f4->ip[0] != '\0') {
        tls_alpn_connect_addr(t, f4->ip);
    } else if (f6->status == DNS_LOOKUP_NXDOMAIN || f4->status == DNS_LOOKUP_NXDOMAIN) {
        tls_alpn_fail(t, true, TLS_ALPN_ERR_LOOKUP,
                      "There was an error looking up the DCV record. Error type: NXDOMAIN, "
                      "Error message: %s does not exist",
                      t->target);
    } else if (f6->status == DNS_LOOKUP_ERROR || f4->status == DNS_LOOKUP_ERROR) {
        const struct addr_pick_family *fe = f4->status == DNS_LOOKUP_ERROR ? f4 : f6;
        tls_alpn_fail(t, false, TLS_ALPN_ERR_LOOKUP,
                      "There was an error looking up the DCV record. Error type: %s, Error "
                      "message: AAAA %s%s%s, A %s%s%s (resolving %s)",
                      fe->error[0] != '\0' ? fe->error : "ERROR",
                      addr_pick_status_name(f6->status), f6->error[0] != '\0' ? " " : "",
                      f6->error, addr_pick_status_name(f4->status),
                      f4->error[0] != '\0' ? " " : "", f4->error, t->target);
    } else if (f6->special[0] != '\0' || f4->special[0] != '\0') {
        const struct addr_pick_family *f = f6->special[0] != '\0' ? f6 : f4;
        tls_alpn_fail(t, false, TLS_ALPN_ERR_LOOKUP,
                      "No valid IP addresses found for %s: only special-purpose addresses such "
                      "as %s (%s)",
                      t->target, f->special, f->special_why);
    } else {
        tls_alpn_fail(t, true, TLS_ALPN_ERR_LOOKUP,
                      "There was an error looking up the DCV record. Error type: NoAnswer, "
                      "Error message: no A or AAAA records for %s",
                      t->target);
    }
}

/* called by dns_lookup when the AAAA lookup ends */
static void tls_alpn_dns6_cb(void *arg, const struct dns_lookup_result *res)
{
    struct tls_alpn *t = arg;

    t->outstanding--;
    if (t->state == TLS_ALPN_DONE) {
        tls_alpn_maybe_free(t);
        return;
    }
    addr_pick_take(&t->fam6, AF_INET6, res, t->env->allow_private_targets);
    if (--t->dns_pending == 0) tls_alpn_resolved(t);
}

/* called by dns_lookup when the A lookup ends */
static void tls_alpn_dns4_cb(void *arg, const struct dns_lookup_result *res)
{
    struct tls_alpn *t = arg;

    t->outstanding--;
    if (t->state == TLS_ALPN_DONE) {
        tls_alpn_maybe_free(t);
        return;
    }
    addr_pick_take(&t->fam4, AF_INET, res, t->env->allow_private_targets);
    if (--t->dns_pending == 0) tls_alpn_resolved(t);
}

/* ------------------------------------------------------------------------ the start ---- */

/* The process's client context, created by the first check (a worker is one perspective). */
static SSL_CTX *tls_alpn_shared_ctx;

/*
 * A reference to the client context: TLS >= 1.2, no verification, capped chain, no
 * resumption (no session cache, no tickets), so that checks share configuration only. Building
 * an SSL_CTX per check cost ~13 KB and ~150 us of CPU per check.
 */
static SSL_CTX *tls_alpn_ctx_ref(void)
{
    SSL_CTX *ctx = tls_alpn_shared_ctx;

    if (ctx == NULL) {
        ctx = tlsclient_ctx_new(TLS_ALPN_MAX_CERT_LIST);
        if (ctx == NULL) return NULL;
        tls_alpn_shared_ctx = ctx;
    }
    return SSL_CTX_up_ref(ctx) == 1 ? ctx : NULL;
}

void tls_alpn_check_shutdown(void)
{
    if (tls_alpn_shared_ctx != NULL) SSL_CTX_free(tls_alpn_shared_ctx);
    tls_alpn_shared_ctx = NULL;
}

/* Reads the job: target kind, SNI name, expected digest. Returns 0 or -1 with err. */
static int tls_alpn_setup(struct tls_alpn *t, const struct check_request *req, char *err,
                          size_t errlen)
{
    const json_t *hash = json_object_get(req->params, "key_authorization_hash");

    if (req->target == NULL || !util_strlcpy(t->target, req->target, sizeof(t->target))) {
        snprintf(err, errlen, "missing or overlong target");
        return -1;
    }
    if (req->wildcard) {
        snprintf(err, errlen, "a wildcard name cannot be validated with tls-alpn-01");
        return -1;
    }
    if (!json_is_string(hash) ||
        acme_cert_parse_hash(json_string_value(hash), t->expect.hash) != 0) {
        snprintf(err, errlen, "key_authorization_hash must be %d hex digits",
                 2 * ACME_CERT_HASH_LEN);
        return -1;
    }
    if (inet_pton(AF_INET6, t->target, t->expect.ip) == 1) {
        t->expect.af = AF_INET6;
    } else if (inet_pton(AF_INET, t->target, t->expect.ip) == 1) {
        t->expect.af = AF_INET;
    } else {
        t->expect.af = 0;
        t->expect.name = t->target;
        util_strlcpy(t->sni, t->target, sizeof(t->sni));
        return 0;
    }
    if (tls_alpn_reverse_name(t->target, t->sni, sizeof(t->sni)) != 0) {
        snprintf(err, errlen, "cannot build the reverse-DNS name of the target");
        return -1;
    }
    return 0;
}

void tls_alpn_check_start(const struct check_env *env, const struct check_request *req,
                          check_done_cb cb, void *arg)
{
    struct tls_alpn *t = util_xcalloc(1, sizeof(*t));
    char err[256];
    int64_t budget;

    t->env = env;
    t->cb = cb;
    t->arg = arg;
    t->fd = -1;
    t->state = TLS_ALPN_RESOLVING;
    t->in_start = true;
    t->outstanding++; /* holds t across the synchronous part of the start */

    if (tls_alpn_setup(t, req, err, sizeof(err)) != 0) {
        tls_alpn_fail(t, false, TLS_ALPN_ERR_PARAM, "Invalid " TLS_ALPN_METHOD
                      " parameters for %s: %s", req->target != NULL ? req->target : "?", err);
        goto out;
    }
    budget = req->deadline_ms - clock_now_ms();
    if (budget <= 0) {
        tls_alpn_fail(t, false, TLS_ALPN_ERR_CONNECT,
                      "TLS-ALPN-01 for %s: the check deadline passed before it started",
                      t->target);
        goto out;
    }
    t->ctx = tls_alpn_ctx_ref();
    if (t->ctx == NULL) {
        tls_alpn_fail(t, false, TLS_ALPN_ERR_HANDSHAKE,
                      "TLS-ALPN-01 for %s: cannot create the TLS client context", t->target);
        goto out;
    }
    t->end_mono = clock_mono_ms() + budget;
    check_deadline_arm(&t->deadline, env->base, req->deadline_ms, tls_alpn_deadline_cb, t);
    if (t->expect.af != 0) {
        const char *why = t->expect.af == AF_INET6 ? ipfilter_classify6(t->expect.ip)
                                                   : ipfilter_classify4(t->expect.ip);
        if (why != NULL && !env->allow_private_targets) {
            tls_alpn_fail(t, false, TLS_ALPN_ERR_CONNECT,
                          "TLS-ALPN-01 for %s: refusing to connect to special-purpose address "
                          "%s (%s)",
                          t->target, t->target, why);
            goto out;
        }
        tls_alpn_connect_addr(t, t->target);
        goto out;
    }
    t->dns_pending = 2;
    t->outstanding += 2;
    dns_lookup(env->base, env->resolver, t->target, 28, tls_alpn_dns6_cb, t);
    dns_lookup(env->base, env->resolver, t->target, 1, tls_alpn_dns4_cb, t);
out:
    t->outstanding--;
    t->in_start = false;
    tls_alpn_maybe_free(t);
}
