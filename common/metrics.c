/*
 * Metrics registry and Prometheus text rendering (see metrics.h). Families keep their series
 * in a small array searched linearly (a family has at most METRICS_MAX_SERIES, in practice a
 * few dozen); histograms keep per-bucket counts and render them cumulatively.
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct metrics_series {
    char values[METRICS_MAX_LABELS][METRICS_LABEL_VALUE_MAX];
    double value;                              /* counter/gauge; histogram: sum */
    uint64_t count;                            /* histogram: observations */
    uint64_t buckets[METRICS_MAX_BUCKETS + 1]; /* histogram: per bucket, last = +Inf only */
};

struct metrics_family {
    struct metrics_registry *reg;
    enum metrics_type type;
    char *name;
    char *help;
    char *labels[METRICS_MAX_LABELS];
    int nlabels;
    double bounds[METRICS_MAX_BUCKETS];
    int nbuckets;
    struct metrics_series *series;
    int nseries;
    int alloc;
    struct metrics_family *next;
};

struct metrics_registry {
    struct metrics_family *first, *last;
    uint64_t dropped;
    metrics_collect_cb collect;
    void *collect_arg;
};

struct metrics_buf {
    char *data;
    size_t len, cap;
};

struct metrics_registry *metrics_registry_new(void)
{
    return util_xcalloc(1, sizeof(struct metrics_registry));
}

void metrics_registry_free(struct metrics_registry *r)
{
    if (r == NULL) return;
    while (r->first != NULL) {
        struct metrics_family *f = r->first;
        r->first = f->next;
        free(f->name);
        free(f->help);
        for (int i = 0; i < f->nlabels; i++) free(f->labels[i]);
        free(f->series);
        free(f);
    }
    free(r);
}

void metrics_registry_set_collect(struct metrics_registry *r, metrics_collect_cb cb, void *arg)
{
    r->collect = cb;
    r->collect_arg = arg;
}

static bool metrics_name_valid(const char *s, bool colon)
{
    if (s == NULL || *s == '\0') return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                     (colon && *p == ':');
        if (!alpha && !(p > s && *p >= '0' && *p <= '9')) return false;
    }
    return true;
}

struct metrics_family *metrics_family_new(struct metrics_registry *r, enum metrics_type type,
                                          const char *name, const char *help,
                                          const char *const *labels, const double *buckets,
                                          int nbuckets)
{
    struct metrics_family *f;
    int nlabels = 0;

    if (!metrics_name_valid(name, true)) goto bad;
    for (struct metrics_family *o = r->first; o != NULL; o = o->next)
        if (strcmp(o->name, name) == 0) goto bad;
    for (; labels != NULL && labels[nlabels] != NULL; nlabels++) {
        if (nlabels == METRICS_MAX_LABELS || !metrics_name_valid(labels[nlabels], false) ||
            strncmp(labels[nlabels], "__", 2) == 0 ||
            (type == METRICS_HISTOGRAM && strcmp(labels[nlabels], "le") == 0))
            goto bad;
    }
    if (type == METRICS_HISTOGRAM) {
        if (buckets == NULL || nbuckets < 1 || nbuckets > METRICS_MAX_BUCKETS) goto bad;
        for (int i = 0; i < nbuckets; i++)
            if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) goto bad;
    } else if (nbuckets != 0) {
        goto bad;
    }
    f = util_xcalloc(1, sizeof(*f));
    f->reg = r;
    f->type = type;
    f->name = util_xstrdup(name);
    f->help = util_xstrdup(help ? help : "");
    f->nlabels = nlabels;
    for (int i = 0; i < nlabels; i++) f->labels[i] = util_xstrdup(labels[i]);
    f->nbuckets = type == METRICS_HISTOGRAM ? nbuckets : 0;
    for (int i = 0; i < f->nbuckets; i++) f->bounds[i] = buckets[i];
    if (r->last) r->last->next = f;
    else r->first = f;
    r->last = f;
    return f;
bad:
    log_error("metrics: invalid or duplicate metric definition %s", name ? name : "(null)");
    return NULL;
}

/* The series for these label values, created when absent; NULL when the family is full. */
static struct metrics_series *metrics_series_get(struct metrics_family *f,
                                                 const char *const *values)
{
    char v[METRICS_MAX_LABELS][METRICS_LABEL_VALUE_MAX];
    struct metrics_series *s;

    memset(v, 0, sizeof(v));
    for (int i = 0; i < f->nlabels; i++)
        util_strlcpy(v[i], values != NULL && values[i] != NULL ? values[i] : "", sizeof(v[i]));
    for (int i = 0; i < f->nseries; i++)
        if (memcmp(f->series[i].values, v, sizeof(v)) == 0) return &f->series[i];
    if (f->nseries == METRICS_MAX_SERIES) {
        f->reg->dropped++;
        return NULL;
    }
    if (f->nseries == f->alloc) {
        int n = f->alloc ? f->alloc * 2 : 8;
        struct metrics_series *ns = realloc(f->series, (size_t)n * sizeof(*ns));
        if (ns == NULL) abort();
        f->series = ns;
        f->alloc = n;
    }
    s = &f->series[f->nseries++];
    memset(s, 0, sizeof(*s));
    memcpy(s->values, v, sizeof(v));
    return s;
}

void metrics_add(struct metrics_family *f, const char *const *values, double v)
{
    struct metrics_series *s;
    if (f == NULL || f->type == METRICS_HISTOGRAM) return;
    if (f->type == METRICS_COUNTER && !(v >= 0)) return;
    s = metrics_series_get(f, values);
    if (s) s->value += v;
}

void metrics_add_since(struct metrics_family *f, const char *const *values, unsigned long total,
                       unsigned long *seen)
{
    metrics_add(f, values, (double)(total - *seen));
    *seen = total;
}

void metrics_set(struct metrics_family *f, const char *const *values, double v)
{
    struct metrics_series *s;
    if (f == NULL || f->type != METRICS_GAUGE) return;
    s = metrics_series_get(f, values);
    if (s) s->value = v;
}

void metrics_observe(struct metrics_family *f, const char *const *values, double v)
{
    struct metrics_series *s;
    int i;
    if (f == NULL || f->type != METRICS_HISTOGRAM || isnan(v)) return;
    s = metrics_series_get(f, values);
    if (s == NULL) return;
    for (i = 0; i < f->nbuckets && v > f->bounds[i]; i++) {
    }
    s->buckets[i]++;
    s->count++;
    s->value += v;
}

void metrics_touch(struct metrics_family *f, const char *const *values)
{
    if (f != NULL) (void)metrics_series_get(f, values);
}

double metrics_value(struct metrics_family *f, const char *const *values)
{
    struct metrics_series *s;
    if (f == NULL) return 0;
    s = metrics_series_get(f, values);
    if (s == NULL) return 0;
    return f->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
}

uint64_t metrics_dropped(const struct metrics_registry *r)
{
    return r->dropped;
}

/* ---- rendering ---- */

static void metrics_buf_append(struct metrics_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *nd = realloc(b->data, cap);
        if (nd == NULL) abort();
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    metrics_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static void metrics_buf_escaped(struct metrics_buf *b, const char *s, bool quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\') metrics_buf_append(b, "\\\\", 2);
        else if (*p == '\n') metrics_buf_append(b, "\\n", 2);
        else if (*p == '"' && quote) metrics_buf_append(b, "\\\"", 2);
        else metrics_buf_append(b, p, 1);
    }
}

static void metrics_buf_number(struct metrics_buf *b, double v)
{
    if (isnan(v)) metrics_buf_append(b, "NaN", 3);
    else if (isinf(v)) metrics_buf_append(b, v > 0 ? "+Inf" : "-Inf", 4);
    else if (v == floor(v) && fabs(v) < 1e15) metrics_buf_printf(b, "%.0f", v);
    else metrics_buf_printf(b, "%.15g", v);
}

/* name{l1="v1",...[,le="x"]} — suffix is appended to the family name */
static void metrics_buf_sample_name(struct metrics_buf *b, const struct metrics_family *f,
                                    const struct metrics_series *s, const char *suffix,
                                    const char *le)
{
    int n = 0;
    metrics_buf_append(b, f->name, strlen(f->name));
    metrics_buf_append(b, suffix, strlen(suffix));
    for (int i = 0; i < f->nlabels + (le != NULL); i++) {
        const char *name = i < f->nlabels ? f->labels[i] : "le";
        const char *value = i < f->nlabels ? s->values[i] : le;
        metrics_buf_append(b, n++ ? "," : "{", 1);
        metrics_buf_append(b, name, strlen(name));
        metrics_buf_append(b, "=\"", 2);
        metrics_buf_escaped(b, value, true);
        metrics_buf_append(b, "\"", 1);
    }
    if (n) metrics_buf_append(b, "}", 1);
    metrics_buf_append(b, " ", 1);
}

static void metrics_render_family(struct metrics_buf *b, const struct metrics_family *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    metrics_buf_printf(b, "# HELP %s ", f->name);
    metrics_buf_escaped(b, f->help, false);
    metrics_buf_printf(b, "\n# TYPE %s %s\n", f->name, types[f->type]);
    for (int i = 0; i < f->nseries; i++) {
        const struct metrics_series *s = &f->series[i];
        if (f->type != METRICS_HISTOGRAM) {
            metrics_buf_sample_name(b, f, s, "", NULL);
            metrics_buf_number(b, s->value);
            metrics_buf_append(b, "\n", 1);
            continue;
        }
        uint64_t cum = 0;
        for (int k = 0; k <= f->nbuckets; k++) {
            char le[40];
            cum += s->buckets[k];
            if (k < f->nbuckets) snprintf(le, sizeof(le), "%.15g", f->bounds[k]);
            else util_strlcpy(le, "+Inf", sizeof(le));
            metrics_buf_sample_name(b, f, s, "_bucket", le);
            metrics_buf_printf(b, "%llu\n", (unsigned long long)cum);
        }
        metrics_buf_sample_name(b, f, s, "_sum", NULL);
        metrics_buf_number(b, s->value);
        metrics_buf_append(b, "\n", 1);
        metrics_buf_sample_name(b, f, s, "_count", NULL);
        metrics_buf_printf(b, "%llu\n", (unsigned long long)s->count);
    }
}

char *metrics_render(struct metrics_registry *r, size_t *len)
{
    struct metrics_buf b = {NULL, 0, 0};
    if (r->collect) r->collect(r->collect_arg);
    metrics_buf_append(&b, "", 0);
    for (const struct metrics_family *f = r->first; f != NULL; f = f->next)
        metrics_render_family(&b, f);
    metrics_buf_printf(&b,
                       "# HELP mpic_metrics_series_dropped_total Metric updates refused because "
                       "a family reached its series cap.\n"
                       "# TYPE mpic_metrics_series_dropped_total counter\n"
                       "mpic_metrics_series_dropped_total %llu\n",
                       (unsigned long long)r->dropped);
    if (len) *len = b.len;
    return b.data;
}

void metrics_http_reply(struct metrics_registry *r, struct evhttp_request *req)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *buf;
    size_t len = 0;
    char *text;

    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(out, "Allow", "GET, HEAD");
        evhttp_send_error(req, 405, "Method Not Allowed");
        return;
    }
    text = metrics_render(r, &len);
    buf = evbuffer_new();
    evbuffer_add(buf, text, len);
    free(text);
    evhttp_add_header(out, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
}
